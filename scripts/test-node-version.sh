#!/usr/bin/env bash
# scripts/test-node-version.sh MAJOR: the unit suite under another Node.js major (the README's "Node.js
# versions" list), with the official binary from the npm registry (package node-linux-<arch>), cached in
# ${NODE_CACHE:-$HOME/.cache/evs-authz-node}. Run after `npm ci && npm test` (it uses the built dist/).
set -euo pipefail
cd "$(dirname "$0")/.."
major=$1
cache=${NODE_CACHE:-$HOME/.cache/evs-authz-node}
arch=$(node -p process.arch)
dir="$cache/$major-$arch"
if [ ! -x "$dir/package/bin/node" ]; then
  mkdir -p "$dir"
  tarball=$(cd "$dir" && npm pack --silent "node-linux-$arch@$major")
  tar xzf "$dir/$tarball" -C "$dir"
  rm -f "$dir/$tarball"
fi
export PATH="$dir/package/bin:$PATH"
echo "=== Node $(node --version): npx tap --disable-coverage"
npx tap --disable-coverage -R terse
