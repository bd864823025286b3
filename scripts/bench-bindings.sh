#!/usr/bin/env bash
# Release-build benchmarks of the Python and Node.js bindings (benches/bindings.{py,mjs}):
# batch-submitted transfers committed, per-call overhead of account(), Node.dev() to first block.
#   scripts/bench-bindings.sh [TXS]
set -euo pipefail
cd "$(dirname "$0")/.."
RELEASE_PACKAGES="-p batara-python -p batara-node"
# shellcheck source=scripts/release-python.sh
. scripts/release-python.sh
cp benches/bindings.mjs "$tmp/"
# The .venv of scripts/setup.sh has pandas for the analysis part.
py=python3
[ -x .venv/bin/python ] && py=.venv/bin/python
PYTHONPATH="$tmp/py" "$py" benches/bindings.py "${1:-100000}"
node "$tmp/bindings.mjs" "${1:-100000}"
