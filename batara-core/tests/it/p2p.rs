//! The network over real loopback TCP: a follower syncs a dev validator's chain from genesis,
//! follows new blocks by gossip, relays transactions to it; a node of another chain is refused.

use std::time::Duration;

use batara_core::api::NodeApi;
use batara_core::app::genesis::{self, Genesis};
use batara_core::consensus::DevMode;
use batara_core::node::NodeConfig;
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

/// A bare libp2p peer (identify + gossipsub, as a Batara node speaks them) that publishes a
/// malformed consensus message: the node bans it. And a node's peer limit holds.
#[test]
fn a_peer_sending_garbage_is_banned_and_peer_limits_hold() {
    use futures::StreamExt;
    use libp2p::{gossipsub, identify, swarm::NetworkBehaviour};

    #[derive(NetworkBehaviour)]
    struct Rogue {
        identify: identify::Behaviour,
        gossipsub: gossipsub::Behaviour,
    }

    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let g = Genesis::dev("p2p-ban", 2, genesis::dev_validator_key().public_key(), 0);
    let mut cfg = net_config(dirs[0].path(), vec![]);
    cfg.p2p.max_peers = 2;
    let v = Node::start(NodeOptions {
        config: cfg,
        genesis: g.clone(),
        validator_key: Some(genesis::dev_validator_key()),
    })
    .unwrap();
    let boot = listen_addr(&v);
    let info = v.info();
    let genesis_hash = info.genesis_hash;
    let short = hex::encode(&genesis_hash.0[..8]);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let banned_after_garbage = rt.block_on(async {
        let key = libp2p::identity::Keypair::generate_ed25519();
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                Default::default(),
                libp2p::noise::Config::new,
                libp2p::yamux::Config::default,
            )
            .unwrap()
            .with_behaviour(|k| Rogue {
                identify: identify::Behaviour::new(identify::Config::new(
                    format!("/batara/1/p2p-ban/{genesis_hash}"),
                    k.public(),
                )),
                gossipsub: gossipsub::Behaviour::new(
                    gossipsub::MessageAuthenticity::Signed(k.clone()),
                    gossipsub::Config::default(),
                )
                .unwrap(),
            })
            .unwrap()
            .build();
        // A transaction batch that is not borsh (`Vec<Vec<u8>>`).
        let topic = gossipsub::IdentTopic::new(format!("/batara/{short}/txs/1"));
        swarm.behaviour_mut().gossipsub.subscribe(&topic).unwrap();
        swarm
            .dial(boot.parse::<libp2p::Multiaddr>().unwrap())
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let net = v.network().unwrap();
        loop {
            tokio::select! {
                _ = swarm.select_next_some() => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    // Keep publishing until the node has seen it (the mesh forms after a heartbeat).
                    let _ = swarm.behaviour_mut().gossipsub.publish(topic.clone(), vec![0xff; 7]);
                    if net.banned() == 1 {
                        return true;
                    }
                }
            }
            if tokio::time::Instant::now() > deadline {
                return false;
            }
        }
    });
    assert!(
        banned_after_garbage,
        "the node bans a peer that sends garbage"
    );
    drop(rt);
    wait_for("the rogue to be gone", 10, || v.info().peers == 0);

    // Peer limit: with max_peers = 2, a third node is turned away.
    let f1 = start(dirs[1].path(), &g, false, vec![boot.clone()]);
    let f2 = start(dirs[2].path(), &g, false, vec![boot]);
    wait_for("two followers connected", 20, || v.info().peers == 2);
    let extra_dir = tempfile::tempdir().unwrap();
    let f3 = start(extra_dir.path(), &g, false, vec![listen_addr(&v)]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(v.info().peers, 2, "no more than max_peers");
    assert!(f1.info().peers + f2.info().peers >= 2);
    drop(f3);
}
