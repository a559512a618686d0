#!/usr/bin/env bash
# Regenerates cli/symbol-order.txt: the functions a node agent runs, then those a master runs,
# which the release link of `bosun` places side by side (cli/build.rs), so that each maps a few
# MiB of code rather than pages all over the binary's 24 MiB of text (docs/architecture.md,
# "Code layout").
#
#   scripts/symbol-order.sh     # build, profile an agent and a master, write cli/symbol-order.txt
#
# Symbol names carry each crate's hash, which changes with the toolchain, Cargo.lock and the
# release profile: rerun this after changing any of them (cli/build.rs warns when the list was
# made for another toolchain or Cargo.lock). ThinLTO's promoted functions also carry a hash of
# their module (`.llvm.<n>`), which changes with the code: rerun it after code changes too
# (a session of changes left ~7% of the agent's functions unmatched, +6 MB for an idle agent).
# The list matches `cargo build --release` (bosun-cli alone): built with other packages, shared
# dependencies get other features and other names. Needs valgrind, docker and busybox-static.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
for tool in valgrind docker nm python3; do
  command -v "$tool" >/dev/null || { echo "symbol-order: needs $tool" >&2; exit 1; }
done

# The same crates, features and profile as `cargo build --release` (so the same symbol names);
# RUSTFLAGS only keeps the symbol table (rustflags do not enter the crate hashes) and moves the
# build to its own directory.
target="$root/target/symbol-order"
CARGO_INCREMENTAL=0 RUSTFLAGS="-C strip=none" \
  cargo build --release --target-dir "$target"
bin="$target/release/bosun"

image=bosun-symbol-order/busybox:latest
scripts/busybox-image.sh "$image" >/dev/null
work="$(mktemp -d)"
master_pid="" agent_pid="" hollow_pid="" followers=()
stop() {
  [ "${#followers[@]}" -gt 0 ] && kill "${followers[@]}" 2>/dev/null || true
  [ -n "$hollow_pid" ] && kill "$hollow_pid" 2>/dev/null || true
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null || true
  [ -n "$master_pid" ] && kill "$master_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  master_pid="" agent_pid="" hollow_pid="" followers=()
  docker ps -aq --filter label=bosun.node=symbol-order | xargs -r docker rm -f >/dev/null
}
trap 'stop; rm -rf "$work"' EXIT

wait_for() { # wait_for WHAT SECONDS COMMAND...
  local what="$1" deadline=$((SECONDS + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "symbol-order: timed out waiting for $what" >&2; exit 1; }
    sleep 0.5
  done
}

cat >"$work/deployment.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: symbol-order}
spec:
  replicas: 2
  selector: {matchLabels: {app: symbol-order}}
  template:
    metadata: {labels: {app: symbol-order}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: sleep
        image: $image
        command: [/bin/busybox, sleep, '3600']
YAML

# profile ROLE: a master and an agent with ROLE under callgrind (agent, master, or follower: a
# second master joined to the first, and a third), through a join, a Deployment's pods
# started, listed, logged, scaled and deleted, and idle time; for the masters then 300 pods on
# 20 hollow nodes. The functions ROLE ran, in first-run order, go to $work/ROLE.out.
profile() {
  local role="$1" dir="$work/$1"
  mkdir -p "$dir"
  local grind=(valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" --demangle=no
    --dump-instr=no --compress-strings=no)
  client=("$bin" --config "$dir/config.yaml")
  launch master "$bin" master --listen 127.0.0.1:0 --data-dir "$dir/master" \
    --name symbol-order-master --config "$dir/config.yaml" >"$dir/master.log" 2>&1 &
  master_pid=$!
  wait_for "the master" 300 test -s "$dir/master/node-token"
  wait_for "the client config" 300 test -s "$dir/config.yaml"
  local addr
  addr="$(awk '/server:/ {print $2; exit}' "$dir/config.yaml")"
  if [ "$role" = follower ]; then
    local n
    for n in 2 3; do
      launch "$([ "$n" = 2 ] && echo follower)" "$bin" master --listen 127.0.0.1:0 \
        --data-dir "$dir/master$n" --name "symbol-order-master$n" --config "$dir/config$n.yaml" \
        --join "$addr" --token "$(cat "$dir/master/master-token")" >"$dir/master$n.log" 2>&1 &
      followers+=($!)
      wait_for "master $n" 300 test -s "$dir/config$n.yaml"
    done
  fi
  launch agent "$bin" agent --master "$addr" --token "$(cat "$dir/master/node-token")" \
    --name symbol-order --data-dir "$dir/agent" --config "$dir/config.yaml" >"$dir/agent.log" 2>&1 &
  agent_pid=$!
  wait_for "the agent to join" 300 node_ready
  "${client[@]}" apply -f "$work/deployment.yaml" >/dev/null
  wait_for "the pods to run" 300 running 2
  local pod
  pod="$("${client[@]}" get pods -l app=symbol-order -o name | head -1 | sed "s|.*/||")"
  "${client[@]}" logs "$pod" >/dev/null
  "${client[@]}" describe pod "$pod" >/dev/null
  "${client[@]}" scale deployment symbol-order --replicas 1 >/dev/null
  wait_for "the pods to scale down" 300 running 1
  sleep 30 # idle beside a running pod: heartbeats, status reports, container checks
  "${client[@]}" delete deployment symbol-order >/dev/null
  wait_for "the pods to go" 300 running 0
  sleep 30 # idle with nothing to run
  if [ "$role" != agent ]; then
    # A master's work at scale: 20 hollow nodes and a Deployment of 300 pods on them.
    "$bin" hollow --nodes 20 --master "$addr" --token "$(cat "$dir/master/node-token")" \
      --data-dir "$dir/hollow" --config "$dir/config.yaml" >"$dir/hollow.log" 2>&1 &
    hollow_pid=$!
    sed -e 's/symbol-order/symbol-order-hollow/g' -e 's/replicas: 2/replicas: 300/' \
      -e 's/^    spec:$/    spec:\n      nodeSelector: {bosun.dev\/hollow: "true"}/' \
      "$work/deployment.yaml" >"$work/hollow.yaml"
    "${client[@]}" apply -f "$work/hollow.yaml" >/dev/null
    wait_for "300 pods on the hollow nodes" 600 running 300 symbol-order-hollow
    "${client[@]}" get pods -o wide >/dev/null
    "${client[@]}" delete deployment symbol-order-hollow >/dev/null
    wait_for "the hollow nodes' pods to go" 600 running 0 symbol-order-hollow
  fi
  local pid="$master_pid"
  [ "$role" = agent ] && pid="$agent_pid"
  [ "$role" = follower ] && pid="${followers[0]}"
  kill -TERM "$pid"
  wait "$pid" || true
  stop
  # Names callgrind saw that are functions of the binary (not libc's).
  sed -n 's/^fn=//p' "$dir/callgrind.out" | awk '!seen[$0]++' | grep -Fxf "$work/defined" \
    >"$work/$role.out"
}
# launch WHO COMMAND...: runs COMMAND in place of the shell, under callgrind when WHO is the
# role being profiled (so that $! of `launch ... &` is the process to stop).
launch() {
  local who="$1"
  shift
  if [ "$who" = "$role" ]; then exec "${grind[@]}" "$@"; else exec "$@"; fi
}
node_ready() { "${client[@]}" get nodes symbol-order | grep -q ' Ready'; }
running() { # running COUNT [APP]
  [ "$("${client[@]}" get pods -l "app=${2:-symbol-order}" | grep -c Running)" = "$1" ]
}

nm --defined-only "$bin" | awk '$2 ~ /^[tTwW]$/ {print $3}' | sort -u >"$work/defined"
profile agent
profile master
profile follower

# FNV-1a (64-bit) of a file, as cli/build.rs computes it.
fnv1a() {
  python3 -c 'import sys
h = 0xcbf29ce484222325
for b in open(sys.argv[1], "rb").read():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print(f"{h:016x}")' "$1"
}

out="cli/symbol-order.txt"
{
  echo "# Functions a node agent runs, then those a master runs, leading or following, in this order"
  echo "# in the release link (cli/build.rs). Generated by scripts/symbol-order.sh; do not edit."
  echo "# The fingerprint says what it was made for:"
  echo "# rustc $(rustc -vV | awk '/^commit-hash:/ {print $2}')"
  echo "# Cargo.lock $(fnv1a Cargo.lock)"
  cat "$work/agent.out" "$work/master.out" "$work/follower.out" | awk '!seen[$0]++'
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out: $(wc -l <"$work/agent.out") functions of the agent, $(grep -vc '^#' "$out") in all"
