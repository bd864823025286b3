#!/usr/bin/env bash
# Regenerates include/batara.h from bindings/c/src/lib.rs. With --check, fails if the committed
# header differs from what cbindgen generates now (CI runs that).
set -euo pipefail
cd "$(dirname "$0")/.."
out=include/batara.h
[ "${1:-}" = "--check" ] && out=$(mktemp)
cbindgen --quiet --config bindings/c/cbindgen.toml --crate batara-c --output "$out"
if [ "${1:-}" = "--check" ]; then
  if ! diff -u include/batara.h "$out"; then
    echo "include/batara.h is stale: run scripts/gen-header.sh and commit it" >&2
    exit 1
  fi
fi
