#!/usr/bin/env bash
# Release-build benchmarks of the Python and Node.js bindings (benches/bindings.{py,mjs}):
# batch-submitted transfers committed, per-call overhead of account(), Node.dev() to first block.
#   scripts/bench-bindings.sh [TXS]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/rocksdb-env.sh
. scripts/rocksdb-env.sh
cargo build --release -p batara-python -p batara-node
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/py/batara" "$tmp/node_modules/@batara/node"
cp python/batara/*.py python/batara/*.pyi "$tmp/py/batara/"
cp target/release/lib_native.so "$tmp/py/batara/_native.abi3.so"
cp node-js/index.js node-js/index.mjs node-js/addon.js node-js/package.json "$tmp/node_modules/@batara/node/"
cp target/release/libbatara_node.so "$tmp/node_modules/@batara/node/batara.node"
cp benches/bindings.mjs "$tmp/"
# The .venv of scripts/setup.sh has pandas for the analysis part.
py=python3
[ -x .venv/bin/python ] && py=.venv/bin/python
PYTHONPATH="$tmp/py" "$py" benches/bindings.py "${1:-100000}"
node "$tmp/bindings.mjs" "${1:-100000}"
