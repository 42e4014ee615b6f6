#!/usr/bin/env bash
# Unpacks rclnodejs's published package (types included) into .cache/rclnodejs without installing it:
# its install script needs a sourced ROS 2. The RosGraph contract test compiles against these types.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p "require('./package.json').optionalDependencies.rclnodejs")
if [ -f .cache/rclnodejs/package.json ] && [ "$(node -p "require('./.cache/rclnodejs/package.json').version")" = "$version" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm pack --silent --pack-destination "$tmp" "rclnodejs@$version" >/dev/null
mkdir -p "$tmp/unpacked" .cache
tar -xzf "$tmp"/rclnodejs-*.tgz -C "$tmp/unpacked"
rm -rf .cache/rclnodejs
mv "$tmp/unpacked/package" .cache/rclnodejs
echo "rclnodejs $version declarations in .cache/rclnodejs/types"
