"""The PEP 517 build backend of ``pip install ./python``: maturin's, after pointing the build at a
RocksDB static library this checkout already compiled (any profile), so installing the package
does not compile RocksDB's C++ a second time (~12 minutes on 2 cores). The same rule as
``scripts/rocksdb-env.sh``: the newest ``target/**/librocksdb-sys-*/out/librocksdb.a`` is copied to
``target/rocksdb-lib/`` and named by ``ROCKSDB_LIB_DIR``. With none, cargo builds RocksDB as usual.
"""

from __future__ import annotations

import glob
import os
import shutil
from typing import Any, Optional

import maturin

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _reuse_rocksdb() -> None:
    if os.environ.get("ROCKSDB_LIB_DIR"):
        return
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(_ROOT, "target")
    lib_dir = os.path.join(target, "rocksdb-lib")
    lib = os.path.join(lib_dir, "librocksdb.a")
    if not os.path.exists(lib):
        built = glob.glob(os.path.join(target, "*", "build", "librocksdb-sys-*", "out", "librocksdb.a"))
        built += glob.glob(os.path.join(target, "*", "*", "build", "librocksdb-sys-*", "out", "librocksdb.a"))
        if not built:
            return
        os.makedirs(lib_dir, exist_ok=True)
        shutil.copyfile(max(built, key=os.path.getmtime), lib)
    os.environ["ROCKSDB_LIB_DIR"] = lib_dir
    os.environ["ROCKSDB_STATIC"] = "1"


def build_wheel(
    wheel_directory: str,
    config_settings: Optional[dict[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    _reuse_rocksdb()
    return str(maturin.build_wheel(wheel_directory, config_settings, metadata_directory))


def build_editable(
    wheel_directory: str,
    config_settings: Optional[dict[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    _reuse_rocksdb()
    return str(maturin.build_editable(wheel_directory, config_settings, metadata_directory))


def build_sdist(sdist_directory: str, config_settings: Optional[dict[str, Any]] = None) -> str:
    return str(maturin.build_sdist(sdist_directory, config_settings))


get_requires_for_build_wheel = maturin.get_requires_for_build_wheel
get_requires_for_build_sdist = maturin.get_requires_for_build_sdist
get_requires_for_build_editable = maturin.get_requires_for_build_editable
prepare_metadata_for_build_wheel = maturin.prepare_metadata_for_build_wheel
prepare_metadata_for_build_editable = maturin.prepare_metadata_for_build_editable
