"""Tests of scripts/check-layers.py on small synthetic crates (pytest; no cargo build needed).

Run: .venv/bin/python -m pytest scripts/test_check_layers.py
"""

import os
import stat
import subprocess
import sys
import textwrap

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check-layers.py")

LIB = """\
pub use batara_primitives::{commit, crypto, proof, types};
pub mod config;
pub mod storage;
pub mod state;
pub mod mempool;
pub mod runtime;
pub mod modules;
pub mod api;
pub use api::{Error, ErrorKind};
"""

# A clean tree: every reference points down (or to the primitives crate).
CLEAN = {
    "lib.rs": LIB,
    "config.rs": "//! Generic loading.\npub fn load() {}\n",
    "storage/mod.rs": "mod rocks;\nuse crate::types::Hash;\n",
    "storage/rocks.rs": "use super::*;\nuse batara_primitives::crypto::sha256;\n",
    "state/mod.rs": "use crate::storage::Storage;\nuse batara_primitives::proof::Account;\n",
    "mempool.rs": "use crate::state::State;\n",
    "runtime/mod.rs": "mod chain;\npub use chain::Chain;\n",
    "runtime/chain.rs": "use super::Chain;\nuse crate::{mempool::TxRules, state::State};\n",
    "modules/mod.rs": "pub mod bank;\n",
    "modules/bank/mod.rs": "use crate::runtime::Module;\nuse super::super::state::State;\n",
    "api/mod.rs": "pub use crate::modules::bank;\npub struct Error;\npub enum ErrorKind {}\n",
}


def write_tree(root, files):
    for rel, text in files.items():
        path = root / "batara-core" / "src" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def run(root, *args, env=None):
    res = subprocess.run(
        [sys.executable, SCRIPT, "--root", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
    )
    return res.returncode, res.stdout + res.stderr


def tree(tmp_path, **changes):
    files = dict(CLEAN)
    for rel, text in changes.items():
        rel = rel.replace("__", "/").replace("_rs", ".rs")
        if text is None:
            files.pop(rel, None)
        else:
            files[rel] = text
    return write_tree(tmp_path, files)


def test_clean_tree_passes(tmp_path):
    rc, out = run(tree(tmp_path))
    assert rc == 0, out
    # config storage state mempool runtime modules api + the four primitives re-exports
    assert out.strip().splitlines()[-1].startswith("layers ok: 11 modules, ")


def test_graph_prints_edges(tmp_path):
    rc, out = run(tree(tmp_path), "--graph")
    assert rc == 0, out
    assert "edge: runtime (4) -> mempool (3)  1 reference" in out
    assert "edge: modules (5) -> state (2)  1 reference" in out  # via super::super::
    assert "edge: state (2) -> batara_primitives (0)" in out
    assert "edge: storage (1) -> types (0)  1 reference" in out
    assert "edge: storage (1) -> batara_primitives (0)  1 reference" in out
    assert "edge: mempool (3) -> state (2)  1 reference" in out


def test_upward_use(tmp_path):
    rc, out = run(tree(tmp_path, state__mod_rs="use crate::storage::Storage;\nuse crate::runtime::Chain;\n"))
    assert rc == 1
    assert "batara-core/src/state/mod.rs:2: state (2) imports runtime (4)" in out
    assert "imports storage" not in out


def test_same_level_is_an_error(tmp_path):
    files = dict(CLEAN, **{"config.rs": "use crate::storage::Column;\n"})
    rc, out = run(write_tree(tmp_path, files))
    assert rc == 1
    assert "batara-core/src/config.rs:1: config (1) imports storage (1)" in out


def test_grouped_multiline_use(tmp_path):
    chain = """\
        use super::Chain;
        use crate::{
            mempool::TxRules,
            state::{State, Account},
            modules::{bank, staking::Staking},
            self,
        };
    """
    rc, out = run(tree(tmp_path, runtime__chain_rs=chain))
    assert rc == 1
    assert "batara-core/src/runtime/chain.rs:5: runtime (4) imports modules (5)" in out
    assert "imports mempool" not in out and "imports state" not in out


def test_nested_group_and_leading_colons(tmp_path):
    rc, out = run(tree(tmp_path, mempool_rs="use ::std::fmt;\nuse crate::{{state::State}, api::{Error}};\n"))
    assert rc == 1
    assert "batara-core/src/mempool.rs:2: mempool (3) imports api (8)" in out


def test_inline_path(tmp_path):
    mempool = """\
        use crate::state::State;

        pub fn admit() -> u64 {
            let limit = crate :: api::limits::MAX;
            limit
        }
    """
    rc, out = run(tree(tmp_path, mempool_rs=mempool))
    assert rc == 1
    assert "batara-core/src/mempool.rs:4: mempool (3) imports api (8)" in out


def test_root_reexport_counts_as_its_module(tmp_path):
    rc, out = run(tree(tmp_path, mempool_rs="fn f(_e: crate::Error) {}\n"))
    assert rc == 1
    assert "batara-core/src/mempool.rs:1: mempool (3) imports api (8)" in out


def test_super_out_of_a_top_level_file(tmp_path):
    mempool = """\
        use super::runtime::Chain;

        #[cfg(test)]
        mod tests {
            use super::*;
            use super::super::state::State;
        }
    """
    rc, out = run(tree(tmp_path, mempool_rs=mempool))
    assert rc == 1
    assert "batara-core/src/mempool.rs:1: mempool (3) imports runtime (4)" in out
    assert "mempool.rs:5" not in out and "mempool.rs:6" not in out


def test_macro_crate_and_serde_attribute_paths_count(tmp_path):
    state = """\
        macro_rules! m { () => { $crate::api::Error }; }
        #[derive(serde::Serialize)]
        struct S(#[serde(with = "crate::runtime::codec")] u64);
    """
    rc, out = run(tree(tmp_path, state__mod_rs=state))
    assert rc == 1
    assert "batara-core/src/state/mod.rs:1: state (2) imports api (8)" in out
    assert "batara-core/src/state/mod.rs:3: state (2) imports runtime (4)" in out


def test_comments_and_strings_do_not_count(tmp_path):
    state = r'''
        //! Module doc naming crate::api::Error and [`crate::runtime::Chain`].
        /// Item doc: see crate::node.
        // use crate::runtime::Chain;
        /* a block comment: crate::api /* nested: crate::node */ still a comment: crate::rpc */
        /** crate::app */
        use crate::storage::Storage;
        const A: &str = "crate::api::Error";
        const B: &str = "escaped \" quote crate::api";
        const C: &str = r#"raw "crate::runtime" string"#;
        const D: &[u8] = br"crate::node";
        const E: &[u8] = b"crate::node";
        const Q: char = '"';
        const O: char = '{';
        const X: char = '\'';
        fn f<'a>(s: &'a str) -> &'a str { s }
        const M: &str = "multi-line
            crate::node::NodeHandle
        ";
        #[doc = "crate::api in an attribute string that is not a path"]
        fn g() {}
        const L: &str = "crate::node::x";
        #[test]
        fn h() { let _ = table["crate::node::x"]; }
    '''
    rc, out = run(tree(tmp_path, state__mod_rs=state))
    assert rc == 0, out


def test_cycle_is_reported_with_its_path(tmp_path):
    # state -> storage is fine; storage -> mempool -> state closes a cycle.
    rc, out = run(tree(tmp_path, storage__rocks_rs="use crate::mempool::Pool;\n"))
    assert rc == 1
    assert "batara-core/src/storage/rocks.rs:1: storage (1) imports mempool (3)" in out
    cycles = [line for line in out.splitlines() if line.startswith("cycle: ")]
    assert cycles == ["cycle: mempool -> state -> storage -> mempool"], out
    assert "storage -> mempool at batara-core/src/storage/rocks.rs:1" in out


def test_two_module_cycle_at_the_same_level(tmp_path):
    files = dict(CLEAN)
    files["lib.rs"] = LIB + "pub mod app;\npub mod consensus;\n"
    files["consensus/mod.rs"] = "use crate::app::Genesis;\n"
    files["app/mod.rs"] = "use crate::consensus::BlockSink;\n"
    rc, out = run(write_tree(tmp_path, files))
    assert rc == 1
    assert "batara-core/src/consensus/mod.rs:1: consensus (6) imports app (6)" in out
    assert "batara-core/src/app/mod.rs:1: app (6) imports consensus (6)" in out
    assert "cycle: app -> consensus -> app" in out or "cycle: consensus -> app -> consensus" in out


def test_unknown_module(tmp_path):
    files = dict(CLEAN, **{"chain.rs": "use crate::state::State;\n"})
    rc, out = run(write_tree(tmp_path, files))
    assert rc == 1
    assert "batara-core/src/chain.rs: module chain is not in the level table: add it to the table" in out
    assert "not in the table: chain" in out


def test_unknown_module_declared_in_lib_only(tmp_path):
    files = dict(CLEAN, **{"lib.rs": LIB + "pub mod legacy { pub use crate::api::*; }\n"})
    rc, out = run(write_tree(tmp_path, files))
    assert rc == 1
    assert "batara-core/src/lib.rs: module legacy is not in the level table" in out


def test_test_module_of_lib_is_the_root(tmp_path):
    files = dict(CLEAN)
    files["lib.rs"] = LIB + "#[cfg(test)]\nmod tests {\n    mod inner {}\n    use crate::api::Error;\n}\n"
    rc, out = run(write_tree(tmp_path, files))
    assert rc == 0, out


def test_bin_and_lib_are_the_root(tmp_path):
    files = dict(CLEAN)
    files["lib.rs"] = LIB + "pub fn start() { crate::api::run(); }\n"
    files["bin/batara.rs"] = "fn main() { batara_core::api::run(); crate::api::run(); }\n"
    rc, out = run(write_tree(tmp_path, files))
    assert rc == 0, out


# --check-primitives, against a fake `cargo` on PATH (the real one would need the crate).

FAKE_CARGO = """\
#!{python}
import os, sys
assert sys.argv[1:] == ["tree", "-p", "batara-primitives", "-e", "normal,build", "--prefix", "none"], sys.argv
mode = os.environ["FAKE_CARGO_MODE"]
if mode == "missing":
    sys.stderr.write("error: package ID specification `batara-primitives` did not match any packages\\n")
    sys.exit(101)
print("batara-primitives v0.1.0 (/x/batara-primitives)")
print("borsh v1.8.1")
print("borsh-derive v1.8.1 (proc-macro)")
print("sha2 v0.10.9")
if mode == "rocks":
    print("rocksdb v0.25.0")
    print("librocksdb-sys v0.19.0+11.8.1")
    print("tokio-util v0.7.0")
print("sha2 v0.10.9 (*)")
"""


def fake_cargo_env(tmp_path, mode):
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    cargo = bin_dir / "cargo"
    cargo.write_text(FAKE_CARGO.format(python=sys.executable))
    cargo.chmod(cargo.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, PATH=str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    env["FAKE_CARGO_MODE"] = mode
    return env


def test_primitives_clean(tmp_path):
    rc, out = run(tree(tmp_path), "--check-primitives", env=fake_cargo_env(tmp_path, "clean"))
    assert rc == 0, out
    assert "primitives ok: batara-primitives has 4 crates in its tree" in out


def test_primitives_with_rocksdb_fails(tmp_path):
    rc, out = run(tree(tmp_path), "--check-primitives", env=fake_cargo_env(tmp_path, "rocks"))
    assert rc == 1
    assert "primitives: batara-primitives depends on rocksdb v0.25.0" in out
    assert "primitives: batara-primitives depends on librocksdb-sys v0.19.0+11.8.1" in out
    assert "depends on tokio " not in out  # tokio-util is not tokio


def test_primitives_missing_package(tmp_path):
    rc, out = run(tree(tmp_path), "--check-primitives", env=fake_cargo_env(tmp_path, "missing"))
    assert rc == 1
    assert "package batara-primitives does not exist in this workspace yet" in out


def test_primitives_not_checked_without_the_flag(tmp_path):
    rc, out = run(tree(tmp_path), env=fake_cargo_env(tmp_path, "rocks"))
    assert rc == 0, out
    assert "primitives" not in out
