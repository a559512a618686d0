#!/usr/bin/env bash
# Builds a tiny local image from the static busybox binary, for trying Bosun on a machine
# that cannot pull from a registry:  scripts/busybox-image.sh [NAME]  (default bosun-examples/busybox:latest)
set -euo pipefail
name="${1:-bosun-examples/busybox:latest}"
if [ ! -x /bin/busybox ]; then
  echo "needs the static busybox binary: apt-get install busybox-static" >&2
  exit 1
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/www"
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
echo "hello from bosun" > "$root/www/index.html"
tar -C "$root" -c . | docker import - "$name" >/dev/null
echo "built image $name"
