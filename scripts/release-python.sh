# shellcheck shell=bash
# Sourced by the release benchmarks of the Python binding (bench-agents.sh, bench-bindings.sh,
# bench-peer.sh): builds `cargo build --release $RELEASE_PACKAGES` (default: the Python binding)
# and stages the `batara` package with its release extension module in "$tmp/py" (put it on
# PYTHONPATH); $tmp is removed when the script exits.
# shellcheck source=scripts/rocksdb-env.sh
. scripts/rocksdb-env.sh
# shellcheck disable=SC2086 # the packages are words
cargo build --release ${RELEASE_PACKAGES:--p batara-python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/py"
cp -r python/batara "$tmp/py/batara"
cp target/release/lib_native.so "$tmp/py/batara/_native.abi3.so"
