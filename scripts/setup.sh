#!/usr/bin/env bash
# Installs what a build of Batara needs and this machine lacks, then returns. Idempotent.
#   - libclang (bindgen in librocksdb-sys) and protoc (gRPC code generation), from Debian packages
#   - a Rust toolchain with rustfmt and clippy is expected (rustup); it is checked, not fetched
set -euo pipefail

need_pkgs=()
dpkg -s libclang-dev >/dev/null 2>&1 || need_pkgs+=(libclang-dev)
command -v protoc >/dev/null 2>&1 || need_pkgs+=(protobuf-compiler)
command -v cc >/dev/null 2>&1 || need_pkgs+=(build-essential)
command -v c++ >/dev/null 2>&1 || need_pkgs+=(g++)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "setup: installing ${need_pkgs[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found. Install Rust (https://rustup.rs) and run this again." >&2
  exit 1
fi
if command -v rustup >/dev/null 2>&1; then
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c" >/dev/null 2>&1 || true
  done
fi
