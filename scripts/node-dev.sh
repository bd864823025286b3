#!/usr/bin/env bash
# Puts the addon built by `cargo build --workspace` into node-js/ (as batara.node) and links
# node_modules/@batara/node to node-js/, so the tests and examples use this checkout without a
# second build. `npm install` in node-js/ is the way for users (it builds with cargo).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
[ -f "$target/debug/libbatara_node.so" ] || cargo build --workspace
cp "$target/debug/libbatara_node.so" node-js/batara.node
mkdir -p node_modules/@batara
ln -sfn ../../node-js node_modules/@batara/node
