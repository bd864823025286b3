#!/usr/bin/env bash
# The security agent's figures (benches/agents.py) on a release build of the Python binding:
# a 10,000-block history, the anomaly model's training time, its false alerts on 1,000 normal
# blocks, a flood judged, and the agent's RPC calls per block.
#   scripts/bench-agents.sh [BLOCKS]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/rocksdb-env.sh
. scripts/rocksdb-env.sh
cargo build --release -p batara-python
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r python/batara "$tmp/batara"
cp target/release/lib_native.so "$tmp/batara/_native.abi3.so"
# The .venv of scripts/setup.sh has scikit-learn (the test extra).
py=python3
[ -x .venv/bin/python ] && py=.venv/bin/python
PYTHONPATH="$tmp" "$py" benches/agents.py "${1:-10000}"
