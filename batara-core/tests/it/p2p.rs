//! The network over real loopback TCP: a follower syncs a dev validator's chain from genesis,
//! follows new blocks by gossip, relays transactions to it; a node of another chain is refused.

use std::time::Duration;

use batara_core::api::NodeApi;
use batara_core::app::genesis::{self, Genesis};
use batara_core::consensus::DevMode;
use batara_core::node::NodeConfig;
use batara_core::node::{BlockId, Node, NodeHandle, NodeOptions};

use crate::common::{acct, transfer, wait_for};
use crate::rogue::Rogue;

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
/// transaction batch that does not decode: the node bans it. And a node's peer limit holds.
#[test]
fn a_peer_sending_garbage_is_banned_and_peer_limits_hold() {
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
    let rogue = Rogue::connect(&boot, "p2p-ban", v.info().genesis_hash, &["txs"]);
    // Not borsh (`Vec<Vec<u8>>`).
    rogue.publish("txs", vec![0xff; 7]);
    let net = v.network().unwrap();
    wait_for("the node to ban a peer that sends garbage", 30, || {
        net.banned() == 1
    });
    drop(rogue);
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

/// Issue 10, finding 2: a gossiped transaction batch is relayed only after it was verified. A
/// follower F between a rogue publisher and a listening peer: a good batch is admitted, relayed
/// and reaches the validator; a batch with a badly signed transaction, or more transactions than
/// a batch may hold, gets its sender banned and goes no further; a batch with nothing new is
/// dropped, without blame.
#[test]
fn gossiped_transactions_are_verified_before_they_are_relayed() {
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let chain = "p2p-txs";
    let g = Genesis::dev(chain, 4, genesis::dev_validator_key().public_key(), 0);
    let v = start(dirs[0].path(), &g, true, vec![]);
    // F's fee floor is above the chain's: it refuses cheaper transactions unchecked.
    let mut cfg = net_config(dirs[1].path(), vec![listen_addr(&v)]);
    cfg.mempool.min_fee = 2;
    let f = Node::start(NodeOptions {
        config: cfg,
        genesis: g.clone(),
        validator_key: None,
    })
    .unwrap();
    wait_for("the follower to connect", 20, || f.info().peers == 1);
    let gh = v.info().genesis_hash;
    let at_f = listen_addr(&f);
    let listener = Rogue::connect(&at_f, chain, gh, &["txs"]);
    listener.wait_meshed("txs");
    let batch = |txs: &[Vec<u8>]| borsh::to_vec(&txs.to_vec()).unwrap();
    let banned = || f.network().unwrap().banned();

    // A good batch: admitted by F, relayed to the listener, in the validator's pool.
    let good = transfer(&acct(0), chain, 0, acct(1).address(), 5, 2);
    let good_batch = batch(&[good.to_bytes()]);
    let honest = Rogue::connect(&at_f, chain, gh, &[]);
    honest.publish("txs", good_batch.clone());
    wait_for("the good batch at the listener", 20, || {
        listener.heard("txs").contains(&good_batch)
    });
    wait_for("the good tx in the validator's pool", 20, || {
        v.mempool_stats().txs == 1
    });

    // The same transaction again (a new gossip message, nothing new in it): dropped, no blame.
    honest.publish("txs", batch(&[good.to_bytes()]));
    // A good batch behind it from the same peer: a peer's batches are verified one at a time,
    // in order, so once this one is relayed the stale one had its verdict.
    let next = transfer(&acct(0), chain, 1, acct(1).address(), 5, 2);
    let next_batch = batch(&[next.to_bytes()]);
    honest.publish("txs", next_batch.clone());
    wait_for("the next good batch at the listener", 20, || {
        listener.heard("txs").contains(&next_batch)
    });
    assert_eq!(
        banned(),
        0,
        "a batch with nothing new costs its sender nothing"
    );

    // A new good transaction beside a forged one below F's fee floor (F stops at the fee and
    // never sees the bad signature): F keeps the good one but must not relay the batch — a
    // node with a lower floor would find the forgery and ban F.
    let cheap = {
        let mut t = transfer(&acct(3), chain, 0, acct(1).address(), 5, 1);
        t.signature.0[0] ^= 1;
        t
    };
    let fresh = transfer(&acct(1), chain, 0, acct(2).address(), 5, 2);
    let cheap_batch = batch(&[fresh.to_bytes(), cheap.to_bytes()]);
    honest.publish("txs", cheap_batch.clone());
    let after = transfer(&acct(1), chain, 1, acct(2).address(), 5, 2);
    let after_batch = batch(&[after.to_bytes()]);
    honest.publish("txs", after_batch.clone());
    wait_for("the batch after it at the listener", 20, || {
        listener.heard("txs").contains(&after_batch)
    });
    assert!(
        !listener.heard("txs").contains(&cheap_batch),
        "a batch not checked in full was relayed"
    );
    assert_eq!(banned(), 0);

    // A badly signed transaction among good ones: its sender is banned, the batch not relayed.
    let mut forged = transfer(&acct(2), chain, 0, acct(1).address(), 5, 2);
    forged.signature.0[0] ^= 1;
    let third = transfer(&acct(0), chain, 2, acct(1).address(), 5, 2);
    let bad_batch = batch(&[third.to_bytes(), forged.to_bytes()]);
    let forger = Rogue::connect(&at_f, chain, gh, &[]);
    forger.publish("txs", bad_batch.clone());
    wait_for("the forger banned", 20, || banned() == 1);

    // More transactions than a batch holds: banned before any is verified.
    let oversized = batch(&vec![
        next.to_bytes();
        batara_core::p2p::TX_GOSSIP_BATCH + 1
    ]);
    let flooder = Rogue::connect(&at_f, chain, gh, &[]);
    flooder.publish("txs", oversized.clone());
    wait_for("the flooder banned", 20, || banned() == 2);

    // Neither reached the listener (a relay follows the verdict at once; allow two heartbeats).
    std::thread::sleep(Duration::from_millis(1_500));
    let heard = listener.heard("txs");
    assert!(!heard.contains(&bad_batch), "the forged batch was relayed");
    assert!(
        !heard.contains(&oversized),
        "the oversized batch was relayed"
    );
    assert_eq!(
        heard
            .iter()
            .filter(|d| ![&good_batch, &next_batch, &after_batch].contains(d))
            .count(),
        0,
        "only the three good batches were relayed"
    );
    // The validator got those three: `after` waits in its future queue for `fresh` (nonce 0
    // of the same sender), which was only in the unrelayed batch.
    assert_eq!(v.mempool_stats().txs, 3);
    // F kept the valid transactions of the unrelayed batches (each transaction stands on its
    // own signature): `fresh` and the one beside the forgery.
    assert_eq!(f.mempool_stats().txs, 5);
}

/// Issue 10, findings 5 and 6: liars during block sync get nowhere. A new follower F syncs 300
/// blocks from the validator while four rogue peers claim far higher heads: one withholds every
/// answer, one has nothing, one sends old blocks, one sends garbage. F reaches the validator's
/// head anyway (each liar costs it one try, the withholder one timeout), the garbage one is
/// banned; and once F is at the tip, a new withholder holding F's only request does not stop
/// F from following gossiped blocks.
#[test]
fn liars_during_sync_are_rotated_out_and_gossip_keeps_a_node_following() {
    use crate::rogue::SyncLie;
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let chain = "p2p-liars";
    let g = Genesis::dev(chain, 2, genesis::dev_validator_key().public_key(), 0);
    let v = start(dirs[0].path(), &g, true, vec![]);
    v.mine(300).unwrap();
    let gh = v.info().genesis_hash;
    let old: Vec<Vec<u8>> = (1..=3)
        .map(|h| {
            let b = v.chain().block(h).unwrap().unwrap();
            let c = v.chain().commit_at(h).unwrap().unwrap();
            borsh::to_vec(&(b, c)).unwrap()
        })
        .collect();
    let f = start(dirs[1].path(), &g, false, vec![listen_addr(&v)]);
    let at_f = listen_addr(&f);
    let liars: Vec<Rogue> = [
        SyncLie::Withhold { claim: u64::MAX },
        SyncLie::Empty {
            claim: u64::MAX - 1,
        },
        SyncLie::Old {
            claim: u64::MAX - 2,
            blocks: old,
        },
        SyncLie::Garbage {
            claim: u64::MAX - 3,
        },
    ]
    .into_iter()
    .map(|lie| Rogue::liar(&at_f, chain, gh, &[], Some(lie)))
    .collect();
    let t0 = std::time::Instant::now();
    wait_for("F to sync 300 blocks past the liars", 60, || {
        f.chain().head().header.height == 300
    });
    let took = t0.elapsed();
    assert_eq!(f.chain().head().hash, v.chain().head().hash);
    wait_for("the garbage sender banned", 20, || {
        f.network().unwrap().banned() >= 1
    });
    eprintln!("synced 300 blocks past 4 liars in {took:?}");

    // At the tip: a withholder claiming more takes F's one sync request for SYNC_TIMEOUT; the
    // validator's new blocks still arrive by gossip and are imported meanwhile.
    let _withholder = Rogue::liar(
        &at_f,
        chain,
        gh,
        &[],
        Some(SyncLie::Withhold { claim: u64::MAX }),
    );
    std::thread::sleep(Duration::from_secs(4)); // its Status is in; F has asked it
    let t1 = std::time::Instant::now();
    for i in 1..=5 {
        v.mine(1).unwrap();
        wait_for(
            "F to follow by gossip while its request is withheld",
            5,
            || f.chain().head().header.height == 300 + i,
        );
    }
    assert!(
        t1.elapsed() < Duration::from_secs(8),
        "followed within the withholder's timeout: {:?}",
        t1.elapsed()
    );
    drop(liars);
}
