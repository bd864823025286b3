//! `batara testnet` + `batara start`: a 4-validator network of real processes on loopback. One is
//! SIGKILLed and the others keep finalizing; it restarts, syncs and rejoins; a fifth, late node
//! (no validator key) syncs from genesis and follows; every node agrees on every header.

use std::net::TcpListener;
use std::path::Path;

use serde_json::{json, Value};

use batara_core::app::genesis;

use crate::common::{acct, batara, rpc, transfer, wait_for, Proc};

/// A base port such that `base..base + n` are all free now.
pub(crate) fn free_ports(n: u16) -> u16 {
    let seed = std::process::id() as u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
    for attempt in 0..200u64 {
        let base = 20_000
            + ((seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(attempt * 7919))
                % 40_000) as u16;
        if (0..n).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
    panic!("no free port range");
}

/// Kills whatever is still running when the test ends, even on failure.
pub(crate) struct Procs(pub(crate) Vec<Option<Proc>>);

impl Drop for Procs {
    fn drop(&mut self) {
        for p in self.0.iter_mut().filter_map(Option::take) {
            p.kill9();
        }
    }
}

fn start(home: &Path) -> Proc {
    Proc::spawn(&["start", "--home", home.to_str().unwrap()], &[])
}

fn header_hash(p: &Proc, h: u64) -> Value {
    rpc(p.rpc, "chain_getHeader", json!([h]))["hash"].clone()
}

fn assert_agreement(procs: &[&Proc]) {
    let addrs: Vec<_> = procs.iter().map(|p| p.rpc).collect();
    let top = heights(&addrs).into_iter().min().unwrap();
    for h in 1..=top {
        let first = header_hash(procs[0], h);
        for p in &procs[1..] {
            assert_eq!(header_hash(p, h), first, "header at height {h}");
        }
    }
}

/// `batara testnet` of 4 validators in `out` (p2p ports from `base`, RPC from `base + rpc`):
/// its summary and the nodes' homes.
pub(crate) fn testnet(
    out: &Path,
    chain_id: &str,
    base: u16,
    rpc: u16,
    block_ms: u32,
) -> (Value, Vec<std::path::PathBuf>) {
    let (code, stdout, err) = batara(&[
        "testnet",
        "--validators",
        "4",
        "--out",
        out.to_str().unwrap(),
        "--chain-id",
        chain_id,
        "--p2p-port",
        &base.to_string(),
        "--rpc-port",
        &(base + rpc).to_string(),
        "--block-time-ms",
        &block_ms.to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["nodes"].as_array().unwrap().len(), 4);
    (
        summary,
        (0..4).map(|i| out.join(format!("node{i}"))).collect(),
    )
}

/// Each node's height.
pub(crate) fn heights(addrs: &[std::net::SocketAddr]) -> Vec<u64> {
    addrs
        .iter()
        .map(|a| {
            rpc(*a, "node_info", json!([]))["height"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

/// True when the head's commit at `addr` carries a signature of `validator`.
fn head_signed_by(addr: std::net::SocketAddr, validator: &Value) -> bool {
    let b = rpc(addr, "chain_getBlock", json!([]));
    b["commit"]["signatures"]
        .as_array()
        .is_some_and(|s| s.iter().any(|x| &x["validator"] == validator))
}

#[test]
fn testnet_of_processes_survives_sigkill_and_a_late_node_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let base = free_ports(10);
    let (summary, homes) = testnet(&out, "e2e-1", base, 5, 100);
    let mut procs = Procs(homes.iter().map(|h| Some(start(h))).collect());
    let live = |procs: &Procs| -> Vec<std::net::SocketAddr> {
        procs.0.iter().flatten().map(|p| p.rpc).collect()
    };
    wait_for("height 3 on all four", 60, || {
        heights(&live(&procs)).iter().all(|h| *h >= 3)
    });
    // A transaction sent to node 1 is finalized on every node.
    // (At the testnet genesis's minimum fee: `batara testnet` writes params.min_fee.)
    let min_fee = genesis::DEFAULT_MIN_FEE;
    let t = transfer(&acct(0), "e2e-1", 0, acct(1).address(), 123, min_fee);
    let hex_tx = format!("0x{}", hex::encode(t.to_bytes()));
    let addrs = live(&procs);
    rpc(addrs[1], "tx_submit", json!([hex_tx]));
    wait_for("the tx on every node", 30, || {
        addrs.iter().all(|a| {
            crate::common::rpc_raw(*a, "chain_getTransaction", json!([t.hash()]))
                .get("result")
                .is_some()
        })
    });

    // SIGKILL node 3: the other three keep finalizing.
    procs.0[3].take().unwrap().kill9();
    let three = live(&procs);
    let h0 = *heights(&three).iter().min().unwrap();
    wait_for("progress without node 3", 60, || {
        heights(&three).iter().all(|h| *h >= h0 + 5)
    });
    // It restarts from its data, syncs and rejoins.
    procs.0[3] = Some(start(&homes[3]));
    let target = *heights(&three).iter().max().unwrap();
    wait_for("node 3 to catch up", 60, || {
        heights(&live(&procs))[3] >= target
    });
    // And it votes again: a later commit carries its signature.
    let v3 = summary["nodes"][3]["validator"].clone();
    wait_for("a commit signed by node 3", 60, || {
        head_signed_by(three[0], &v3)
    });

    // A late fifth node with no validator key: genesis from node0, bootnodes = the validators.
    let late = out.join("late");
    std::fs::create_dir_all(&late).unwrap();
    std::fs::copy(homes[0].join("genesis.json"), late.join("genesis.json")).unwrap();
    let mut cfg: toml::Table =
        toml::from_str(&std::fs::read_to_string(homes[0].join("config.toml")).unwrap()).unwrap();
    cfg["rpc"]["addr"] = format!("127.0.0.1:{}", base + 9).into();
    cfg["p2p"]["listen"] = format!("127.0.0.1:{}", base + 4).into();
    cfg["p2p"]["bootnodes"] = summary["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| toml::Value::from(n["p2p"].as_str().unwrap()))
        .collect::<Vec<_>>()
        .into();
    std::fs::write(late.join("config.toml"), toml::to_string(&cfg).unwrap()).unwrap();
    let late_proc = start(&late);
    let late_rpc = late_proc.rpc;
    procs.0.push(Some(late_proc));
    let info = rpc(late_rpc, "node_info", json!([]));
    assert_eq!(info["is_validator"], false);
    let tip = *heights(&three).iter().max().unwrap();
    wait_for("the late node to reach the tip", 60, || {
        heights(&[late_rpc])[0] >= tip
    });
    let tip2 = tip + 3;
    wait_for("the late node to follow", 60, || {
        heights(&[late_rpc])[0] >= tip2
    });
    assert_eq!(
        rpc(late_rpc, "state_getAccount", json!([acct(1).address()]))["balance"],
        rpc(three[0], "state_getAccount", json!([acct(1).address()]))["balance"]
    );
    let all: Vec<&Proc> = procs.0.iter().flatten().collect();
    assert_agreement(&all);
}

/// Issue 10, part 5 (crash points): validator 0 of a 4-process network is SIGKILLed 50 times, each
/// time a different delay (0–490 ms) after it printed its RPC address — heights take 50–150 ms
/// here, so the kills fall at different points of a height (syncing, building, proposing, voting,
/// committing, writing its guard file and WAL) — and restarted from its home. Nothing it signed conflicts with anything else it signed (no evidence against it in any
/// block, it is not tombstoned), it never refuses to start over what a kill left behind, and every
/// node agrees on every header.
#[test]
fn fifty_sigkills_of_a_validator_sign_nothing_conflicting() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let (summary, homes) = testnet(&out, "crash-1", free_ports(8), 4, 50);
    // Downtime would jail validator 0 (and stop it signing) long before the 50th kill.
    for h in &homes {
        let path = h.join("genesis.json");
        let mut g: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        g["params"]["staking"]["downtime_window"] = json!(100_000);
        g["params"]["staking"]["downtime_max_missed"] = json!(99_999);
        std::fs::write(&path, serde_json::to_string_pretty(&g).unwrap()).unwrap();
    }
    let mut procs = Procs(homes.iter().map(|h| Some(start(h))).collect());
    let others: Vec<_> = procs.0[1..].iter().flatten().map(|p| p.rpc).collect();
    let top = |addrs: &[std::net::SocketAddr]| heights(addrs).into_iter().min().unwrap();
    wait_for("height 2 everywhere", 60, || {
        top(&procs.0.iter().flatten().map(|p| p.rpc).collect::<Vec<_>>()) >= 2
    });
    let v0 = summary["nodes"][0]["validator"].clone();
    for kill in 0..50u64 {
        // 0..=490 ms in steps that walk through the ~50-150 ms a height takes here.
        let delay = (kill * 137) % 500;
        std::thread::sleep(std::time::Duration::from_millis(delay));
        procs.0[0].take().unwrap().kill9();
        procs.0[0] = Some(start(&homes[0]));
        if kill % 10 == 9 {
            // The network keeps finalizing.
            let h = top(&others);
            wait_for("progress", 60, || top(&others) >= h + 3);
        }
    }
    // After the last restart it catches up and signs again.
    let target = top(&others);
    let p0 = procs.0[0].as_ref().unwrap().rpc;
    wait_for("validator 0 to catch up", 60, || top(&[p0]) >= target);
    wait_for("a commit signed by validator 0", 60, || {
        head_signed_by(others[0], &v0)
    });
    let all: Vec<&Proc> = procs.0.iter().flatten().collect();
    assert_agreement(&all);
    let head = top(&others);
    for h in 1..=head {
        let b = rpc(others[0], "chain_getBlock", json!([h]));
        assert_eq!(b["evidence"], json!([]), "evidence at height {h}");
    }
    for a in &others {
        let v = rpc(*a, "staking_getValidator", json!([v0]));
        assert_eq!(v["tombstoned"], false, "{v}");
        assert_eq!(v["jailed"], false, "{v}");
    }
    eprintln!("50 kills over {head} heights");
}
