#!/usr/bin/env bash
# The security agent's figures (benches/agents.py) on a release build of the Python binding:
# a 10,000-block history, the anomaly model's training time, its false alerts on 1,000 normal
# blocks, a flood judged, and the agent's RPC calls per block.
#   scripts/bench-agents.sh [BLOCKS]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/release-python.sh
. scripts/release-python.sh
# The .venv of scripts/setup.sh has scikit-learn (the test extra).
py=python3
[ -x .venv/bin/python ] && py=.venv/bin/python
PYTHONPATH="$tmp/py" "$py" benches/agents.py "${1:-10000}"
