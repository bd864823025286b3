#!/usr/bin/env bash
# Installs what is missing, builds, and runs a Batara dev chain (one validator, funded accounts,
# JSON-RPC on 127.0.0.1:8545). Arguments go to `batara dev`, e.g. `scripts/dev.sh --block-time 1000`.
# The chain lives in ~/.batara/dev (or --home DIR) and resumes when run again; --ephemeral keeps it
# in memory.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --build
cargo build --bin batara
exec ./target/debug/batara dev "$@"
