#!/usr/bin/env bash
# Runs every test: unit, store, Docker runtime and end-to-end (real binary, real Docker engine).
# Installs what the tests need when it is missing (busybox-static makes the test image).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /bin/busybox ] || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} (needed to build the test image)"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  echo "error: the Docker engine is not reachable (docker info failed); start it and re-run" >&2
  exit 1
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line over every test binary: "N passed, N failed".
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
