#!/usr/bin/env bash
# Release-build benchmarks: `scripts/bench.sh [transfers|network|contracts|delegation] [options]`, e.g.
#   scripts/bench.sh --txs 200000 --senders 2000          (one node: `batara bench transfers`)
#   scripts/bench.sh network --validators 4 --txs 100000  (a BFT network: `batara bench network`)
#   scripts/bench.sh contracts --txs 100000               (token transfers: `batara bench contracts`)
#   scripts/bench.sh delegation --delegators 10,10000     (block cost by delegators: `batara bench delegation`)
#   scripts/bench.sh tally --voters 10,10000              (the block ending a vote: `batara bench tally`)
# Reuses the RocksDB library of an earlier debug build (scripts/rocksdb-env.sh) when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/rocksdb-env.sh
. scripts/rocksdb-env.sh
cargo build --release --bin batara
kind=transfers
case "${1:-}" in transfers | network | contracts | delegation | tally) kind=$1; shift ;; esac
exec ./target/release/batara --log-level warn bench "$kind" "$@"
