//! BFT networks of nodes in this process, over real loopback TCP: agreement, finality, liveness
//! with one validator down, and safety with two of four down.

use std::time::{Duration, Instant};

use batara_core::api::NodeApi;
use batara_core::app::genesis::{Genesis, GenesisAccount, GenesisValidator};
use batara_core::crypto::Keypair;
use batara_core::node::NodeConfig;
use batara_core::node::{BlockId, Node, NodeHandle, NodeOptions};

use crate::common::{acct, transfer, wait_for};

pub fn validator_key(i: u8) -> Keypair {
    Keypair::from_seed(&[0x40 + i; 32])
}

pub fn genesis(n: u8) -> Genesis {
    genesis_with(n, |_| {})
}

pub fn genesis_with(n: u8, tweak: impl FnOnce(&mut Genesis)) -> Genesis {
    let mut g = Genesis {
        chain_id: "bft-test".into(),
        genesis_time: 1_000,
        params: Default::default(),
        accounts: (0..4)
            .map(|i| GenesisAccount {
                address: acct(i).address(),
                balance: 1_000_000,
            })
            .collect(),
        validators: (0..n)
            .map(|i| GenesisValidator {
                pubkey: validator_key(i).public_key(),
                power: 10,
                name: format!("v{i}"),
            })
            .collect(),
        dev: false,
    };
    g.params.staking.epoch_length = 1_000;
    tweak(&mut g);
    g
}

pub struct Net {
    /// Before `dirs`: fields drop in order, and nodes must stop before their directories go.
    pub nodes: Vec<Option<NodeHandle>>,
    pub dirs: Vec<tempfile::TempDir>,
    pub genesis: Genesis,
    boot: String,
    /// Applied to each node's test configuration.
    configure: fn(&mut NodeConfig),
}

fn config(dir: &std::path::Path, boot: Vec<String>) -> NodeConfig {
    let mut c = NodeConfig {
        data_dir: Some(dir.to_owned()),
        ..Default::default()
    };
    c.storage.sync_writes = false;
    c.rpc.enabled = false;
    c.p2p.enabled = true;
    c.p2p.listen = "127.0.0.1:0".parse().unwrap();
    c.p2p.bootnodes = boot;
    c.consensus.bft.propose_ms = 800;
    c.consensus.bft.propose_delta_ms = 200;
    c.consensus.bft.prevote_ms = 300;
    c.consensus.bft.prevote_delta_ms = 200;
    c.consensus.bft.precommit_ms = 300;
    c.consensus.bft.precommit_delta_ms = 200;
    c.consensus.bft.commit_ms = 100;
    c
}

impl Net {
    pub fn new(n: u8) -> Self {
        Self::with_genesis(n, genesis(n))
    }

    /// `nodes` nodes, node i holding validator key i (the genesis may have fewer validators).
    pub fn with_genesis(nodes: u8, genesis: Genesis) -> Self {
        Self::with_config(nodes, genesis, |_| {})
    }

    /// [`Net::with_genesis`], each node's configuration changed by `configure`.
    pub fn with_config(nodes: u8, genesis: Genesis, configure: fn(&mut NodeConfig)) -> Self {
        let n = nodes;
        let mut net = Net {
            nodes: vec![],
            dirs: (0..n).map(|_| tempfile::tempdir().unwrap()).collect(),
            genesis,
            boot: String::new(),
            configure,
        };
        for i in 0..n as usize {
            net.nodes.push(None);
            net.start(i);
            if i == 0 {
                let n0 = net.node(0).network().unwrap();
                wait_for("a listen address", 10, || !n0.listen_addrs().is_empty());
                net.boot = n0.listen_addrs()[0].to_string();
            }
        }
        net
    }

    pub fn start(&mut self, i: usize) {
        let boot = if self.boot.is_empty() {
            vec![]
        } else {
            vec![self.boot.clone()]
        };
        let mut config = config(self.dirs[i].path(), boot);
        (self.configure)(&mut config);
        let n = Node::start(NodeOptions {
            config,
            genesis: self.genesis.clone(),
            validator_key: Some(validator_key(i as u8)),
        })
        .unwrap();
        self.nodes[i] = Some(n);
    }

    pub fn stop(&mut self, i: usize) {
        if let Some(n) = self.nodes[i].take() {
            n.stop();
        }
    }

    pub fn node(&self, i: usize) -> &NodeHandle {
        self.nodes[i].as_ref().unwrap()
    }

    pub fn live(&self) -> impl Iterator<Item = &NodeHandle> {
        self.nodes.iter().flatten()
    }

    pub fn height(&self, i: usize) -> u64 {
        self.node(i).chain().head().header.height
    }

    pub fn min_height(&self) -> u64 {
        self.live()
            .map(|n| n.chain().head().header.height)
            .min()
            .unwrap()
    }

    /// Waits up to `secs` until every live node has every one of `hashes` in a block.
    pub fn wait_for_txs(&self, what: &str, hashes: &[batara_core::types::Hash], secs: u64) {
        wait_for(&format!("{what} on every node"), secs, || {
            self.live()
                .all(|n| hashes.iter().all(|h| n.transaction(h).is_ok()))
        });
    }

    /// Every live node has the same header at every height up to the lowest head.
    pub fn assert_agreement(&self) {
        let top = self.min_height();
        for h in 1..=top {
            let hashes: Vec<_> = self
                .live()
                .map(|n| n.header(BlockId::Height(h)).unwrap().hash())
                .collect();
            assert!(
                hashes.windows(2).all(|w| w[0] == w[1]),
                "height {h}: {hashes:?}"
            );
        }
    }
}

#[test]
fn four_validators_finalize_and_survive_faults() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let mut net = Net::new(4);
    wait_for("height 5 everywhere", 60, || net.min_height() >= 5);
    net.assert_agreement();
    // Every node was given only node 0 as bootnode; discovery (Kademlia) connects them all.
    wait_for("every node to find the other three", 30, || {
        net.live().all(|n| n.info().peers == 3)
    });
    assert!(net
        .live()
        .all(|n| n.info().engine == "bft" && n.info().is_validator));

    // A transaction sent to one node is finalized on all.
    let t = transfer(&acct(0), "bft-test", 0, acct(1).address(), 42, 1);
    let hash = net.node(2).submit(&t.to_bytes()).unwrap();
    wait_for("the tx on every node", 30, || {
        net.live().all(|n| n.transaction(&hash).is_ok())
    });

    // One of four down: the other three keep finalizing.
    net.stop(3);
    let h = net.min_height();
    wait_for("progress with 3 of 4", 60, || net.min_height() >= h + 3);
    net.assert_agreement();

    // Two of four down: no new blocks (and nothing conflicting).
    net.stop(2);
    std::thread::sleep(Duration::from_millis(1500));
    let stalled = net.min_height();
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        net.live()
            .all(|n| n.chain().head().header.height <= stalled + 1),
        "no progress without more than 2/3 of the power"
    );
    net.assert_agreement();

    // One comes back (synced from the others, then voting): blocks resume.
    net.start(2);
    wait_for("blocks resume with 3 of 4", 90, || {
        net.min_height() >= stalled + 3
    });
    net.assert_agreement();
    // And the fourth catches up and agrees.
    net.start(3);
    let target = net.height(0);
    wait_for("node 3 to catch up", 90, || net.height(3) >= target);
    net.assert_agreement();
}

/// With every validator up, each block's `last_commit` carries every validator's precommit:
/// precommits that arrive after the decision (the fourth of four, once three decided) join the
/// commit before the next block is built, so no online validator is counted as missing a block
/// (before, every commit held exactly the first three and each validator "missed" a quarter).
/// A commit wait of 500 ms (CometBFT's default is 1 s) leaves room for a loaded test machine.
#[test]
fn late_precommits_join_the_commit_so_online_validators_miss_no_blocks() {
    let net = Net::with_config(4, genesis(4), |c| c.consensus.bft.commit_ms = 500);
    wait_for("height 3 everywhere", 60, || net.min_height() >= 3);
    let from = net.min_height() + 1;
    let to = from + 15;
    wait_for("15 more heights", 120, || net.min_height() > to);
    let n0 = net.node(0);
    let full = (from..=to)
        .filter(|h| {
            let b = n0.block(BlockId::Height(*h)).unwrap();
            b.last_commit.unwrap().signatures.len() == 4
        })
        .count();
    // A precommit may still come after the next proposer's commit wait on a very loaded
    // machine; nearly every block has all four.
    assert!(full >= 12, "{full} of 16 blocks carry all four precommits");
    for i in 0..4 {
        let missed = n0
            .validator(&validator_key(i).address())
            .unwrap()
            .record
            .missed
            .len();
        assert!(
            missed <= 4,
            "validator {i} counted as missing {missed} blocks while online"
        );
    }
}

#[test]
fn a_double_signing_validator_is_slashed_and_jailed_on_every_node() {
    use batara_core::api::ChainReader;
    use batara_core::consensus::bft::ConsensusMsg;
    use batara_core::types::{Hash, Vote, VoteKind};

    use batara_core::consensus::MessageVerdict;

    let net = Net::new(4);
    wait_for("height 2 everywhere", 60, || net.min_height() >= 2);
    let offender = validator_key(3);
    // What the network refuses (and bans the sender for): garbage, a vote signed by another key.
    let n0 = net.node(0);
    assert!(matches!(
        n0.broadcast_consensus(b"garbage"),
        MessageVerdict::Reject(_)
    ));
    let next = n0.chain().head().header.height + 2;
    let forged = Vote {
        kind: VoteKind::Prevote,
        height: next - 1,
        round: 0,
        block_hash: None,
        validator: offender.address(),
        signature: validator_key(2).sign(b"not the vote"),
    };
    let verdict =
        n0.broadcast_consensus(&borsh::to_vec(&ConsensusMsg::Vote(forged.clone())).unwrap());
    assert!(
        matches!(&verdict, MessageVerdict::Reject(r) if r.contains("bad vote signature"))
            // decided meanwhile: an old vote is ignored, not blamed
            || verdict == MessageVerdict::Ignore,
        "{verdict:?}"
    );
    let old = Vote {
        height: 1,
        ..forged
    };
    assert_eq!(
        n0.broadcast_consensus(&borsh::to_vec(&ConsensusMsg::Vote(old)).unwrap()),
        MessageVerdict::Ignore
    );
    // A validator's signed proposal for round u32::MAX (issue 10, finding 1): relayed, it made
    // every receiver step the proposer schedule four billion times. Now it is rejected (and its
    // sender banned) before anything is computed, and blocks go on.
    let head = n0.chain().head();
    let (built, _) = n0
        .chain()
        .build_block(&[], validator_key(1).address(), head.header.time + 1)
        .unwrap();
    let far = |round: u32, pol_round: Option<u32>| {
        let block = built.block.clone();
        let proposal = batara_core::types::Proposal {
            height: block.header.height,
            round,
            pol_round,
            block_hash: block.hash(),
            proposer: validator_key(1).address(),
            signature: validator_key(1).sign(&batara_core::types::Proposal::sign_message(
                "bft-test",
                block.header.height,
                round,
                pol_round,
                &block.hash(),
            )),
        };
        borsh::to_vec(&ConsensusMsg::Proposal {
            proposal,
            block: Box::new(block),
        })
        .unwrap()
    };
    for (round, pol_round) in [(u32::MAX, None), (3, Some(3))] {
        let verdict = n0.broadcast_consensus(&far(round, pol_round));
        assert!(
            matches!(&verdict, MessageVerdict::Reject(r) if r.contains("round"))
                || verdict == MessageVerdict::Ignore, // decided meanwhile
            "{verdict:?}"
        );
    }
    let h = net.min_height();
    wait_for("blocks after the far-round proposal", 30, || {
        net.min_height() >= h + 2
    });
    let stake_before = ChainReader::new(net.node(0).chain().clone())
        .validator(&offender.address())
        .unwrap()
        .record
        .stake;
    // The test makes validator 3's key sign two different prevotes for the height being decided,
    // and hands them to node 0 (as a compromised signer would publish them).
    let tombstoned = |n: &NodeHandle| {
        ChainReader::new(n.chain().clone())
            .validator(&offender.address())
            .is_ok_and(|v| v.record.tombstoned)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !net.live().all(tombstoned) {
        assert!(
            Instant::now() < deadline,
            "the offender was not punished everywhere"
        );
        let height = net.node(0).chain().head().header.height + 1;
        for block_hash in [None, Some(Hash([7; 32]))] {
            let msg = Vote::sign_message(
                "bft-test",
                VoteKind::Prevote,
                height,
                0,
                block_hash.as_ref(),
            );
            let vote = Vote {
                kind: VoteKind::Prevote,
                height,
                round: 0,
                block_hash,
                validator: offender.address(),
                signature: offender.sign(&msg),
            };
            let bytes = borsh::to_vec(&ConsensusMsg::Vote(vote)).unwrap();
            net.node(0).broadcast_consensus(&bytes);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for n in net.live() {
        let v = ChainReader::new(n.chain().clone())
            .validator(&offender.address())
            .unwrap();
        assert!(v.record.jailed && v.record.tombstoned);
        assert_eq!(
            v.record.stake,
            stake_before - stake_before / 20,
            "5% slashed (double_sign_slash_ppm)"
        );
    }
    // The other three go on without it; every node agrees, and the block with the evidence is
    // in every chain.
    let h = net.min_height();
    wait_for("progress after the jailing", 60, || {
        net.min_height() >= h + 2
    });
    net.assert_agreement();
    assert!(net
        .node(1)
        .chain()
        .validators()
        .unwrap()
        .iter()
        .all(|v| v.address != offender.address()));
    // As clients see it: the block view lists the evidence, naming the offender.
    let with_evidence = (1..=net.min_height())
        .filter(|h| {
            let view = net.node(2).block(BlockId::Height(*h)).unwrap();
            assert!(view
                .evidence
                .iter()
                .all(|e| e.validator() == offender.address()));
            !view.evidence.is_empty()
        })
        .count();
    // The test may have made it offend at more than one height before every node saw the first
    // punishment; a tombstoned validator is slashed once (the stake check above).
    assert!(with_evidence >= 1, "a block carries the evidence");

    // Evidence spam (issue 10, finding 4): 150 signed pairs of the tombstoned offender, one per
    // round of an old height. They verify, but no block can use them, so they are ignored (not
    // relayed, not pooled). Before, each was accepted into a pool capped at 100 and pruned only of
    // punished pieces, so the pool stayed full and a later offender went unpunished.
    let signed = |key: &batara_core::crypto::Keypair, height: u64, round: u32, hash| {
        let msg = Vote::sign_message("bft-test", VoteKind::Prevote, height, round, hash);
        Vote {
            kind: VoteKind::Prevote,
            height,
            round,
            block_hash: hash.copied(),
            validator: key.address(),
            signature: key.sign(&msg),
        }
    };
    let pair = |key: &batara_core::crypto::Keypair, height: u64, round: u32| {
        let e = batara_core::types::DuplicateVoteEvidence::new(
            signed(key, height, round, None),
            signed(key, height, round, Some(&Hash([9; 32]))),
        );
        borsh::to_vec(&ConsensusMsg::Evidence(e)).unwrap()
    };
    for round in 0..150 {
        assert_eq!(
            net.node(0).broadcast_consensus(&pair(&offender, 2, round)),
            MessageVerdict::Ignore,
            "round {round}"
        );
    }
    // A second offender (validator 2; 2 of the 3 remaining stay honest, so blocks go on) is
    // still punished: its evidence is accepted and goes into a block.
    let second = validator_key(2);
    assert_eq!(
        net.node(0).broadcast_consensus(&pair(&second, 2, 0)),
        MessageVerdict::Accept
    );
    let punished = |n: &NodeHandle| {
        ChainReader::new(n.chain().clone())
            .validator(&second.address())
            .is_ok_and(|v| v.record.tombstoned)
    };
    wait_for("the second offender is punished everywhere", 60, || {
        net.live().all(punished)
    });
    let h = net.min_height();
    wait_for("progress after the second jailing", 60, || {
        net.min_height() >= h + 2
    });
    net.assert_agreement();
}

/// Σ balances over every account of a node's latest state.
/// Σ balances + the community pool + rewards not yet withdrawn (what fees move between).
fn total_balances(n: &NodeHandle) -> u128 {
    let pool = n.community_pool().unwrap();
    let mut total = pool.amount + pool.outstanding_rewards;
    let mut after = None;
    loop {
        let page = n.accounts(after.as_ref(), 1_000).unwrap();
        total += page.accounts.iter().map(|a| a.balance).sum::<u128>();
        match page.next {
            Some(a) => after = Some(a),
            None => return total,
        }
    }
}

#[test]
fn random_load_with_three_seeds_gives_identical_state_everywhere() {
    for seed in [1u64, 2, 3] {
        let net = Net::new(4);
        let supply = total_balances(net.node(0));
        let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move |m: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % m
        };
        let mut nonces = [0u64; 4];
        let mut hashes = Vec::new();
        for _ in 0..60 {
            let from = next(4) as usize;
            let to = next(4) as u32;
            let t = transfer(
                &acct(from as u32),
                "bft-test",
                nonces[from],
                acct(to).address(),
                u128::from(next(1_000)),
                u128::from(next(5)),
            );
            nonces[from] += 1;
            hashes.push(t.hash());
            net.node(next(4) as usize).submit(&t.to_bytes()).unwrap();
            if next(4) == 0 {
                std::thread::sleep(Duration::from_millis(30));
            }
        }
        net.wait_for_txs("every tx", &hashes, 60);
        let h = net.min_height();
        wait_for("one more block", 30, || net.min_height() > h);
        // Same header (so same state root) at every height on every node; supply unchanged
        // (fees only move to the validators' delegators and the pool; no block reward here).
        net.assert_agreement();
        for n in net.live() {
            assert_eq!(total_balances(n), supply, "seed {seed}");
        }
    }
}

#[test]
fn a_staked_validator_joins_at_the_epoch_and_leaves_after_unstaking() {
    use batara_core::api::ChainReader;
    use batara_core::types::{TxBody, TxKind};

    let g = genesis_with(4, |g| {
        g.params.staking.epoch_length = 4;
        g.params.staking.unbonding_blocks = 4;
        g.params.staking.stake_per_power = 1_000;
        g.params.staking.min_self_stake = 1_000;
    });
    // Five nodes; node 4 holds validator key 4, which is not in the genesis set.
    let net = Net::with_genesis(5, g);
    wait_for("height 2", 60, || net.min_height() >= 2);
    let newcomer = validator_key(4);
    let sign = |nonce, kind| {
        TxBody {
            chain_id: "bft-test".into(),
            signer: acct(0).public_key(),
            nonce,
            fee: 0,
            kind,
        }
        .sign(&acct(0))
    };
    let stake = sign(
        0,
        TxKind::Stake {
            validator_key: newcomer.public_key(),
            amount: 20_000,
        },
    );
    net.node(1).submit(&stake.to_bytes()).unwrap();
    wait_for("the stake committed", 30, || {
        net.node(0).transaction(&stake.hash()).is_ok()
    });
    // At the next epoch boundary it joins with 20 of 60 power: without its votes the others
    // (40 of 60) cannot commit, so progress proves it validates.
    wait_for("the newcomer in the set", 60, || {
        net.node(0)
            .chain()
            .validators()
            .unwrap()
            .iter()
            .any(|v| v.address == newcomer.address() && v.power == 20)
    });
    let h = net.min_height();
    wait_for("blocks with the new set", 60, || net.min_height() >= h + 4);
    let signed_by_newcomer = (h + 1..=net.min_height()).any(|x| {
        net.node(2).chain().commit_at(x).unwrap().is_some_and(|c| {
            c.signatures
                .iter()
                .any(|s| s.validator == newcomer.address())
        })
    });
    assert!(signed_by_newcomer, "the new validator signs commits");
    // Unstake it all: out at the next epoch, funds back after the unbonding period.
    let before = net
        .node(0)
        .account(&acct(0).address(), None)
        .unwrap()
        .balance;
    let unstake = sign(
        1,
        TxKind::Unstake {
            validator: newcomer.address(),
            amount: 20_000,
        },
    );
    net.node(3).submit(&unstake.to_bytes()).unwrap();
    wait_for("the funds back", 60, || {
        net.live()
            .all(|n| n.account(&acct(0).address(), None).unwrap().balance == before + 20_000)
    });
    assert!(net
        .node(0)
        .chain()
        .validators()
        .unwrap()
        .iter()
        .all(|v| v.address != newcomer.address()));
    assert!(ChainReader::new(net.node(4).chain().clone())
        .validator(&newcomer.address())
        .unwrap()
        .unbonding
        .is_empty());
    let h = net.min_height();
    wait_for("blocks after it left", 60, || net.min_height() >= h + 2);
    net.assert_agreement();
}

/// One validator's BFT engine over a real chain in RocksDB, driven by hand: the test signs the
/// other validators' messages and reads what the engine sends.
struct Rig {
    sink: std::sync::Arc<batara_core::consensus::BlockSink>,
    dir: tempfile::TempDir,
    me: u8,
    engine: Option<batara_core::consensus::bft::BftEngine>,
    out: Option<tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>>,
}

impl Rig {
    fn new(me: u8) -> Self {
        use batara_core::storage::{RocksStore, StorageConfig};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let store = RocksStore::open(&dir.path().join("db"), &StorageConfig::default()).unwrap();
        let chain = Arc::new(batara_core::app::open_chain(Arc::new(store), &genesis(4)).unwrap());
        let mempool = Arc::new(batara_core::mempool::Mempool::new(
            Default::default(),
            "bft-test".into(),
            Arc::new(chain.registry().clone()),
        ));
        let sink = Arc::new(batara_core::consensus::BlockSink::new(
            chain,
            mempool,
            tokio::sync::broadcast::channel(16).0,
        ));
        let mut rig = Rig {
            sink,
            dir,
            me,
            engine: None,
            out: None,
        };
        rig.start();
        rig
    }

    /// Starts (or restarts) the engine on the same chain, guard file and WAL.
    fn start(&mut self) {
        use batara_core::consensus::bft::{BftEngine, BftSetup, BftTimeouts};
        use batara_core::validator::{LocalSigner, Signer};
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        // Long timeouts: the engine moves only on the messages the test sends.
        let timeouts = BftTimeouts {
            propose_ms: 60_000,
            prevote_ms: 60_000,
            precommit_ms: 60_000,
            ..Default::default()
        };
        let engine = BftEngine::start(
            self.sink.clone(),
            BftSetup {
                signer: Some(std::sync::Arc::new(LocalSigner(validator_key(self.me)))
                    as std::sync::Arc<dyn Signer>),
                guard_path: self.dir.path().join("sign_state.json"),
                wal_path: self.dir.path().join("consensus.wal"),
                timeouts,
                clock: Box::new(batara_core::consensus::SystemClock),
                outbox: tx,
            },
        )
        .unwrap();
        self.engine = Some(engine);
        self.out = Some(rx);
    }

    fn stop(&mut self) {
        use batara_core::consensus::ConsensusEngine;
        if let Some(e) = self.engine.take() {
            e.stop();
        }
    }

    fn inject(&self, m: &batara_core::consensus::bft::ConsensusMsg) {
        use batara_core::consensus::{ConsensusEngine, MessageVerdict};
        let verdict = self
            .engine
            .as_ref()
            .unwrap()
            .network_message(&borsh::to_vec(m).unwrap());
        assert_eq!(verdict, MessageVerdict::Accept, "{m:?}");
    }

    /// Waits for this validator's vote of `kind` in `round`, and returns its block.
    fn own_vote(
        &mut self,
        kind: batara_core::types::VoteKind,
        round: u32,
    ) -> Option<batara_core::types::Hash> {
        use batara_core::consensus::bft::ConsensusMsg;
        let me = validator_key(self.me).address();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            match self.out.as_mut().unwrap().try_recv() {
                Ok(bytes) => {
                    if let Ok(ConsensusMsg::Vote(v)) = borsh::from_slice(&bytes) {
                        if v.validator == me && v.kind == kind && v.round == round {
                            return v.block_hash;
                        }
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        panic!("validator {} sent no {kind:?} in round {round}", self.me);
    }
}

fn signed_vote(
    i: u8,
    kind: batara_core::types::VoteKind,
    round: u32,
    block: Option<batara_core::types::Hash>,
) -> batara_core::consensus::bft::ConsensusMsg {
    batara_core::consensus::bft::ConsensusMsg::Vote(batara_core::types::Vote::new_signed(
        &validator_key(i),
        "bft-test",
        kind,
        1,
        round,
        block,
    ))
}

/// A block of height 1 proposed by validator `i` in `round`, with its signed proposal.
fn signed_proposal(
    rig: &Rig,
    i: u8,
    round: u32,
) -> (
    batara_core::consensus::bft::ConsensusMsg,
    batara_core::types::Hash,
) {
    let k = validator_key(i);
    let now = batara_core::consensus::Clock::now_ms(&batara_core::consensus::SystemClock);
    let (ex, _) = rig
        .sink
        .chain()
        .build_block(&[], k.address(), now + u64::from(round))
        .unwrap();
    let hash = ex.block.hash();
    let proposal = batara_core::types::Proposal::new_signed(&k, "bft-test", 1, round, None, hash);
    let m = batara_core::consensus::bft::ConsensusMsg::Proposal {
        proposal,
        block: Box::new(ex.block),
    };
    (m, hash)
}

/// Issue 10, part 3: a validator that precommitted block B (so it is locked on B), then was
/// stopped, must after its restart still refuse to prevote another block B' proposed in a later
/// round without a proof of lock — Tendermint's safety rests on it. The lock comes back from the
/// consensus WAL: the same restart with the WAL file deleted prevotes B' (the control).
#[test]
fn a_restarted_validator_keeps_its_lock_from_the_consensus_wal() {
    use batara_core::consensus::bft::BftValidatorSet;
    use batara_core::types::VoteKind::{Precommit, Prevote};
    let infos: Vec<_> = genesis(4)
        .validators
        .iter()
        .map(|v| batara_core::types::ValidatorInfo {
            address: v.pubkey.address(),
            pubkey: v.pubkey,
            power: v.power,
        })
        .collect();
    let schedule = BftValidatorSet::new(infos).unwrap().schedule().clone();
    let index = |round| {
        (0..4u8)
            .find(|i| validator_key(*i).address() == schedule.proposer_at_round(round))
            .unwrap()
    };
    let (p0, p1) = (index(0), index(1));
    let me = (0..4u8).find(|i| *i != p0 && *i != p1).unwrap();
    let other = (0..4u8).find(|i| ![p0, p1, me].contains(i)).unwrap();

    for keep_wal in [true, false] {
        let mut rig = Rig::new(me);
        // Round 0: p0 proposes B; this validator prevotes it, sees a polka, precommits B.
        let (proposal, b) = signed_proposal(&rig, p0, 0);
        rig.inject(&proposal);
        assert_eq!(rig.own_vote(Prevote, 0), Some(b));
        rig.inject(&signed_vote(p0, Prevote, 0, Some(b)));
        rig.inject(&signed_vote(p1, Prevote, 0, Some(b)));
        assert_eq!(rig.own_vote(Precommit, 0), Some(b), "locked on B");

        rig.stop();
        if !keep_wal {
            std::fs::remove_file(rig.dir.path().join("consensus.wal")).unwrap();
        }
        rig.start();
        if keep_wal {
            // Its own precommit of the height is sent again at once.
            assert_eq!(rig.own_vote(Precommit, 0), Some(b));
        }
        // Two validators move to round 1; p1 proposes another block B'.
        rig.inject(&signed_vote(p1, Prevote, 1, None));
        rig.inject(&signed_vote(other, Prevote, 1, None));
        let (proposal, b2) = signed_proposal(&rig, p1, 1);
        assert_ne!(b, b2);
        rig.inject(&proposal);
        let prevote = rig.own_vote(Prevote, 1);
        if keep_wal {
            assert_eq!(prevote, None, "locked on B: prevotes nil, not B'");
        } else {
            assert_eq!(
                prevote,
                Some(b2),
                "the control: without its WAL it forgot the lock"
            );
        }
        rig.stop();
    }
}

/// A validator of a network without a data directory would get a fresh guard and WAL at every
/// start; it is refused, with the reason.
#[test]
fn a_network_validator_without_a_data_directory_is_refused() {
    let mut config = config(std::path::Path::new("/unused"), vec![]);
    config.data_dir = None;
    config.storage.ephemeral = true;
    let err = Node::start(NodeOptions {
        config,
        genesis: genesis(4),
        validator_key: Some(validator_key(0)),
    })
    .err()
    .expect("refused");
    assert!(err.to_string().contains("needs a data directory"), "{err}");
}

/// Issue 11's determinism check: four validators take a random mix of contract transactions
/// (token transfers, approvals, transfer_from, counter increments, overdrafts that fail, native
/// transfers) submitted to random nodes; every node has the same header — so the same state root
/// — at every height, and a replica that replays the blocks alone reaches the same roots.
#[test]
fn random_contract_calls_with_three_seeds_give_the_same_roots_everywhere() {
    use crate::contracts::{call, instantiate, json_bytes, token_wasm, upload, COUNTER};
    use batara_core::app::open_chain;
    use batara_core::modules::vm::contract_address;
    use batara_core::storage::{RocksStore, StorageConfig};
    use batara_core::types::{TxBody, TxKind, TxStatus};
    use serde_json::json;
    use std::sync::Arc;

    const GAS: u64 = 3_000_000;
    for seed in [1u64, 2, 3] {
        let g = genesis_with(4, |g| {
            for a in &mut g.accounts {
                a.balance = 10u128.pow(24);
            }
        });
        let net = Net::with_genesis(4, g.clone());
        let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move |m: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % m
        };
        let mut nonces = [0u64; 4];
        let mut hashes = Vec::new();
        let mut send = |from: u32, kind: TxKind, node: usize| {
            let t = TxBody {
                chain_id: "bft-test".into(),
                signer: acct(from).public_key(),
                nonce: nonces[from as usize],
                fee: 1,
                kind,
            }
            .sign(&acct(from));
            nonces[from as usize] += 1;
            net.node(node).submit(&t.to_bytes()).unwrap()
        };
        let wasm = token_wasm();
        let token_hash = batara_core::crypto::sha256(&wasm);
        let counter_code = wat::parse_str(COUNTER).unwrap();
        let counter_hash = batara_core::crypto::sha256(&counter_code);
        let creator = acct(0).address();
        let token = contract_address(&creator, &token_hash, b"t");
        let counter = contract_address(&creator, &counter_hash, b"c");
        let supply = json!({ "name": "T", "symbol": "T", "supply": "1000000" });
        hashes.push(send(0, upload(wasm), 0));
        hashes.push(send(0, upload(counter_code), 0));
        hashes.push(send(
            0,
            instantiate(token_hash, &json_bytes(supply), b"t", 0),
            0,
        ));
        hashes.push(send(0, instantiate(counter_hash, &[], b"c", 0), 0));
        for to in 1..4 {
            let args = json!({ "to": acct(to).address(), "amount": "100000" });
            hashes.push(send(
                0,
                call(token, "transfer", &json_bytes(args), 0, GAS),
                0,
            ));
        }
        // The contracts exist before anyone calls them.
        net.wait_for_txs("the setup", &hashes, 60);
        for _ in 0..60 {
            let from = next(4) as u32;
            let other = acct(next(4) as u32).address();
            let amount = next(150_000).to_string();
            let kind = match next(6) {
                0 => call(counter, "increment", &[], 0, GAS),
                1 => call(
                    token,
                    "approve",
                    &json_bytes(json!({ "spender": other, "amount": amount })),
                    0,
                    GAS,
                ),
                2 => call(
                    token,
                    "transfer_from",
                    &json_bytes(
                        json!({ "from": other, "to": acct(from).address(), "amount": amount }),
                    ),
                    0,
                    GAS,
                ),
                3 => TxKind::Transfer {
                    to: other,
                    amount: u128::from(next(1_000)),
                },
                // Amounts up to 150,000 of balances near 100,000: some overdraw and fail.
                _ => call(
                    token,
                    "transfer",
                    &json_bytes(json!({ "to": other, "amount": amount })),
                    0,
                    GAS,
                ),
            };
            hashes.push(send(from, kind, next(4) as usize));
            if next(4) == 0 {
                std::thread::sleep(Duration::from_millis(30));
            }
        }
        net.wait_for_txs("every tx", &hashes, 90);
        let h = net.min_height();
        wait_for("one more block", 30, || net.min_height() > h);
        net.assert_agreement();

        // The mix really ran contracts, both ways.
        let n0 = net.node(0);
        let receipts: Vec<_> = hashes
            .iter()
            .map(|h| n0.transaction(h).unwrap().receipt)
            .collect();
        let failed = receipts
            .iter()
            .filter(|r| r.status == TxStatus::Failed)
            .count();
        for r in &receipts {
            if let Some(e) = &r.error {
                assert!(
                    e.contains("allowance exceeded") || e.contains("insufficient balance"),
                    "seed {seed}: only overdrafts fail: {e}"
                );
            }
        }
        assert!(
            failed > 0 && failed < receipts.len() - 10,
            "seed {seed}: {failed} of {} failed",
            receipts.len()
        );
        assert!(receipts[..7].iter().all(|r| r.status == TxStatus::Success));

        // A replica from blocks alone reaches every root.
        let replica = open_chain(
            Arc::new(RocksStore::ephemeral(&StorageConfig::default()).unwrap()),
            &g,
        )
        .unwrap();
        let chain = n0.chain();
        for height in 1..=chain.head().header.height {
            let block = chain.block(height).unwrap().unwrap();
            let commit = chain.commit_at(height).unwrap().unwrap();
            let cb = replica.import(&block, commit).unwrap();
            assert_eq!(
                cb.block.header.state_root, block.header.state_root,
                "seed {seed}, height {height}"
            );
        }
    }
}
