#!/usr/bin/env python3
"""Checks that a cargo command reuses the RocksDB build of the workspace build (one feature set).

Usage: scripts/check-one-build.py [cargo args...]   (default: build --bin batara)

Runs `cargo <args> --message-format=json` and watches the units cargo reports. When librocksdb-sys
(its build script or the library) is not "fresh", this command would compile RocksDB's C++ a
second time (~12 minutes): it stops cargo at once and fails, naming the command. Run it after
`cargo build --workspace --all-targets`; scripts/test.sh runs it for the commands users type
(`scripts/dev.sh`'s `cargo build --bin batara`, `cargo build -p <crate>`, `cargo test -p …`).
"""

import json
import subprocess
import sys


def main() -> int:
    args = sys.argv[1:] or ["build", "--bin", "batara"]
    cmd = ["cargo", *args, "--message-format=json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen = False
    assert proc.stdout is not None
    for line in proc.stdout:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") != "compiler-artifact":
            continue
        if not msg.get("package_id", "").count("librocksdb-sys"):
            continue
        seen = True
        if not msg.get("fresh", False):
            proc.kill()
            proc.wait()
            print(f"check-one-build: `cargo {' '.join(args)}` would compile RocksDB again "
                  f"(another feature set): {msg['target']['name']} is not fresh", file=sys.stderr)
            return 1
    rc = proc.wait()
    if rc != 0:
        print(f"check-one-build: `cargo {' '.join(args)}` failed ({rc})", file=sys.stderr)
        return rc
    if not seen:
        print(f"check-one-build: `cargo {' '.join(args)}` built no librocksdb-sys unit", file=sys.stderr)
        return 1
    print(f"check-one-build: `cargo {' '.join(args)}` reuses the RocksDB build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
