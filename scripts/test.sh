#!/usr/bin/env bash
# Installs what is missing, then runs every check and test: formatting, the layers (imports point
# down only, batara-primitives stays pure), one feature set (scripts/dev.sh's and per-crate cargo
# commands reuse the workspace's RocksDB build), clippy with warnings as errors, the C header's freshness, all Rust tests (unit, integration, crash, CLI, vectors, the C
# programs), the Python tests (pytest, mypy on the stubs, the example), the Node.js tests
# (node:test, the example), then the bindings' type declarations against their code: mypy's
# stubtest over python/batara/_native.pyi and the built module, and tsc over node-js/index.d.ts
# with a typed sample (`npm run typecheck`; its devDependencies are installed with `npm ci` when
# missing); the README's quick start and embedding blocks, run as written (tests/readme); last, the release packages (scripts/package.sh: wheel, npm tarball, C SDK archive),
# each installed into a clean environment without cargo and run (tests/packages).
# A cold run builds RocksDB's C++ once (~12 minutes on 2 cores); later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
start=$(date +%s)
# Each step's header shows the seconds since the start, so a slow cold run shows where it went.
step() { echo "== [$(( $(date +%s) - start )) s] $*" >&2; }
step "cargo fmt --check"
cargo fmt --all -- --check
step "layers: imports point down only; batara-primitives stays pure"
python3 scripts/check-layers.py --check-primitives
step "cargo build (all targets)"
cargo build --workspace --all-targets
step "one feature set: the commands users type reuse this RocksDB build"
python3 scripts/check-one-build.py build --bin batara   # scripts/dev.sh
python3 scripts/check-one-build.py build -p batara-c
python3 scripts/check-one-build.py test -p batara-core --no-run
step "cargo clippy -D warnings"
# clippy runs librocksdb-sys' build script as a unit of its own, which would compile RocksDB's C++
# a second time; point it at the library the build above produced (scripts/rocksdb-env.sh), in a
# subshell so the later cargo commands keep their own, already built, unit.
(. scripts/rocksdb-env.sh && cargo clippy --workspace --all-targets -- -D warnings)
step "C header is fresh"
scripts/gen-header.sh --check
step "cargo test"
cargo test --workspace
step "Python tests"
scripts/python-dev.sh
PYTHONPATH=python .venv/bin/python -m pytest -q python/tests scripts/test_check_layers.py
step "Node.js tests"
scripts/node-dev.sh
node --test node-js/test/
step "Python stubs match the native module (mypy stubtest)"
PYTHONPATH=python .venv/bin/python -m mypy.stubtest batara._native
step "TypeScript declarations (tsc, declared vs runtime members)"
# typescript and @types/node (node-js's devDependencies, pinned by its package-lock.json). Scripts
# stay off: the package's own install script would build the addon with cargo again.
if ! npm ls --prefix node-js --depth=0 >/dev/null 2>&1; then
  echo "test: installing node-js devDependencies (npm ci)" >&2
  npm ci --prefix node-js --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
fi
npm run --prefix node-js --silent typecheck
step "README: the quick start and embedding sections run as written (tests/readme)"
.venv/bin/python -m pytest -q -p no:cacheprovider tests/readme
step "packages: scripts/package.sh, then each installed and run with no cargo on PATH"
scripts/package.sh
.venv/bin/python -m pytest -q -p no:cacheprovider tests/packages
step "all checks passed in $(( $(date +%s) - start )) s"
