# shellcheck shell=bash
# Sourced by the release benchmarks of the bindings (bench-agents.sh, bench-bindings.sh,
# bench-peer.sh): builds `cargo build --release $RELEASE_PACKAGES` (default: the Python binding)
# and stages the `batara` package with its release extension module in "$tmp/py" (put it on
# PYTHONPATH) and, when the packages include batara-node, `@batara/node` with its release addon
# in "$tmp/node_modules" (a script copied into "$tmp" imports it); $tmp is removed when the
# script exits.
# shellcheck source=scripts/rocksdb-env.sh
. scripts/rocksdb-env.sh
# shellcheck disable=SC2086 # the packages are words
cargo build --release ${RELEASE_PACKAGES:--p batara-python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/py"
cp -r python/batara "$tmp/py/batara"
cp target/release/lib_native.so "$tmp/py/batara/_native.abi3.so"
case "${RELEASE_PACKAGES:-}" in
  *batara-node*)
    mkdir -p "$tmp/node_modules/@batara/node"
    cp node-js/index.js node-js/index.mjs node-js/addon.js node-js/package.json "$tmp/node_modules/@batara/node/"
    cp target/release/libbatara_node.so "$tmp/node_modules/@batara/node/batara.node"
    ;;
esac
