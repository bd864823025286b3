//! The network over real loopback TCP: a follower syncs a dev validator's chain from genesis,
//! follows new blocks by gossip, relays transactions to it; a node of another chain is refused.

use std::time::Duration;

use batara_core::config::{DevMode, NodeConfig};
use batara_core::genesis::{self, Genesis};
use batara_core::node::{BlockId, Node, NodeHandle, NodeOptions};

use crate::common::{acct, transfer, wait_for};

fn net_config(dir: &std::path::Path, bootnodes: Vec<String>) -> NodeConfig {
    let mut c = NodeConfig {
        data_dir: Some(dir.to_owned()),
        ..Default::default()
    };
    c.storage.sync_writes = false;
    c.rpc.enabled = false;
    c.consensus.mode = DevMode::Manual;
    c.p2p.enabled = true;
    c.p2p.listen = "127.0.0.1:0".parse().unwrap();
    c.p2p.bootnodes = bootnodes;
    c
}

fn start(
    dir: &std::path::Path,
    genesis: &Genesis,
    validator: bool,
    boot: Vec<String>,
) -> NodeHandle {
    Node::start(NodeOptions {
        config: net_config(dir, boot),
        genesis: genesis.clone(),
        validator_key: validator.then(genesis::dev_validator_key),
    })
    .unwrap()
}

fn listen_addr(n: &NodeHandle) -> String {
    let net = n.network().expect("p2p enabled");
    wait_for("a listen address", 10, || !net.listen_addrs().is_empty());
    net.listen_addrs()[0].to_string()
}

#[test]
fn a_follower_syncs_follows_and_relays_transactions() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let g = Genesis::dev("p2p-test", 4, genesis::dev_validator_key().public_key(), 0);
    let v = start(dirs[0].path(), &g, true, vec![]);
    // History before the follower exists: 150 blocks (more than two sync batches), with txs.
    for i in 0..150u64 {
        if i % 10 == 0 {
            let t = transfer(&acct(0), "p2p-test", i / 10, acct(1).address(), 5, 1);
            v.submit(&t.to_bytes()).unwrap();
        }
        v.mine(1).unwrap();
    }
    let boot = listen_addr(&v);
    let f = start(dirs[1].path(), &g, false, vec![boot.clone()]);
    assert_eq!(f.info().engine, "follower");
    wait_for("the follower to sync 150 blocks", 60, || {
        f.chain().head().header.height == 150
    });
    assert_eq!(
        f.header(BlockId::Height(150)).unwrap(),
        v.header(BlockId::Height(150)).unwrap()
    );
    assert_eq!(
        f.account(&acct(1).address(), None).unwrap(),
        v.account(&acct(1).address(), None).unwrap()
    );
    assert!(f.info().peers >= 1 && v.info().peers >= 1);

    // New blocks reach it by gossip; a transaction sent to the follower reaches the validator.
    let t = transfer(&acct(2), "p2p-test", 0, acct(3).address(), 77, 2);
    let hash = f.submit(&t.to_bytes()).unwrap();
    wait_for("the tx to reach the validator's mempool", 20, || {
        v.mempool_stats().txs == 1
    });
    v.mine(1).unwrap();
    wait_for("block 151 at the follower", 20, || {
        f.chain().head().header.height == 151
    });
    assert_eq!(f.transaction(&hash).unwrap().height, 151);
    assert_eq!(
        f.mempool_stats().txs,
        0,
        "committed txs leave the follower's pool"
    );

    // A node of another chain (another genesis) is refused at the handshake.
    let other = Genesis::dev(
        "other-chain",
        4,
        genesis::dev_validator_key().public_key(),
        0,
    );
    let o = start(dirs[2].path(), &other, true, vec![boot]);
    o.mine(3).unwrap();
    // Whichever side sees the other's identify first bans and disconnects; the other node keeps
    // redialing its bootnode and stays refused.
    wait_for("a ban between the two chains", 20, || {
        v.network().unwrap().banned() + o.network().unwrap().banned() >= 1
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(v.info().peers, 1, "only the follower");
    assert_eq!(o.info().peers, 0, "the other chain's node is not connected");
    assert_eq!(f.chain().head().header.height, 151);
    assert_eq!(v.chain().head().header.height, 151);

    // A follower restarted later catches up from its own height.
    f.stop();
    drop(f);
    for _ in 0..20 {
        v.mine(1).unwrap();
    }
    let f = start(dirs[1].path(), &g, false, vec![listen_addr(&v)]);
    assert_eq!(f.chain().head().header.height, 151, "resumes from disk");
    wait_for("the restarted follower to catch up", 60, || {
        f.chain().head().header.height == 171
    });
    assert_eq!(f.chain().head().hash, v.chain().head().hash);
}
