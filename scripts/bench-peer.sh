#!/usr/bin/env bash
# The side-by-side peer benchmark (benches/peer_litesvm.py): the same pre-signed transfers and
# balance reads on LiteSVM (solders, installed from PyPI into a throwaway venv) and on Batara
# through its Python binding (a release build), printing both figures and the ratio; then the
# same reads from Node.js (benches/peer_reads.mjs, the release addon) beside LiteSVM's.
#   scripts/bench-peer.sh [TXS]      (default 20,000 transfers)
set -euo pipefail
cd "$(dirname "$0")/.."
RELEASE_PACKAGES="-p batara-python -p batara-node"
# shellcheck source=scripts/release-python.sh
. scripts/release-python.sh
echo "installing solders (LiteSVM for Python) into a throwaway venv..." >&2
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check "solders==${SOLDERS_VERSION:-0.29.0}"
cp benches/peer_reads.mjs "$tmp/"
PYTHONPATH="$tmp/py" PEER_READS_JS="$tmp/peer_reads.mjs" "$tmp/venv/bin/python" benches/peer_litesvm.py "${1:-20000}"
