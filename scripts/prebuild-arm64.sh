#!/usr/bin/env bash
# Cross-compiles the linux-arm64 prebuild (Jetson, Raspberry Pi) on an x86-64 Debian host:
#   apt-get install g++-aarch64-linux-gnu   then   npm run prebuild:arm64
# node-gyp shares build/ with the host build, so the host addon is rebuilt afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
  npx prebuildify --napi --target=20.0.0 --arch arm64 --out "$out"
mkdir -p prebuilds/linux-arm64
aarch64-linux-gnu-strip -o prebuilds/linux-arm64/ssd-edge.node "$out/prebuilds/linux-arm64/ssd-edge.node"
rm -rf "$out"
npx node-gyp rebuild >/dev/null
file prebuilds/linux-arm64/ssd-edge.node
