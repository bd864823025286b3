#!/usr/bin/env bash
# Release-build benchmark: `scripts/bench.sh [batara bench transfers options]`, e.g.
#   scripts/bench.sh --txs 200000 --senders 2000
# Reuses the RocksDB library of an earlier debug build (scripts/rocksdb-env.sh) when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/rocksdb-env.sh
. scripts/rocksdb-env.sh
cargo build --release --bin batara
exec ./target/release/batara --log-level warn bench transfers "$@"
