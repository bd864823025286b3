//! `batara testnet` + `batara start`: a 4-validator network of real processes on loopback. One is
//! SIGKILLed and the others keep finalizing; it restarts, syncs and rejoins; a fifth, late node
//! (no validator key) syncs from genesis and follows; every node agrees on every header.

use std::net::TcpListener;
use std::path::Path;

use serde_json::{json, Value};

use batara_core::app::genesis;

use crate::common::{acct, batara, rpc, transfer, wait_for, Proc};

/// A base port such that `base..base + n` are all free now.
fn free_ports(n: u16) -> u16 {
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
struct Procs(Vec<Option<Proc>>);

impl Drop for Procs {
    fn drop(&mut self) {
        for p in self.0.iter_mut().filter_map(Option::take) {
            p.kill9();
        }
    }
}

fn height(p: &Proc) -> u64 {
    rpc(p.rpc, "node_info", json!([]))["height"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn start(home: &Path) -> Proc {
    Proc::spawn(&["start", "--home", home.to_str().unwrap()], &[])
}

fn header_hash(p: &Proc, h: u64) -> Value {
    rpc(p.rpc, "chain_getHeader", json!([h]))["hash"].clone()
}

fn assert_agreement(procs: &[&Proc]) {
    let top = procs.iter().map(|p| height(p)).min().unwrap();
    for h in 1..=top {
        let first = header_hash(procs[0], h);
        for p in &procs[1..] {
            assert_eq!(header_hash(p, h), first, "header at height {h}");
        }
    }
}

#[test]
fn testnet_of_processes_survives_sigkill_and_a_late_node_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let base = free_ports(10);
    let (code, stdout, err) = batara(&[
        "testnet",
        "--validators",
        "4",
        "--out",
        out.to_str().unwrap(),
        "--chain-id",
        "e2e-1",
        "--p2p-port",
        &base.to_string(),
        "--rpc-port",
        &(base + 5).to_string(),
        "--block-time-ms",
        "100",
    ]);
    assert_eq!(code, 0, "{err}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["nodes"].as_array().unwrap().len(), 4);
    let homes: Vec<_> = (0..4).map(|i| out.join(format!("node{i}"))).collect();
    let mut procs = Procs(homes.iter().map(|h| Some(start(h))).collect());
    let live = |procs: &Procs| -> Vec<std::net::SocketAddr> {
        procs.0.iter().flatten().map(|p| p.rpc).collect()
    };
    let heights = |addrs: &[std::net::SocketAddr]| -> Vec<u64> {
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
        let b = rpc(three[0], "chain_getBlock", json!([]));
        b["commit"]["signatures"]
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x["validator"] == v3))
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
