#!/usr/bin/env bash
# Installs what a build and the tests of Batara need and this machine lacks, then returns.
# Idempotent; a second run does nothing.
#   - Debian packages: libclang (bindgen in librocksdb-sys), protoc, a C/C++ compiler
#   - cbindgen (the C header generator), via cargo install
#   - a Python virtualenv in .venv with the test extra of python/pyproject.toml (pytest, mypy,
#     pandas, pyarrow, matplotlib, nbclient, ipykernel; from PyPI)
# `scripts/setup.sh --build` stops after the Debian packages and the toolchain check: what a build
# needs (scripts/dev.sh, scripts/package.sh), without the test tools.
# A Rust toolchain (rustup, with rustfmt and clippy) and python3 are expected, not fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
build_only=false
case "${1:-}" in
  "") ;;
  --build) build_only=true ;;
  *) echo "setup: unknown argument $1 (expected --build or nothing)" >&2; exit 2 ;;
esac

need_pkgs=()
dpkg -s libclang-dev >/dev/null 2>&1 || need_pkgs+=(libclang-dev)
command -v protoc >/dev/null 2>&1 || need_pkgs+=(protobuf-compiler)
command -v cc >/dev/null 2>&1 || need_pkgs+=(build-essential)
command -v c++ >/dev/null 2>&1 || need_pkgs+=(g++)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || need_pkgs+=(python3-venv)
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
$build_only && exit 0
if command -v rustup >/dev/null 2>&1; then
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c" >/dev/null 2>&1 || true
  done
fi

if ! command -v cbindgen >/dev/null 2>&1 || [ "$(cbindgen --version)" != "cbindgen 0.29.4" ]; then
  echo "setup: installing cbindgen 0.29.4" >&2
  cargo install --quiet --locked cbindgen --version 0.29.4
fi

# The test extra of python/pyproject.toml is the one list of Python test dependencies.
test_deps() {
  python3 -c 'import tomllib; print("\n".join(tomllib.load(open("python/pyproject.toml", "rb"))["project"]["optional-dependencies"]["test"]))'
}
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import pytest, pytest_timeout, mypy, pandas, pyarrow, matplotlib, nbclient, ipykernel, auditwheel, sklearn, prometheus_client" >/dev/null 2>&1; then
  echo "setup: creating .venv with the test extra of python/pyproject.toml" >&2
  python3 -m venv .venv
  mapfile -t deps < <(test_deps)
  .venv/bin/pip install --quiet --disable-pip-version-check "${deps[@]}"
fi
