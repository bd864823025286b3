#!/usr/bin/env bash
# Puts the extension module built by `cargo build --workspace` into python/batara/ (as
# _native.abi3.so), so `PYTHONPATH=python python -c "import batara"` uses this checkout without
# a second build. `pip install ./python` is the way for users (it builds with maturin).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
[ -f "$target/debug/lib_native.so" ] || cargo build --workspace
cp "$target/debug/lib_native.so" python/batara/_native.abi3.so
