#!/usr/bin/env bash
# Installs what is missing, then runs every check and test: formatting, clippy with warnings as
# errors, and all Rust tests (unit, integration, crash, CLI, cross-language vectors).
# A cold run builds RocksDB's C++ once (~12 minutes on 2 cores); later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
start=$(date +%s)
echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo build (tests)" >&2
cargo build --workspace --all-targets
echo "== cargo clippy -D warnings" >&2
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test" >&2
cargo test --workspace
echo "== all checks passed in $(( $(date +%s) - start )) s" >&2
