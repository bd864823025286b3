#!/usr/bin/env bash
# Writes the release packages of Batara, which install without a Rust toolchain, to dist/ (or
# --out DIR):
#   batara-<version>-cp39-abi3-<platform tag>.whl   the Python package (maturin; abi3, Python >= 3.9)
#   batara-node-<version>.tgz                       @batara/node with its prebuilt addon
#   batara-c-<version>-<platform>.tar.gz            libbatara.{so,a}, batara.h, pkg-config files,
#                                                   the example and its Makefile
# One release build of the binding crates, reusing the RocksDB library of an earlier build of this
# checkout (scripts/rocksdb-env.sh); symbols are stripped from every binary; the sizes are printed
# at the end and written to <out>/SIZES. tests/packages/ installs each artifact with no cargo on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=dist
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package: unknown argument $1 (expected --out DIR)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
start=$(date +%s)
step() { echo "package [$(( $(date +%s) - start )) s]: $*" >&2; }

scripts/setup.sh --build
# shellcheck source=scripts/rocksdb-env.sh
. scripts/rocksdb-env.sh
target="${CARGO_TARGET_DIR:-$root/target}"
stage="$target/package"
rm -rf "$stage"
mkdir -p "$stage"

read -r version url < <(cargo metadata --no-deps --format-version 1 | python3 -c \
  'import json, sys; c = next(p for p in json.load(sys.stdin)["packages"] if p["name"] == "batara-c"); print(c["version"], c["repository"] or "")')
key=$(node -p "require('./node-js/addon.js').platformKey()")
step "version $version, platform $key"

step "release build of batara-node and batara-c (the first one is several minutes)"
cargo build --release -p batara-node
# batara-c again through rustc, to learn the system libraries its static library needs.
cargo rustc --release -p batara-c --lib -- --print native-static-libs 2>"$stage/rustc-c.log" \
  || { cat "$stage/rustc-c.log" >&2; exit 1; }
native_libs=$(sed -n 's/.*native-static-libs: //p' "$stage/rustc-c.log" | tail -n 1)
if [ -z "$native_libs" ]; then
  # A fresh unit replays no note: rebuild the small crate once to get it.
  touch bindings/c/src/lib.rs
  cargo rustc --release -p batara-c --lib -- --print native-static-libs 2>"$stage/rustc-c.log"
  native_libs=$(sed -n 's/.*native-static-libs: //p' "$stage/rustc-c.log" | tail -n 1)
fi
[ -n "$native_libs" ] || { echo "package: rustc printed no native-static-libs" >&2; exit 1; }

step "Python wheel (maturin)"
venv="$target/package-venv"
if ! "$venv/bin/maturin" --version >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'maturin>=1.7,<2'
fi
rm -f "$out"/batara-*.whl
(cd python && "$venv/bin/maturin" build --release --strip --out "$out" --quiet)
wheel=$(ls "$out"/batara-"$version"-*.whl)

step "npm tarball of @batara/node with the addon for $key"
node_stage="$stage/node"
mkdir -p "$node_stage/prebuilds/$key"
for f in index.js index.mjs index.d.ts addon.js cli.js README.md LICENSE; do
  cp -L "node-js/$f" "$node_stage/$f"
done
strip --strip-unneeded -o "$node_stage/prebuilds/$key/batara.node" "$target/release/libbatara_node.so"
node - "$node_stage/package.json" "$version" <<'EOF'
// The published package.json: the checkout's, without the build-from-source install script and
// the dev tools, carrying prebuilds/ and saying which platform it runs on (npm refuses others
// with EBADPLATFORM).
const fs = require('node:fs');
const [file, version] = process.argv.slice(2);
const p = JSON.parse(fs.readFileSync('node-js/package.json', 'utf8'));
if (p.version !== version) {
  console.error(`package: node-js/package.json has version ${p.version}, the workspace ${version}`);
  process.exit(1);
}
delete p.scripts;
delete p.devDependencies;
p.files = p.files.filter((f) => f !== 'build.js' && f !== 'batara.node').concat('prebuilds');
p.os = [process.platform];
p.cpu = [process.arch];
if (process.platform === 'linux') p.libc = ['glibc'];
fs.writeFileSync(file, JSON.stringify(p, null, 2) + '\n');
EOF
rm -f "$out"/batara-node-*.tgz
(cd "$node_stage" && npm pack --silent --pack-destination "$out" >/dev/null)
tarball="$out/batara-node-$version.tgz"

step "C SDK archive"
c_name="batara-c-$version-$key"
c_stage="$stage/$c_name"
mkdir -p "$c_stage/lib/pkgconfig" "$c_stage/include" "$c_stage/examples"
strip --strip-unneeded -o "$c_stage/lib/libbatara.so" "$target/release/libbatara.so"
strip --strip-debug -o "$c_stage/lib/libbatara.a" "$target/release/libbatara.a"
cp include/batara.h "$c_stage/include/"
cp examples/c/embed.c bindings/c/sdk/Makefile "$c_stage/examples/"
cp bindings/c/sdk/README.md "$c_stage/"
cp -L LICENSE "$c_stage/"
for pc in batara batara-static; do
  sed -e "s|@VERSION@|$version|" -e "s|@URL@|$url|" -e "s|@NATIVE_LIBS@|$native_libs|" \
    "bindings/c/sdk/$pc.pc.in" >"$c_stage/lib/pkgconfig/$pc.pc"
done
archive="$out/$c_name.tar.gz"
tar -czf "$archive" -C "$stage" "$c_name"

{
  echo "# scripts/package.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(( $(date +%s) - start )) s"
  for f in "$wheel" "$tarball" "$archive"; do
    echo "$(basename "$f") $(stat -c %s "$f")"
  done
} >"$out/SIZES"
step "done"
awk '$1 != "#" { printf "  %-52s %6.1f MiB\n", $1, $2 / 1048576 }' "$out/SIZES" >&2
