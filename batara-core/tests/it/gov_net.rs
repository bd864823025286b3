//! Governance on a 4-validator BFT network of `batara start` processes (`batara testnet`, its
//! genesis given short periods): a parameter change takes effect at the same height on every
//! node; a vetoed proposal burns its deposit; one without quorum is refunded; a delegator's own
//! vote turns its validator's outcome; a jailed validator's delegators are slashed on every
//! node; and an upgrade stops all four processes at its height with the message, again on a
//! restart with the same binary.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use batara_core::api::ChainReader;
use batara_core::app::genesis::{Genesis, DEFAULT_MIN_FEE};
use batara_core::crypto::Keypair;
use batara_core::types::{
    Address, Amount, ParamChange, ProposalContent, TxBody, TxKind, VoteOption,
};
use batara_core::validator::read_key_file;

use crate::common::{acct, rpc, rpc_raw, wait_for, Proc};
use crate::gov::vote;
use crate::testnet::{free_ports, heights, testnet, Procs};

const COIN: Amount = 1_000_000_000_000_000_000;
const CHAIN: &str = "gov-net";

/// Signs and submits transactions, tracking nonces; waits until every node has them.
struct Sender {
    nonces: HashMap<Address, u64>,
}

impl Sender {
    fn send(&mut self, nodes: &[SocketAddr], key: &Keypair, kind: TxKind) -> Value {
        let nonce = self.nonces.entry(key.address()).or_default();
        let tx = TxBody {
            chain_id: CHAIN.into(),
            signer: key.public_key(),
            nonce: *nonce,
            fee: DEFAULT_MIN_FEE,
            kind,
        }
        .sign(key);
        *nonce += 1;
        rpc(
            nodes[0],
            "tx_submit",
            json!([format!("0x{}", hex::encode(tx.to_bytes()))]),
        );
        let mut found = Value::Null;
        wait_for("the transaction on every node", 60, || {
            nodes.iter().all(|a| {
                let r = rpc_raw(*a, "chain_getTransaction", json!([tx.hash()]));
                match r.get("result") {
                    Some(v) if !v.is_null() => {
                        found = v.clone();
                        true
                    }
                    _ => false,
                }
            })
        });
        assert_eq!(found["receipt"]["status"], "success", "{found}");
        found
    }
}

fn propose(title: &str, content: ProposalContent) -> TxKind {
    TxKind::Propose {
        title: title.into(),
        summary: String::new(),
        content,
        deposit: 10 * COIN,
        expedited: false,
    }
}

fn proposal(node: SocketAddr, id: u64) -> Value {
    rpc(node, "gov_getProposal", json!([id.to_string()]))
}

fn amount(v: &Value) -> Amount {
    v.as_str().unwrap().parse().unwrap()
}

fn balance(node: SocketAddr, a: &Address) -> Amount {
    amount(&rpc(node, "state_getAccount", json!([a]))["balance"])
}

/// Every home's genesis with these governance and downtime parameters (the same file in each).
fn tune_genesis(homes: &[PathBuf]) {
    for h in homes {
        let path = h.join("genesis.json");
        let mut g: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        g["params"]["gov"] = json!({
            "min_deposit": (10 * COIN).to_string(),
            "expedited_min_deposit": (20 * COIN).to_string(),
            "max_deposit_period_ms": "60000",
            "voting_period_ms": "8000",
            "expedited_voting_period_ms": "4000",
        });
        let s = &mut g["params"]["staking"];
        s["downtime_window"] = json!("20");
        s["downtime_max_missed"] = json!("5");
        s["downtime_slash_ppm"] = json!(10_000);
        std::fs::write(&path, serde_json::to_string_pretty(&g).unwrap()).unwrap();
    }
}

fn start(home: &Path, log: &Path) -> Proc {
    Proc::spawn_logged(&["start", "--home", home.to_str().unwrap()], log)
}

/// Waits for proposal `id` to close on every node; returns its record on node 0 after checking
/// that every node has the same one.
fn closed(nodes: &[SocketAddr], id: u64) -> Value {
    wait_for("the proposal to close on every node", 60, || {
        nodes.iter().all(|n| {
            !proposal(*n, id)["status"]
                .as_str()
                .unwrap()
                .ends_with("_period")
        })
    });
    let first = proposal(nodes[0], id);
    for n in &nodes[1..] {
        assert_eq!(proposal(*n, id), first, "proposal {id} on every node");
    }
    first
}

#[test]
fn governance_on_a_network_of_processes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let base = free_ports(10);
    let (_, homes) = testnet(&out, CHAIN, base, 5, 200);
    tune_genesis(&homes);
    let logs: Vec<PathBuf> = (0..4)
        .map(|i| dir.path().join(format!("node{i}.log")))
        .collect();
    let mut procs = Procs((0..4).map(|i| Some(start(&homes[i], &logs[i]))).collect());
    let nodes: Vec<SocketAddr> = procs.0.iter().flatten().map(|p| p.rpc).collect();
    wait_for("height 2 on all four", 60, || {
        heights(&nodes).iter().all(|h| *h >= 2)
    });
    let vals: Vec<Keypair> = homes
        .iter()
        .map(|h| read_key_file(&h.join("validator_key.json")).unwrap())
        .collect();
    let v = |i: usize| vals[i].address();
    let mut s = Sender {
        nonces: HashMap::new(),
    };
    // Stake: 1000 coins per genesis validator; account 2 adds 3000 to validator 0 and account 0
    // 1500 to validator 3 (bonded: 4000 + 1000 + 1000 + 2500).
    s.send(
        &nodes,
        &acct(2),
        TxKind::Delegate {
            validator: v(0),
            amount: 3_000 * COIN,
        },
    );
    s.send(
        &nodes,
        &acct(0),
        TxKind::Delegate {
            validator: v(3),
            amount: 1_500 * COIN,
        },
    );
    let burned0 = amount(&rpc(nodes[0], "distribution_getCommunityPool", json!([]))["burned"]);
    let proposer = acct(1);
    let before = balance(nodes[0], &proposer.address());
    // 1: bigger blocks and a higher gas floor, at once. 2: vetoed. 3: no quorum. 4: the
    // delegator's override.
    let change = ProposalContent::Params {
        changes: vec![ParamChange {
            params: "chain".into(),
            values: r#"{"max_block_bytes":8388608,"min_gas_price":"2000000"}"#.into(),
        }],
    };
    s.send(&nodes, &proposer, propose("bigger blocks", change));
    for title in ["veto me", "nobody cares", "the delegator decides"] {
        s.send(&nodes, &proposer, propose(title, ProposalContent::Text));
    }
    for val in &vals[..3] {
        s.send(&nodes, val, vote(1, VoteOption::Yes));
    }
    s.send(&nodes, &vals[0], vote(2, VoteOption::Veto));
    s.send(&nodes, &vals[1], vote(2, VoteOption::Yes));
    s.send(&nodes, &vals[1], vote(3, VoteOption::Yes));
    s.send(&nodes, &vals[0], vote(4, VoteOption::Yes));
    s.send(&nodes, &vals[1], vote(4, VoteOption::No));
    // Validator 0 votes its account 2's 3000 coins too — until account 2 votes itself.
    let live = &proposal(nodes[0], 4)["current_tally"];
    assert_eq!(
        (amount(&live["yes"]), amount(&live["no"])),
        (4_000 * COIN, 1_000 * COIN)
    );
    s.send(&nodes, &acct(2), vote(4, VoteOption::No));

    let p1 = closed(&nodes, 1);
    assert_eq!(p1["status"], "passed", "{p1}");
    let at = amount(&p1["end_height"]) as u64;
    for n in &nodes {
        // The block that passed it carries the status change; the next one runs under it.
        let events = rpc(*n, "chain_getBlock", json!([at]))["events"].clone();
        assert!(events.to_string().contains("passed"), "{events}");
        let p = rpc(*n, "gov_getParams", json!([]));
        assert_eq!(p["governed"]["chain"]["max_block_bytes"], 8_388_608);
        assert_eq!(rpc(*n, "node_info", json!([]))["min_gas_price"], "2000000");
    }
    let p2 = closed(&nodes, 2);
    assert_eq!(p2["status"], "rejected");
    assert!(p2["result"].as_str().unwrap().starts_with("vetoed"), "{p2}");
    assert_eq!(p2["deposits_burned"], true);
    let p3 = closed(&nodes, 3);
    assert!(
        p3["result"].as_str().unwrap().starts_with("no quorum"),
        "{p3}"
    );
    let p4 = closed(&nodes, 4);
    assert_eq!(p4["status"], "rejected", "{p4}");
    assert_eq!(amount(&p4["tally"]["yes"]), 1_000 * COIN);
    assert_eq!(amount(&p4["tally"]["no"]), 4_000 * COIN);
    // Refunded: 1, 3, 4. Burned: 2. Fees: 4 proposals.
    let fees = 4 * DEFAULT_MIN_FEE;
    for n in &nodes {
        assert_eq!(balance(*n, &proposer.address()), before - fees - 10 * COIN);
        let burned = amount(&rpc(*n, "distribution_getCommunityPool", json!([]))["burned"]);
        assert_eq!(burned - burned0, 10 * COIN);
    }

    // Validator 3 goes down: jailed for downtime, and account 0's delegation to it loses 1 %
    // on every live node.
    procs.0[3].take().unwrap().kill9();
    let three = &nodes[..3];
    wait_for("validator 3 jailed on the live nodes", 60, || {
        three
            .iter()
            .all(|n| rpc(*n, "staking_getValidator", json!([v(3)]))["jailed"] == true)
    });
    for n in three {
        let d = rpc(*n, "staking_getDelegations", json!([acct(0).address()]));
        let worth = amount(&d["delegations"][0]["amount"]);
        assert_eq!(worth, 1_500 * COIN - 15 * COIN, "{d}");
    }
    procs.0[3] = Some(start(&homes[3], &logs[3]));
    let top = *heights(three).iter().max().unwrap();
    wait_for("node 3 to catch up", 60, || heights(&nodes)[3] >= top);
    let d = rpc(
        nodes[3],
        "staking_getDelegations",
        json!([acct(0).address()]),
    );
    assert_eq!(amount(&d["delegations"][0]["amount"]), 1_485 * COIN);

    // An upgrade: every node stops at its height, and a restart with this binary stops again.
    let h = *heights(&nodes).iter().max().unwrap() + 60;
    let up = ProposalContent::Upgrade {
        name: "v2".into(),
        height: h,
        info: "batara 0.2.0".into(),
    };
    s.send(&nodes, &proposer, propose("upgrade", up));
    for val in &vals[..3] {
        s.send(&nodes, val, vote(5, VoteOption::Yes));
    }
    assert_eq!(closed(&nodes, 5)["status"], "passed");
    let message = format!("UPGRADE \"v2\" NEEDED at height {h}");
    for (i, p) in procs.0.iter_mut().enumerate() {
        let child = &mut p.as_mut().unwrap().child;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "node {i} did not stop"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        assert!(!status.success(), "node {i} stops with an error status");
        let log = std::fs::read_to_string(&logs[i]).unwrap();
        assert!(
            log.contains(&message) && log.contains("batara 0.2.0"),
            "node {i}: {log}"
        );
    }
    procs.0.iter_mut().for_each(|p| drop(p.take()));
    // Every node's chain ends at h - 1.
    for home in &homes {
        let g = Genesis::load(&home.join("genesis.json")).unwrap();
        let r = ChainReader::open_data_dir(&home.join("data"), g).unwrap();
        assert_eq!(r.chain().head().header.height, h - 1);
    }
    // Restarted with the old binary, a node opens its data and stops again at once.
    let seen = std::fs::read_to_string(&logs[0])
        .unwrap()
        .matches(&message)
        .count();
    let mut again = start(&homes[0], &logs[0]).child;
    let status = again.wait().unwrap();
    assert!(!status.success());
    let log = std::fs::read_to_string(&logs[0]).unwrap();
    assert!(log.matches(&message).count() > seen, "{log}");
    assert!(
        log.trim_end().ends_with("or any later one"),
        "the last line says why: {log}"
    );
}
