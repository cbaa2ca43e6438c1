#!/usr/bin/env bash
# Loads prebuilds/linux-arm64 in a real arm64 Node (Debian's nodejs:arm64, unpacked, run under qemu-user) and checks
# it against the torchvision reference fixtures with the scalar and NEON kernels (scripts/arm64-smoke.cjs).
# Needs qemu-user-static and the arm64 cross libc (libc6-dev-arm64-cross); enables the arm64 architecture in dpkg
# to download (not install) the arm64 packages. If the packages cannot be downloaded the check is skipped (exit 0);
# if the addon fails to load or gives wrong results it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
sysroot=/usr/aarch64-linux-gnu
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then $SUDO dpkg --add-architecture arm64; fi
if ! ($SUDO apt-get update -q >/dev/null && cd "$root" && apt-get download -q nodejs:arm64 libnode108:arm64 libuv1:arm64 \
      libicu72:arm64 libssl3:arm64 libbrotli1:arm64 libc-ares2:arm64 libnghttp2-14:arm64 zlib1g:arm64 \
      node-acorn node-cjs-module-lexer node-undici >/dev/null 2>&1); then
  echo "arm64 prebuild check: skipped (could not download Debian's nodejs:arm64)"
  exit 0
fi
for f in "$root"/*.deb; do dpkg-deb -x "$f" "$root/fs"; done
# Debian's node reads its externalized builtins from /usr/share/nodejs: qemu -L looks there inside the sysroot.
$SUDO mkdir -p "$sysroot/usr/share" && $SUDO cp -r "$root/fs/usr/share/nodejs" "$sysroot/usr/share/"
LD_LIBRARY_PATH="$root/fs/usr/lib/aarch64-linux-gnu:$root/fs/lib/aarch64-linux-gnu" \
  qemu-aarch64-static -L "$sysroot" "$root/fs/usr/bin/node" scripts/arm64-smoke.cjs
