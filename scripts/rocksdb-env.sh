# Source this file: reuse a RocksDB static library that an earlier build of this workspace already
# compiled (any profile), so a second profile does not spend ~12 minutes compiling RocksDB's C++
# again. It copies the newest target/**/librocksdb.a to target/rocksdb-lib/ and exports
# ROCKSDB_LIB_DIR and ROCKSDB_STATIC for librocksdb-sys. With no such library it does nothing and
# cargo builds RocksDB from source as usual.
_batara_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_batara_target="${CARGO_TARGET_DIR:-$_batara_root/target}"
if [ -z "${ROCKSDB_LIB_DIR:-}" ]; then
  if [ ! -f "$_batara_target/rocksdb-lib/librocksdb.a" ]; then
    _batara_lib="$(ls -t "$_batara_target"/*/build/librocksdb-sys-*/out/librocksdb.a \
      "$_batara_target"/*/*/build/librocksdb-sys-*/out/librocksdb.a 2>/dev/null | head -n 1 || true)"
    if [ -n "$_batara_lib" ]; then
      mkdir -p "$_batara_target/rocksdb-lib"
      cp "$_batara_lib" "$_batara_target/rocksdb-lib/librocksdb.a"
    fi
  fi
  if [ -f "$_batara_target/rocksdb-lib/librocksdb.a" ]; then
    export ROCKSDB_LIB_DIR="$_batara_target/rocksdb-lib" ROCKSDB_STATIC=1
  fi
fi
unset _batara_root _batara_target _batara_lib
