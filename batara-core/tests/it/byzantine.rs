//! Issue 10, part 4: one validator of four (a quarter of the power) is driven by an adversary that
//! can sign anything, and speaks to the honest nodes as a bare libp2p peer ([`Rogue`]). For each
//! behaviour the three honest validators keep finalizing — the mean block interval stays within a
//! stated bound of the interval with the fourth validator simply offline — agree on every header,
//! keep bounded memory (each node's [`BftFootprint`] sampled every 50 ms stays within the bounds
//! its docs state, which do not grow with what the adversary sends), and ban the peer whose
//! messages fail their checks.

use std::time::{Duration, Instant};

use batara_core::api::NodeApi;
use batara_core::consensus::bft::{
    BftFootprint, ConsensusMsg, FUTURE_ROUNDS_PER_VALIDATOR, MAX_BUFFERED_PER_VALIDATOR,
    MAX_PENDING_EVIDENCE, MAX_PROPOSALS_PER_ROUND, MAX_ROUND, MAX_VOTES_PER_SLOT,
    NEXT_HEIGHT_BLOCKS, NEXT_HEIGHT_PER_PROPOSER,
};
use batara_core::node::NodeHandle;
use batara_core::types::{DuplicateVoteEvidence, Hash, Proposal, Vote, VoteKind};

use crate::bft::{genesis_with, validator_key, Net};
use crate::rogue::Rogue;

const CHAIN: &str = "bft-test";
/// Heights measured per behaviour.
const HEIGHTS: u64 = 8;

/// The adversary: validator 3's key, and a peer connected to honest node 0.
struct Adversary {
    rogue: Rogue,
}

impl Adversary {
    fn connect(net: &Net) -> Self {
        let n0 = net.node(0);
        let addr = n0.network().unwrap().listen_addrs()[0].to_string();
        Self {
            rogue: Rogue::connect(&addr, CHAIN, n0.info().genesis_hash, &["consensus"]),
        }
    }

    fn send(&self, m: &ConsensusMsg) {
        self.rogue.publish("consensus", borsh::to_vec(m).unwrap());
    }

    fn send_raw(&self, bytes: Vec<u8>) {
        self.rogue.publish("consensus", bytes);
    }
}

fn vote(kind: VoteKind, height: u64, round: u32, block: Option<Hash>) -> Vote {
    Vote::new_signed(&validator_key(3), CHAIN, kind, height, round, block)
}

fn hash_of(tag: u64) -> Hash {
    batara_core::crypto::sha256(&tag.to_le_bytes())
}

/// A valid block for the next height of `node`'s chain, proposed by the adversary in `round`.
fn proposal(node: &NodeHandle, round: u32, salt: u64) -> ConsensusMsg {
    proposal_ahead(node, round, salt, 0)
}

/// [`proposal`], with the block's height (and the proposal's) raised by `ahead`.
fn proposal_ahead(node: &NodeHandle, round: u32, salt: u64, ahead: u64) -> ConsensusMsg {
    let k = validator_key(3);
    let now = batara_core::consensus::Clock::now_ms(&batara_core::consensus::SystemClock);
    let (mut ex, _) = node
        .chain()
        .build_block(&[], k.address(), now + salt)
        .unwrap();
    ex.block.header.height += ahead;
    let (height, hash) = (ex.block.header.height, ex.block.hash());
    ConsensusMsg::Proposal {
        proposal: Proposal::new_signed(&k, CHAIN, height, round, None, hash),
        block: Box::new(ex.block),
    }
}

/// Validators of the genesis (three honest, one adversary).
const VALIDATORS: usize = 4;

/// Checks one node's footprint against the bounds [`BftFootprint`] documents, for a network of
/// [`VALIDATORS`] with blocks of at most `max_block_bytes`.
fn assert_bounded(f: &BftFootprint, max_block_bytes: u64, what: &str) {
    let round = f.round as usize;
    let bounds = [
        (
            "rounds",
            f.rounds,
            round + 1 + VALIDATORS * FUTURE_ROUNDS_PER_VALIDATOR,
        ),
        (
            "votes",
            f.votes,
            f.rounds * VALIDATORS * 2 * MAX_VOTES_PER_SLOT,
        ),
        ("proposals", f.proposals, f.rounds * MAX_PROPOSALS_PER_ROUND),
        (
            "next-height messages",
            f.next_height_messages,
            VALIDATORS * MAX_BUFFERED_PER_VALIDATOR,
        ),
        (
            "blocks",
            f.blocks,
            (round + 2) * MAX_PROPOSALS_PER_ROUND + 1,
        ),
        ("executed blocks", f.executed, f.blocks),
        (
            "next-height proposals",
            f.next_height_proposals,
            VALIDATORS * NEXT_HEIGHT_PER_PROPOSER,
        ),
        ("evidence", f.evidence, VALIDATORS.min(MAX_PENDING_EVIDENCE)),
    ];
    for (name, n, bound) in bounds {
        assert!(n <= bound, "{what}: {n} {name} held, bound {bound} ({f:?})");
    }
    let bytes = [
        (
            "block bytes",
            f.block_bytes,
            f.blocks as u64 * max_block_bytes,
        ),
        (
            "next-height bytes",
            f.next_height_bytes,
            NEXT_HEIGHT_BLOCKS * max_block_bytes,
        ),
    ];
    for (name, n, bound) in bytes {
        assert!(n <= bound, "{what}: {n} {name} held, bound {bound} ({f:?})");
    }
}

/// The most each honest node held during a behaviour.
#[derive(Default)]
struct Peak {
    rounds: usize,
    votes: usize,
    blocks: usize,
    next_height_bytes: u64,
}

/// Runs `attack` (given the next height of node 0) every 50 ms until every honest node has
/// finalized [`HEIGHTS`] more blocks, checking every node's footprint each time; returns the
/// mean block interval and the peak footprint.
fn measure(net: &Net, what: &str, mut attack: impl FnMut(u64)) -> (Duration, Peak) {
    let start = net.min_height();
    let max_block_bytes = net.node(0).chain().spec().rules.max_block_bytes;
    let mut peak = Peak::default();
    let t0 = Instant::now();
    while net.min_height() < start + HEIGHTS {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "{what}: the honest validators stalled at {} (from {start})",
            net.min_height()
        );
        attack(net.height(0) + 1);
        for n in net.live() {
            let f = n.consensus_footprint().expect("a BFT node's footprint");
            assert_bounded(&f, max_block_bytes, what);
            peak.rounds = peak.rounds.max(f.rounds);
            peak.votes = peak.votes.max(f.votes);
            peak.blocks = peak.blocks.max(f.blocks);
            peak.next_height_bytes = peak.next_height_bytes.max(f.next_height_bytes);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (t0.elapsed() / HEIGHTS as u32, peak)
}

#[test]
fn one_byzantine_validator_of_four_cannot_stall_or_split_the_honest_three() {
    // Three nodes with validator keys 0..2 of a four-validator genesis.
    // The fourth validator never signs a commit: downtime must not jail it before the last
    // behaviour (equivocation, which must end in its punishment for double signing).
    let net = Net::with_genesis(
        3,
        genesis_with(4, |g| {
            g.params.staking.downtime_window = 1_000;
            g.params.staking.downtime_max_missed = 900;
        }),
    );
    crate::common::wait_for("height 2", 60, || net.min_height() >= 2);
    let banned = || net.node(0).network().unwrap().banned();
    let mut report = vec![];

    // The honest figure: the fourth validator offline (its rounds time out).
    let what = "offline (baseline)";
    let (offline, peak) = measure(&net, what, |_| {});
    report.push((what, offline, peak));
    // The bound each behaviour must stay within.
    let bound = offline * 2 + Duration::from_millis(500);

    // Votes for far rounds of the current height (at most MAX_ROUND: signed, accepted, kept in
    // bounded memory) and for far heights (ignored), many per burst; proposals with valid blocks
    // for the last round allowed (never executed: not the next round) and for a far height.
    let adv = Adversary::connect(&net);
    let mut round = 0u32;
    let n0 = net.node(0).clone();
    let what = "far rounds and heights";
    let (t, peak) = measure(&net, what, |h| {
        adv.send(&proposal(&n0, MAX_ROUND, u64::from(round)));
        adv.send(&proposal_ahead(&n0, 0, u64::from(round), 1_000));
        for _ in 0..20 {
            round = (round + 97) % MAX_ROUND;
            adv.send(&ConsensusMsg::Vote(vote(
                VoteKind::Prevote,
                h,
                round,
                Some(hash_of(u64::from(round))),
            )));
            adv.send(&ConsensusMsg::Vote(vote(
                VoteKind::Precommit,
                h + 1_000,
                round,
                None,
            )));
        }
    });
    report.push((what, t, peak));
    assert_eq!(
        banned(),
        0,
        "signed messages within bounds cost the sender nothing"
    );

    // Many distinct valid blocks for rounds 0 and 1 of every height (executed only where the
    // adversary is the round's proposer, and then at most MAX_PROPOSALS_PER_ROUND per round).
    let mut salt = 0;
    let what = "many blocks per round";
    let (t, peak) = measure(&net, what, |_| {
        for r in 0..2 {
            salt += 1;
            adv.send(&proposal(&n0, r, salt));
        }
    });
    report.push((what, t, peak));
    assert_eq!(
        banned(),
        0,
        "valid proposals, even many, cost the proposer nothing"
    );
    net.assert_agreement();

    // Bad signatures: the sender is banned at the first one.
    let adv = Adversary::connect(&net);
    let before = banned();
    let what = "bad signatures";
    let (t, peak) = measure(&net, what, |h| {
        let mut v = vote(VoteKind::Prevote, h, 0, Some(hash_of(h)));
        v.signature.0[0] ^= 1;
        adv.send(&ConsensusMsg::Vote(v));
    });
    report.push((what, t, peak));
    assert_eq!(banned(), before + 1, "the forger is banned");

    // Malformed messages and rounds past MAX_ROUND: banned.
    let adv = Adversary::connect(&net);
    let before = banned();
    let what = "malformed and past MAX_ROUND";
    let (t, peak) = measure(&net, what, |h| {
        adv.send_raw(vec![0xff; 1_000]);
        adv.send(&ConsensusMsg::Vote(vote(
            VoteKind::Prevote,
            h,
            MAX_ROUND + 1,
            None,
        )));
    });
    report.push((what, t, peak));
    assert_eq!(banned(), before + 1, "the sender of garbage is banned");

    // Oversized messages, past the 20 MiB gossip limit: refused by the codec on their announced
    // length (nothing of them is buffered or decoded), so never relayed — a second peer that
    // listens hears none of them.
    let adv = Adversary::connect(&net);
    let listener = Adversary::connect(&net);
    let limit = batara_core::p2p::P2pConfig::default().max_message_bytes;
    let mut tick = 0;
    let what = "oversized messages";
    let (t, peak) = measure(&net, what, |_| {
        if tick % 10 == 0 {
            adv.send_raw(vec![0xab; limit + 1024]);
        }
        tick += 1;
    });
    report.push((what, t, peak));
    assert!(
        listener
            .rogue
            .heard("consensus")
            .iter()
            .all(|m| m.len() <= limit),
        "an oversized message was relayed"
    );

    // Evidence spam: pairs that do not verify (the second vote's signature is broken).
    let adv = Adversary::connect(&net);
    let before = banned();
    let what = "evidence that does not verify";
    let (t, peak) = measure(&net, what, |h| {
        let a = vote(VoteKind::Prevote, h.saturating_sub(1), 0, Some(hash_of(1)));
        let mut b = vote(VoteKind::Prevote, h.saturating_sub(1), 0, Some(hash_of(2)));
        b.signature.0[1] ^= 1;
        adv.send(&ConsensusMsg::Evidence(DuplicateVoteEvidence::new(a, b)));
    });
    report.push((what, t, peak));
    assert_eq!(banned(), before + 1, "the evidence forger is banned");

    // Equivocation: two prevotes and two precommits for different blocks in each round. The
    // honest nodes punish it (evidence in a block: slashed, tombstoned, out of the set) and go on.
    let adv = Adversary::connect(&net);
    let v3 = validator_key(3).address();
    let what = "equivocating votes";
    let (t, peak) = measure(&net, what, |h| {
        for r in 0..2 {
            for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                adv.send(&ConsensusMsg::Vote(vote(
                    kind,
                    h,
                    r,
                    Some(hash_of(h * 10 + 1)),
                )));
                adv.send(&ConsensusMsg::Vote(vote(
                    kind,
                    h,
                    r,
                    Some(hash_of(h * 10 + 2)),
                )));
            }
        }
    });
    report.push((what, t, peak));
    crate::common::wait_for("the equivocator tombstoned on every node", 60, || {
        net.live()
            .all(|n| n.validator(&v3).is_ok_and(|d| d.record.tombstoned))
    });

    net.assert_agreement();
    eprintln!("mean block interval over {HEIGHTS} heights, one validator of four Byzantine:");
    eprintln!(
        "  {:<32} {:>9} {:>6} {:>5} {:>6} {:>16}",
        "behaviour", "interval", "rounds", "votes", "blocks", "next-height bytes"
    );
    for (what, t, p) in &report {
        eprintln!(
            "  {what:<32} {:>6} ms {:>6} {:>5} {:>6} {:>16}",
            t.as_millis(),
            p.rounds,
            p.votes,
            p.blocks,
            p.next_height_bytes
        );
    }
    for (what, t, _) in &report {
        assert!(
            *t <= bound,
            "{what}: {t:?} per block, bound {bound:?} (offline {offline:?})"
        );
    }
}
