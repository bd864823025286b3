#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer through cargo fuzz) of every decoder an outsider reaches:
# transaction bytes, gossip batches, blocks, consensus messages, sync requests and responses,
# JSON-RPC parameters (fuzz/fuzz_targets/). Issue 10, part 6. Not part of CI (it needs the
# nightly toolchain and hours); the property tests in batara-core/tests/it/decoders.rs are.
#
#   scripts/fuzz.sh [RUNS] [TARGET ...]     RUNS executions per target (default 10,000,000)
#
# Seeds come from tests/vectors/ (scripts/fuzz_seeds.py). Prints executions, seconds, exec/s and
# crashes per target; a crash's input is kept in fuzz/artifacts/<target>/ (reproduce with
# `cargo +nightly fuzz run <target> <file>`), and becomes a regression test. FUZZ_SANITIZER
# (default none: the targets are safe Rust, and panics are what they look for) can be address.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/rocksdb-env.sh
. scripts/rocksdb-env.sh
runs=${1:-10000000}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(tx gossip_batch block consensus sync rpc_params)
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
python3 scripts/fuzz_seeds.py fuzz/corpus >/dev/null
mkdir -p fuzz/logs
sanitizer=${FUZZ_SANITIZER:-none}
for t in "${targets[@]}"; do
  (cd fuzz && cargo +nightly fuzz build --sanitizer "$sanitizer" "$t")
done
printf '%-14s %14s %9s %12s %8s\n' target executions seconds exec/s crashes
status=0
for t in "${targets[@]}"; do
  log=fuzz/logs/$t.log
  start=$(date +%s.%N)
  set +e
  (cd fuzz && cargo +nightly fuzz run --sanitizer "$sanitizer" "$t" "corpus/$t" -- \
    -runs="$runs" -max_len=65536 -print_final_stats=1) >"$log" 2>&1
  rc=$?
  set -e
  end=$(date +%s.%N)
  done_runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
  secs=$(python3 -c "print(f'{$end - $start:.0f}')")
  rate=$(python3 -c "print(f'{$done_runs / max($end - $start, 1e-9):,.0f}')")
  crashes=$(find "fuzz/artifacts/$t" -type f 2>/dev/null | wc -l)
  printf '%-14s %14s %9s %12s %8s\n' "$t" "$(python3 -c "print(f'{$done_runs:,}')")" "$secs" "$rate" "$crashes"
  if [ "$rc" -ne 0 ]; then
    echo "  $t stopped (exit $rc): see $log" >&2
    status=1
  fi
done
exit $status
