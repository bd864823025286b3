//! Tests of the state machine: scripted single-node checks of each rule, and in-process networks
//! of state machines under a seeded random scheduler (agreement, termination, Byzantine
//! proposers and voters, crashes, silent validators).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::crypto::{self, Keypair};
use crate::types::{Commit, DuplicateVoteEvidence, Hash, Proposal, ValidatorInfo, Vote, VoteKind};
use crate::validator::guard::SignGuard;
use crate::validator::{LocalSigner, Signer};

const CHAIN: &str = "bft-test";

// ---------------------------------------------------------------------------------------------
// Helpers

fn key(i: usize) -> Keypair {
    let mut s = [0xb7u8; 32];
    s[0] = i as u8;
    Keypair::from_seed(&s)
}

fn infos(powers: &[u64]) -> Vec<ValidatorInfo> {
    powers
        .iter()
        .enumerate()
        .map(|(i, p)| ValidatorInfo {
            address: key(i).address(),
            pubkey: key(i).public_key(),
            power: *p,
        })
        .collect()
}

fn vote(k: &Keypair, kind: VoteKind, height: u64, round: u32, block: Option<Hash>) -> Vote {
    Vote::new_signed(k, CHAIN, kind, height, round, block)
}

fn proposal(k: &Keypair, height: u64, round: u32, pol: Option<u32>, block: Hash) -> Proposal {
    Proposal::new_signed(k, CHAIN, height, round, pol, block)
}

fn params(me: Option<&Keypair>) -> BftParams {
    BftParams {
        chain_id: CHAIN.into(),
        address: me.map(|k| k.address()),
        timeouts: BftTimeouts::default(),
    }
}

/// Checks a commit as `Chain::verify_commit` does.
fn check_commit(set: &BftValidatorSet, commit: &Commit) {
    let msg = Commit::sign_message(CHAIN, commit.height, commit.round, &commit.block_hash);
    let mut seen = BTreeSet::new();
    let mut power = 0u64;
    for s in &commit.signatures {
        let v = set.get(&s.validator).expect("commit signer in the set");
        assert!(seen.insert(s.validator), "signed twice");
        crypto::verify(&v.pubkey, &msg, &s.signature).expect("commit signature");
        power += v.power;
    }
    assert!(
        u128::from(power) * 3 > u128::from(set.total_power()) * 2,
        "commit has {power} of {}",
        set.total_power()
    );
}

fn has_vote(out: &[Output], kind: VoteKind, round: u32, block: Option<Hash>) -> bool {
    out.iter().any(|o| {
        matches!(o, Output::SignAndBroadcastVote { kind: k, round: r, block_hash: b, .. }
            if *k == kind && *r == round && *b == block)
    })
}

fn any_vote(out: &[Output]) -> bool {
    out.iter()
        .any(|o| matches!(o, Output::SignAndBroadcastVote { .. }))
}

fn has_timeout(out: &[Output], kind: TimeoutKind, round: u32) -> bool {
    out.iter().any(
        |o| matches!(o, Output::ScheduleTimeout { kind: k, round: r, .. } if *k == kind && *r == round),
    )
}

/// Four equal validators; returns the set, the keys, and the index of a validator that proposes
/// none of rounds 0, 1, 2 at height 1 (with the proposers of those rounds).
fn four() -> (BftValidatorSet, Vec<Keypair>, usize, [usize; 3]) {
    let set = BftValidatorSet::new(infos(&[1, 1, 1, 1])).unwrap();
    let keys: Vec<Keypair> = (0..4).map(key).collect();
    let idx = |a| keys.iter().position(|k| k.address() == a).unwrap();
    let p = [0, 1, 2].map(|r| idx(set.schedule().proposer_at_round(r)));
    let me = (0..4).find(|i| !p.contains(i)).unwrap();
    (set, keys, me, p)
}

// ---------------------------------------------------------------------------------------------
// Scripted single-node checks

#[test]
fn proposer_builds_and_proposes_others_wait() {
    let (set, keys, me, p) = four();
    let mut sm = BftState::new(params(Some(&keys[p[0]])));
    let out = sm.handle(Input::StartHeight {
        height: 1,
        validators: set.clone(),
    });
    assert!(out.contains(&Output::BuildBlock {
        height: 1,
        round: 0
    }));
    let block = Hash([7; 32]);
    let out = sm.handle(Input::BlockBuilt {
        height: 1,
        round: 0,
        block_hash: block,
    });
    assert_eq!(
        out,
        vec![Output::SignAndBroadcastProposal {
            height: 1,
            round: 0,
            pol_round: None,
            block_hash: block
        }]
    );
    // A second answer (or one for another round) proposes nothing more.
    assert!(sm
        .handle(Input::BlockBuilt {
            height: 1,
            round: 0,
            block_hash: Hash([8; 32])
        })
        .is_empty());

    let mut other = BftState::new(params(Some(&keys[me])));
    let out = other.handle(Input::StartHeight {
        height: 1,
        validators: set,
    });
    assert_eq!(
        out,
        vec![Output::ScheduleTimeout {
            kind: TimeoutKind::Propose,
            height: 1,
            round: 0,
            duration: Duration::from_secs(3)
        }]
    );
    // A node that is not a validator follows without asking to sign anything.
    let mut observer = BftState::new(params(None));
    observer.handle(Input::StartHeight {
        height: 1,
        validators: four().0,
    });
    let out = observer.handle(Input::Proposal {
        proposal: proposal(&keys[p[0]], 1, 0, None, block),
        block_valid: true,
    });
    assert!(!any_vote(&out));
    assert_eq!(observer.step(), Step::Prevote);
}

#[test]
fn prevote_rules_validity_and_timeout() {
    let (set, keys, me, p) = four();
    let start = |sm: &mut BftState| {
        sm.handle(Input::StartHeight {
            height: 1,
            validators: set.clone(),
        })
    };
    let a = Hash([1; 32]);
    // Line 22, valid: prevote for it.
    let mut sm = BftState::new(params(Some(&keys[me])));
    start(&mut sm);
    let out = sm.handle(Input::Proposal {
        proposal: proposal(&keys[p[0]], 1, 0, None, a),
        block_valid: true,
    });
    assert!(has_vote(&out, VoteKind::Prevote, 0, Some(a)), "{out:?}");
    assert_eq!(sm.step(), Step::Prevote);
    // Line 22, invalid block: prevote nil.
    let mut sm = BftState::new(params(Some(&keys[me])));
    start(&mut sm);
    let out = sm.handle(Input::Proposal {
        proposal: proposal(&keys[p[0]], 1, 0, None, a),
        block_valid: false,
    });
    assert!(has_vote(&out, VoteKind::Prevote, 0, None), "{out:?}");
    // A proposal from a validator that is not the round's proposer, or with pol_round >= round,
    // or a bad signature, is ignored.
    let mut sm = BftState::new(params(Some(&keys[me])));
    start(&mut sm);
    assert!(sm
        .handle(Input::Proposal {
            proposal: proposal(&keys[p[1]], 1, 0, None, a),
            block_valid: true
        })
        .is_empty());
    assert!(sm
        .handle(Input::Proposal {
            proposal: proposal(&keys[p[0]], 1, 0, Some(0), a),
            block_valid: true
        })
        .is_empty());
    let mut forged = proposal(&keys[p[0]], 1, 0, None, a);
    forged.block_hash = Hash([2; 32]);
    assert!(sm
        .handle(Input::Proposal {
            proposal: forged,
            block_valid: true
        })
        .is_empty());
    // Line 57: the propose timeout prevotes nil; a stale or repeated one does nothing.
    assert!(sm
        .handle(Input::Timeout {
            kind: TimeoutKind::Propose,
            height: 1,
            round: 3
        })
        .is_empty());
    let out = sm.handle(Input::Timeout {
        kind: TimeoutKind::Propose,
        height: 1,
        round: 0,
    });
    assert!(has_vote(&out, VoteKind::Prevote, 0, None), "{out:?}");
    assert!(sm
        .handle(Input::Timeout {
            kind: TimeoutKind::Propose,
            height: 1,
            round: 0
        })
        .is_empty());
}

/// Lines 36 (lock), 47, 65, 22 while locked, 34, 61, 55 (round skip), 28 (unlock by a newer
/// polka) and 49 (decide with precommits of an earlier round).
#[test]
fn lock_unlock_skip_and_decide_in_an_earlier_round() {
    let (set, keys, me, p) = four();
    let others: Vec<usize> = (0..4).filter(|i| *i != me).collect();
    let mut sm = BftState::new(params(Some(&keys[me])));
    sm.handle(Input::StartHeight {
        height: 1,
        validators: set.clone(),
    });
    let a = Hash([0xa; 32]);
    let b = Hash([0xb; 32]);
    sm.handle(Input::Proposal {
        proposal: proposal(&keys[p[0]], 1, 0, None, a),
        block_valid: true,
    });
    // Own prevote plus one: 2 of 4, no quorum.
    sm.handle(Input::Vote(vote(
        &keys[me],
        VoteKind::Prevote,
        1,
        0,
        Some(a),
    )));
    let out = sm.handle(Input::Vote(vote(
        &keys[others[0]],
        VoteKind::Prevote,
        1,
        0,
        Some(a),
    )));
    assert!(out.is_empty(), "{out:?}");
    // Third: lock and precommit (line 36).
    let out = sm.handle(Input::Vote(vote(
        &keys[others[1]],
        VoteKind::Prevote,
        1,
        0,
        Some(a),
    )));
    assert!(has_vote(&out, VoteKind::Precommit, 0, Some(a)), "{out:?}");
    assert_eq!(sm.locked(), Some((a, 0)));
    assert_eq!(sm.valid_value(), Some((a, 0)));
    assert_eq!(sm.step(), Step::Precommit);
    // Precommits: own and one other for A, one nil: 2f+1 of any kind -> timeout (line 47).
    sm.handle(Input::Vote(vote(
        &keys[me],
        VoteKind::Precommit,
        1,
        0,
        Some(a),
    )));
    sm.handle(Input::Vote(vote(
        &keys[others[0]],
        VoteKind::Precommit,
        1,
        0,
        Some(a),
    )));
    let out = sm.handle(Input::Vote(vote(
        &keys[others[1]],
        VoteKind::Precommit,
        1,
        0,
        None,
    )));
    assert!(has_timeout(&out, TimeoutKind::Precommit, 0), "{out:?}");
    assert!(!sm.is_decided());
    // Line 65: next round, with a longer propose timeout.
    let out = sm.handle(Input::Timeout {
        kind: TimeoutKind::Precommit,
        height: 1,
        round: 0,
    });
    assert_eq!(sm.round(), 1);
    assert!(out.contains(&Output::ScheduleTimeout {
        kind: TimeoutKind::Propose,
        height: 1,
        round: 1,
        duration: Duration::from_millis(3_500)
    }));
    // Round 1: no proposal arrives; the propose timeout prevotes nil. (A fresh proposal for B
    // would also get nil: we are locked on A. See `locked_node_prevotes_nil_for_other_blocks`.)
    sm.handle(Input::Timeout {
        kind: TimeoutKind::Propose,
        height: 1,
        round: 1,
    });
    sm.handle(Input::Vote(vote(&keys[me], VoteKind::Prevote, 1, 1, None)));
    // The three others prevote B in round 1 (a polka for B we hold no proposal for): line 34.
    let mut out = Vec::new();
    for i in &others {
        out.extend(sm.handle(Input::Vote(vote(
            &keys[*i],
            VoteKind::Prevote,
            1,
            1,
            Some(b),
        ))));
    }
    assert!(has_timeout(&out, TimeoutKind::Prevote, 1), "{out:?}");
    assert!(!has_vote(&out, VoteKind::Precommit, 1, Some(b)));
    assert_eq!(sm.locked(), Some((a, 0)));
    // Line 61.
    let out = sm.handle(Input::Timeout {
        kind: TimeoutKind::Prevote,
        height: 1,
        round: 1,
    });
    assert!(has_vote(&out, VoteKind::Precommit, 1, None), "{out:?}");
    // Line 55: round 2's proposer re-proposes B with pol_round 1 (1 of 4: not enough to skip),
    // then another validator's round-2 prevote makes f+1.
    let out = sm.handle(Input::Proposal {
        proposal: proposal(&keys[p[2]], 1, 2, Some(1), b),
        block_valid: true,
    });
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(sm.round(), 1);
    let skipper = *others.iter().find(|i| **i != p[2]).unwrap();
    let out = sm.handle(Input::Vote(vote(
        &keys[skipper],
        VoteKind::Prevote,
        1,
        2,
        Some(b),
    )));
    assert_eq!(sm.round(), 2);
    // Line 28: locked on A in round 0, and 0 <= pol_round 1: prevote B.
    assert!(has_vote(&out, VoteKind::Prevote, 2, Some(b)), "{out:?}");
    // Line 49: the last precommit for A of round 0 arrives: decided in round 0, though the node
    // is in round 2.
    let out = sm.handle(Input::Vote(vote(
        &keys[others[2]],
        VoteKind::Precommit,
        1,
        0,
        Some(a),
    )));
    let decide = out
        .iter()
        .find_map(|o| match o {
            Output::Decide {
                height,
                round,
                block_hash,
                commit,
            } => Some((*height, *round, *block_hash, commit.clone())),
            _ => None,
        })
        .expect("decided");
    assert_eq!((decide.0, decide.1, decide.2), (1, 0, a));
    assert_eq!(decide.3.signatures.len(), 3);
    check_commit(&set, &decide.3);
    assert!(sm.is_decided());
    // Nothing more happens at this height.
    assert!(sm
        .handle(Input::Timeout {
            kind: TimeoutKind::Propose,
            height: 1,
            round: 2
        })
        .is_empty());
}

#[test]
fn locked_node_prevotes_nil_for_other_blocks() {
    let (set, keys, me, p) = four();
    let others: Vec<usize> = (0..4).filter(|i| *i != me).collect();
    let mut sm = BftState::new(params(Some(&keys[me])));
    sm.handle(Input::StartHeight {
        height: 1,
        validators: set,
    });
    let a = Hash([0xa; 32]);
    let b = Hash([0xb; 32]);
    sm.handle(Input::Proposal {
        proposal: proposal(&keys[p[0]], 1, 0, None, a),
        block_valid: true,
    });
    for i in &others {
        sm.handle(Input::Vote(vote(
            &keys[*i],
            VoteKind::Prevote,
            1,
            0,
            Some(a),
        )));
    }
    assert_eq!(sm.locked(), Some((a, 0)));
    sm.handle(Input::Timeout {
        kind: TimeoutKind::Precommit,
        height: 1,
        round: 0,
    });
    // 2f+1 precommits were never seen, but a precommit timeout of the current round moves on.
    assert_eq!(sm.round(), 1);
    let out = sm.handle(Input::Proposal {
        proposal: proposal(&keys[p[1]], 1, 1, None, b),
        block_valid: true,
    });
    assert!(has_vote(&out, VoteKind::Prevote, 1, None), "{out:?}");
    // The locked value itself, re-proposed, gets a prevote: a fresh state in round 2.
    sm.handle(Input::Timeout {
        kind: TimeoutKind::Precommit,
        height: 1,
        round: 1,
    });
    let out = sm.handle(Input::Proposal {
        proposal: proposal(&keys[p[2]], 1, 2, Some(0), a),
        block_valid: true,
    });
    assert!(has_vote(&out, VoteKind::Prevote, 2, Some(a)), "{out:?}");
    // The others equivocate in round 0 and also prevote B: a polka for B in round 0 (counted
    // per value). Line 28's lockedRound <= vr holds with equality (0 <= 0): a re-proposal of B
    // with pol_round 0 gets a prevote although we are locked on A.
    let mut out = Vec::new();
    for i in &others {
        out.extend(sm.handle(Input::Vote(vote(
            &keys[*i],
            VoteKind::Prevote,
            1,
            0,
            Some(b),
        ))));
    }
    assert_eq!(
        out.iter()
            .filter(|o| matches!(o, Output::Evidence(_)))
            .count(),
        3
    );
    sm.handle(Input::Timeout {
        kind: TimeoutKind::Propose,
        height: 1,
        round: 2,
    });
    sm.handle(Input::Timeout {
        kind: TimeoutKind::Precommit,
        height: 1,
        round: 2,
    });
    assert_eq!(sm.round(), 3);
    let p3 = keys
        .iter()
        .find(|k| k.address() == four().0.schedule().proposer_at_round(3))
        .unwrap();
    let out = sm.handle(Input::Proposal {
        proposal: proposal(p3, 1, 3, Some(0), b),
        block_valid: true,
    });
    assert!(has_vote(&out, VoteKind::Prevote, 3, Some(b)), "{out:?}");
}

/// Line 49 needs valid(v): precommits of everyone for a block the host found invalid decide
/// nothing.
#[test]
fn invalid_block_is_never_decided() {
    let (set, keys, me, p) = four();
    let mut sm = BftState::new(params(Some(&keys[me])));
    sm.handle(Input::StartHeight {
        height: 1,
        validators: set,
    });
    let bad = Hash([0xee; 32]);
    let out = sm.handle(Input::Proposal {
        proposal: proposal(&keys[p[0]], 1, 0, None, bad),
        block_valid: false,
    });
    assert!(has_vote(&out, VoteKind::Prevote, 0, None));
    let mut out = Vec::new();
    for k in &keys {
        out.extend(sm.handle(Input::Vote(vote(k, VoteKind::Prevote, 1, 0, Some(bad)))));
        out.extend(sm.handle(Input::Vote(vote(k, VoteKind::Precommit, 1, 0, Some(bad)))));
    }
    assert!(
        !out.iter().any(|o| matches!(o, Output::Decide { .. })),
        "{out:?}"
    );
    assert!(!sm.is_decided());
    // Nor is it locked on (line 36 needs valid(v) too).
    assert_eq!(sm.locked(), None);
}

#[test]
fn votes_are_checked_counted_once_and_equivocation_reported_once() {
    let (set, keys, me, p) = four();
    let others: Vec<usize> = (0..4).filter(|i| *i != me).collect();
    let (v1, v2, v3) = (others[0], others[1], others[2]);
    let mut sm = BftState::new(params(Some(&keys[me])));
    sm.handle(Input::StartHeight {
        height: 1,
        validators: set.clone(),
    });
    let a = Hash([0xa; 32]);
    let b = Hash([0xb; 32]);
    sm.handle(Input::Proposal {
        proposal: proposal(&keys[p[0]], 1, 0, None, b),
        block_valid: true,
    });
    assert_eq!(sm.step(), Step::Prevote);
    // Not a validator; bad signature; another height: all ignored.
    let outsider = key(99);
    assert!(sm
        .handle(Input::Vote(vote(
            &outsider,
            VoteKind::Prevote,
            1,
            0,
            Some(b)
        )))
        .is_empty());
    // A forged nil prevote "by v2" (its signature is of another vote): if it were stored, v2's
    // real prevote below would be reported as a double vote.
    let mut bad = vote(&keys[v2], VoteKind::Prevote, 1, 0, None);
    bad.signature = vote(&keys[v2], VoteKind::Prevote, 1, 0, Some(a)).signature;
    assert!(sm.handle(Input::Vote(bad)).is_empty());
    assert!(sm
        .handle(Input::Vote(vote(
            &keys[v2],
            VoteKind::Prevote,
            7,
            0,
            Some(b)
        )))
        .is_empty());

    // v1 prevotes A, repeats it, then also prevotes B and nil: one piece of evidence.
    let first = vote(&keys[v1], VoteKind::Prevote, 1, 0, Some(a));
    assert!(sm.handle(Input::Vote(first.clone())).is_empty());
    assert!(sm.handle(Input::Vote(first.clone())).is_empty());
    let second = vote(&keys[v1], VoteKind::Prevote, 1, 0, Some(b));
    let out = sm.handle(Input::Vote(second.clone()));
    let expected = DuplicateVoteEvidence::new(first, second);
    assert_eq!(out, vec![Output::Evidence(expected.clone())]);
    expected.verify(CHAIN, set.validators()).unwrap();
    assert!(sm
        .handle(Input::Vote(vote(&keys[v1], VoteKind::Prevote, 1, 0, None)))
        .is_empty());
    // A fourth distinct vote from v1, for a block nobody else backs, is not even stored.
    assert!(sm
        .handle(Input::Vote(vote(
            &keys[v1],
            VoteKind::Prevote,
            1,
            0,
            Some(Hash([0xc; 32]))
        )))
        .is_empty());
    // v2 prevotes B. Prevotes of any kind: v1 and v2, 2 of 4 — v1 counts once, so no prevote
    // timeout yet (line 34). Prevotes for B: v1 and v2, no lock.
    let out = sm.handle(Input::Vote(vote(
        &keys[v2],
        VoteKind::Prevote,
        1,
        0,
        Some(b),
    )));
    assert!(out.is_empty(), "{out:?}");
    // v3 prevotes nil: 3 of any kind -> timeout; nil has v1 and v3 (2): no nil precommit.
    let out = sm.handle(Input::Vote(vote(&keys[v3], VoteKind::Prevote, 1, 0, None)));
    assert_eq!(
        out,
        vec![Output::ScheduleTimeout {
            kind: TimeoutKind::Prevote,
            height: 1,
            round: 0,
            duration: Duration::from_secs(1)
        }]
    );
    assert_eq!(sm.locked(), None);
    // Our own prevote for B makes v1, v2 and us for B, 3 of 4: lock. The equivocator's B vote
    // counts toward B, as in the paper (messages from distinct senders for that value).
    let out = sm.handle(Input::Vote(vote(
        &keys[me],
        VoteKind::Prevote,
        1,
        0,
        Some(b),
    )));
    assert!(has_vote(&out, VoteKind::Precommit, 0, Some(b)), "{out:?}");
    assert_eq!(sm.locked(), Some((b, 0)));
}

#[test]
fn next_height_messages_are_buffered_and_replayed() {
    let (set, keys, me, _) = four();
    let mut sm = BftState::new(params(Some(&keys[me])));
    sm.handle(Input::StartHeight {
        height: 1,
        validators: set.clone(),
    });
    let next = set.next(set.validators().to_vec()).unwrap();
    let p2 = next.schedule().proposer();
    let p2 = keys.iter().find(|k| k.address() == p2).unwrap();
    let c = Hash([0xc; 32]);
    // Height 2's proposal and a height-3 vote arrive while at height 1.
    assert!(sm
        .handle(Input::Proposal {
            proposal: proposal(p2, 2, 0, None, c),
            block_valid: true
        })
        .is_empty());
    assert!(sm
        .handle(Input::Vote(vote(&keys[0], VoteKind::Prevote, 3, 0, None)))
        .is_empty());
    // The next-height buffer keeps at most MAX_BUFFERED_PER_VALIDATOR messages per validator,
    // counting only messages that verify under its key (forgeries cannot use up its slots) and
    // none from outside the set.
    let others: Vec<usize> = (0..4).filter(|i| *i != me).collect();
    let (full, o1, o2) = (others[0], others[1], others[2]);
    for r in 0..MAX_BUFFERED_PER_VALIDATOR as u32 {
        let mut forged = vote(&keys[o1], VoteKind::Precommit, 2, 100 + r, None);
        forged.signature = vote(&keys[o1], VoteKind::Prevote, 2, 0, None).signature;
        sm.handle(Input::Vote(forged));
        sm.handle(Input::Vote(vote(
            &keys[full],
            VoteKind::Precommit,
            2,
            100 + r,
            None,
        )));
    }
    sm.handle(Input::Vote(vote(
        &key(42),
        VoteKind::Prevote,
        2,
        0,
        Some(c),
    )));
    // Kept: o1's prevote for C. Dropped: `full`'s (its buffer is full).
    sm.handle(Input::Vote(vote(
        &keys[o1],
        VoteKind::Prevote,
        2,
        0,
        Some(c),
    )));
    sm.handle(Input::Vote(vote(
        &keys[full],
        VoteKind::Prevote,
        2,
        0,
        Some(c),
    )));
    let out = sm.handle(Input::StartHeight {
        height: 2,
        validators: next.clone(),
    });
    // The buffered proposal was replayed: we prevote C.
    assert!(has_vote(&out, VoteKind::Prevote, 0, Some(c)), "{out:?}");
    // With our own prevote, C has o1 and us: 2 of 4 (had `full`'s been kept: 3, a lock).
    let out = sm.handle(Input::Vote(vote(
        &keys[me],
        VoteKind::Prevote,
        2,
        0,
        Some(c),
    )));
    assert!(!has_vote(&out, VoteKind::Precommit, 0, Some(c)), "{out:?}");
    assert_eq!(sm.locked(), None);
    // o2's prevote: 3 of 4 (had o1's been crowded out by the forgeries: 2), lock.
    let out = sm.handle(Input::Vote(vote(
        &keys[o2],
        VoteKind::Prevote,
        2,
        0,
        Some(c),
    )));
    assert!(has_vote(&out, VoteKind::Precommit, 0, Some(c)), "{out:?}");
    // Going back is refused.
    assert!(sm
        .handle(Input::StartHeight {
            height: 1,
            validators: set
        })
        .is_empty());
    assert_eq!(sm.height(), Some(2));
}

#[test]
fn future_rounds_are_bounded_per_validator() {
    let (set, keys, me, _) = four();
    let mut sm = BftState::new(params(Some(&keys[me])));
    sm.handle(Input::StartHeight {
        height: 1,
        validators: set,
    });
    let others: Vec<usize> = (0..4).filter(|i| *i != me).collect();
    // One validator spams far-future rounds: only FUTURE_ROUNDS_PER_VALIDATOR of its rounds
    // are kept, so its vote for round 1000 + N is dropped and cannot help a skip.
    for r in 0..FUTURE_ROUNDS_PER_VALIDATOR as u32 {
        sm.handle(Input::Vote(vote(
            &keys[others[0]],
            VoteKind::Prevote,
            1,
            1_000 + r,
            None,
        )));
    }
    let late = 5_000;
    sm.handle(Input::Vote(vote(
        &keys[others[0]],
        VoteKind::Prevote,
        1,
        late,
        None,
    )));
    sm.handle(Input::Vote(vote(
        &keys[others[1]],
        VoteKind::Prevote,
        1,
        late,
        None,
    )));
    // Only one validator's message for round 5000 was kept: 1 of 4, no skip.
    assert_eq!(sm.round(), 0);
    // A second validator at round 1000 makes f+1 there: skip to 1000.
    sm.handle(Input::Vote(vote(
        &keys[others[1]],
        VoteKind::Prevote,
        1,
        1_000,
        None,
    )));
    assert_eq!(sm.round(), 1_000);
}

#[test]
fn timeouts_grow_and_deserialize_with_defaults() {
    let t = BftTimeouts::default();
    assert_eq!(
        t.duration(TimeoutKind::Propose, 0),
        Duration::from_millis(3_000)
    );
    assert_eq!(
        t.duration(TimeoutKind::Propose, 4),
        Duration::from_millis(5_000)
    );
    assert_eq!(
        t.duration(TimeoutKind::Prevote, 2),
        Duration::from_millis(2_000)
    );
    assert_eq!(
        t.duration(TimeoutKind::Precommit, 1),
        Duration::from_millis(1_500)
    );
    assert_eq!(t.commit(), Duration::from_secs(1));
    assert!(t.duration(TimeoutKind::Precommit, u32::MAX) >= Duration::from_secs(1_000_000));
    let parsed: BftTimeouts = toml::from_str("propose_ms = 100\ncommit_ms = 5").unwrap();
    assert_eq!(parsed.propose_ms, 100);
    assert_eq!(parsed.commit_ms, 5);
    assert_eq!(parsed.prevote_ms, 1_000);
    assert_eq!(toml::from_str::<BftTimeouts>("").unwrap(), t);
    assert!(toml::from_str::<BftTimeouts>("propose = 1").is_err());
}

// ---------------------------------------------------------------------------------------------
// The in-process network

/// splitmix64: small, seeded, good enough to shuffle deliveries.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n.max(1))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Follows the protocol.
    Honest,
    /// Never sends or receives anything (offline or crashed for good).
    Silent,
    /// Runs the protocol but proposes two different blocks and signs every vote twice (the
    /// real one to some peers, a conflicting one to the others).
    Byzantine,
}

#[derive(Clone, Debug)]
enum Msg {
    Proposal(Proposal),
    Vote(Vote),
}

struct Node {
    role: Role,
    key: Keypair,
    online: bool,
    sm: BftState,
    timers: Vec<(TimeoutKind, u64, u32)>,
    decisions: BTreeMap<u64, (u32, Hash)>,
    evidence: Vec<DuplicateVoteEvidence>,
    guard: Option<SignGuard>,
    /// Byzantine: proposal hashes seen per (height, round), to vote for the other one.
    seen: BTreeMap<(u64, u32), BTreeSet<Hash>>,
    /// Every output, for the determinism check.
    trace: Vec<String>,
    /// Signatures the guard refused.
    refused: usize,
}

struct Net {
    rng: Rng,
    nodes: Vec<Node>,
    /// Validator set of each height (index = height).
    sets: Vec<BftValidatorSet>,
    msgs: Vec<Msg>,
    by_height: BTreeMap<u64, Vec<usize>>,
    /// Pending deliveries: (to, message id).
    queue: Vec<(usize, usize)>,
    /// Message ids each node has had queued to it (gossip sends each once).
    queued: Vec<BTreeSet<usize>>,
    valid_blocks: BTreeSet<Hash>,
    target: u64,
    /// A timer fires before the queue drains with probability 1 / (this << round).
    early_timeout_one_in: u64,
    steps: usize,
}

fn block_hash(tag: &str, height: u64, round: u32, node: usize) -> Hash {
    crypto::sha256(format!("{tag}/{height}/{round}/{node}").as_bytes())
}

impl Net {
    fn new(powers: &[u64], roles: &[Role], seed: u64, target: u64) -> Self {
        let vals = infos(powers);
        let mut sets = vec![BftValidatorSet::new(vals.clone()).unwrap()];
        sets.push(sets[0].clone());
        for _ in 2..=target + 2 {
            let next = sets.last().unwrap().next(vals.clone()).unwrap();
            sets.push(next);
        }
        let nodes = roles
            .iter()
            .enumerate()
            .map(|(i, role)| Node {
                role: *role,
                key: key(i),
                online: *role != Role::Silent,
                sm: BftState::new(params(Some(&key(i)))),
                timers: Vec::new(),
                decisions: BTreeMap::new(),
                evidence: Vec::new(),
                guard: None,
                seen: BTreeMap::new(),
                trace: Vec::new(),
                refused: 0,
            })
            .collect();
        Self {
            rng: Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xD1B5_4A32_D192_ED03),
            nodes,
            sets,
            msgs: Vec::new(),
            by_height: BTreeMap::new(),
            queue: Vec::new(),
            queued: vec![BTreeSet::new(); roles.len()],
            valid_blocks: BTreeSet::new(),
            target,
            early_timeout_one_in: 25,
            steps: 0,
        }
    }

    fn start(&mut self) {
        for i in 0..self.nodes.len() {
            if self.nodes[i].online {
                self.start_height(i, 1);
            }
        }
    }

    fn start_height(&mut self, i: usize, height: u64) {
        let validators = self.sets[height as usize].clone();
        self.feed(i, Input::StartHeight { height, validators });
        // Peers gossip the messages of the height a node is at (CometBFT's gossip routines).
        let ids = self.by_height.get(&height).cloned().unwrap_or_default();
        for id in ids {
            self.queue.push((i, id));
        }
    }

    fn new_msg(&mut self, m: Msg) -> usize {
        let h = match &m {
            Msg::Proposal(p) => p.height,
            Msg::Vote(v) => v.height,
        };
        self.msgs.push(m);
        let id = self.msgs.len() - 1;
        self.by_height.entry(h).or_default().push(id);
        id
    }

    fn send(&mut self, to: usize, id: usize) {
        if self.queued[to].insert(id) {
            self.queue.push((to, id));
        }
    }

    fn broadcast(&mut self, from: usize, id: usize) {
        self.queued[from].insert(id);
        for j in 0..self.nodes.len() {
            if j != from {
                self.send(j, id);
            }
        }
    }

    /// Sends one of two messages to each peer at random (a Byzantine split).
    fn split(&mut self, from: usize, a: usize, b: usize) {
        self.queued[from].insert(a);
        self.queued[from].insert(b);
        for j in 0..self.nodes.len() {
            if j != from {
                let id = if self.rng.one_in(2) { a } else { b };
                self.send(j, id);
            }
        }
    }

    fn deliver(&mut self, to: usize, id: usize) {
        if !self.nodes[to].online {
            return;
        }
        let input = match self.msgs[id].clone() {
            Msg::Proposal(p) => {
                self.nodes[to]
                    .seen
                    .entry((p.height, p.round))
                    .or_default()
                    .insert(p.block_hash);
                Input::Proposal {
                    block_valid: self.valid_blocks.contains(&p.block_hash),
                    proposal: p,
                }
            }
            Msg::Vote(v) => Input::Vote(v),
        };
        self.feed(to, input);
        // Gossip: what an honest node receives, it passes on.
        if self.nodes[to].role == Role::Honest {
            for j in 0..self.nodes.len() {
                self.send(j, id);
            }
        }
    }

    fn feed(&mut self, i: usize, input: Input) {
        let mut local = VecDeque::from([input]);
        while let Some(input) = local.pop_front() {
            let outs = self.nodes[i].sm.handle(input);
            for o in outs {
                self.nodes[i].trace.push(format!("{o:?}"));
                self.act(i, o, &mut local);
            }
        }
    }

    fn sign_vote(
        &mut self,
        i: usize,
        kind: VoteKind,
        height: u64,
        round: u32,
        block: Option<Hash>,
    ) -> Option<Vote> {
        let n = &mut self.nodes[i];
        match n.guard.as_mut() {
            Some(g) => match g.sign_vote(kind, height, round, block) {
                Ok(v) => Some(v),
                Err(_) => {
                    n.refused += 1;
                    None
                }
            },
            None => Some(vote(&n.key, kind, height, round, block)),
        }
    }

    fn act(&mut self, i: usize, o: Output, local: &mut VecDeque<Input>) {
        let byzantine = self.nodes[i].role == Role::Byzantine;
        match o {
            Output::BuildBlock { height, round } => {
                let b = block_hash("block", height, round, i);
                self.valid_blocks.insert(b);
                local.push_back(Input::BlockBuilt {
                    height,
                    round,
                    block_hash: b,
                });
            }
            Output::SignAndBroadcastProposal {
                height,
                round,
                pol_round,
                block_hash: b,
            } => {
                let p = match self.nodes[i].guard.as_mut() {
                    Some(g) => match g.sign_proposal(height, round, pol_round, b) {
                        Ok(p) => p,
                        Err(_) => {
                            self.nodes[i].refused += 1;
                            return;
                        }
                    },
                    None => proposal(&self.nodes[i].key, height, round, pol_round, b),
                };
                local.push_back(Input::Proposal {
                    proposal: p.clone(),
                    block_valid: true,
                });
                let id = self.new_msg(Msg::Proposal(p));
                if byzantine {
                    let alt = block_hash("alt", height, round, i);
                    self.valid_blocks.insert(alt);
                    let p2 = proposal(&self.nodes[i].key, height, round, pol_round, alt);
                    let id2 = self.new_msg(Msg::Proposal(p2));
                    self.split(i, id, id2);
                } else {
                    self.broadcast(i, id);
                }
            }
            Output::SignAndBroadcastVote {
                kind,
                height,
                round,
                block_hash: b,
            } => {
                let Some(v) = self.sign_vote(i, kind, height, round, b) else {
                    return;
                };
                local.push_back(Input::Vote(v.clone()));
                let id = self.new_msg(Msg::Vote(v));
                if byzantine {
                    // Vote for something else too: another proposal of the round, or nil, or
                    // a block of its own.
                    let mut options: Vec<Option<Hash>> = vec![None];
                    options.extend(
                        self.nodes[i]
                            .seen
                            .get(&(height, round))
                            .into_iter()
                            .flatten()
                            .map(|h| Some(*h)),
                    );
                    options.push(Some(block_hash("alt", height, round, i)));
                    options.retain(|o| *o != b);
                    let other = options[self.rng.below(options.len())];
                    let v2 = vote(&self.nodes[i].key, kind, height, round, other);
                    let id2 = self.new_msg(Msg::Vote(v2));
                    self.split(i, id, id2);
                } else {
                    self.broadcast(i, id);
                }
            }
            Output::ScheduleTimeout {
                kind,
                height,
                round,
                duration,
            } => {
                assert_eq!(duration, BftTimeouts::default().duration(kind, round));
                self.nodes[i].timers.push((kind, height, round));
            }
            Output::Decide {
                height,
                round,
                block_hash: b,
                commit,
            } => {
                assert_eq!(
                    (commit.height, commit.round, commit.block_hash),
                    (height, round, b)
                );
                check_commit(&self.sets[height as usize], &commit);
                assert!(self.valid_blocks.contains(&b), "decided an unknown block");
                let prev = self.nodes[i].decisions.insert(height, (round, b));
                assert!(prev.is_none(), "node {i} decided height {height} twice");
                if height < self.target {
                    // As the host: start the next height (after timeout_commit, which is
                    // instant here). The gossip of that height's messages follows.
                    let validators = self.sets[height as usize + 1].clone();
                    local.push_back(Input::StartHeight {
                        height: height + 1,
                        validators,
                    });
                    let ids = self
                        .by_height
                        .get(&(height + 1))
                        .cloned()
                        .unwrap_or_default();
                    for id in ids {
                        self.queue.push((i, id));
                    }
                }
            }
            Output::Evidence(e) => {
                let h = e.vote_a.height as usize;
                e.verify(CHAIN, self.sets[h].validators())
                    .expect("evidence verifies");
                self.nodes[i].evidence.push(e);
            }
        }
    }

    /// One event: a message delivery or a timeout. False when nothing is left to do.
    fn step(&mut self) -> bool {
        self.steps += 1;
        let with_timers: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].online && !self.nodes[*i].timers.is_empty())
            .collect();
        let fire = !with_timers.is_empty() && {
            let i = with_timers[self.rng.below(with_timers.len())];
            let r = self.nodes[i].sm.round().min(12);
            self.queue.is_empty() || self.rng.one_in(self.early_timeout_one_in << r)
        };
        if fire {
            let i = with_timers[self.rng.below(with_timers.len())];
            self.fire_timer(i);
            return true;
        }
        if self.queue.is_empty() {
            return false;
        }
        let k = self.rng.below(self.queue.len());
        let (to, id) = self.queue.swap_remove(k);
        self.deliver(to, id);
        true
    }

    fn fire_timer(&mut self, i: usize) {
        let t = self.rng.below(self.nodes[i].timers.len());
        let (kind, height, round) = self.nodes[i].timers.swap_remove(t);
        self.feed(
            i,
            Input::Timeout {
                kind,
                height,
                round,
            },
        );
    }

    /// Runs, delivering only what `allow(net, to, id)` lets through (the rest stays queued: a
    /// delay, not a loss), timers only when no allowed message is left, until nothing is left.
    fn run_where(&mut self, allow: &dyn Fn(&Net, usize, usize) -> bool) {
        for _ in 0..MAX_STEPS {
            self.steps += 1;
            let allowed: Vec<usize> = (0..self.queue.len())
                .filter(|k| allow(self, self.queue[*k].0, self.queue[*k].1))
                .collect();
            if !allowed.is_empty() {
                let k = allowed[self.rng.below(allowed.len())];
                let (to, id) = self.queue.swap_remove(k);
                self.deliver(to, id);
                continue;
            }
            let with_timers: Vec<usize> = (0..self.nodes.len())
                .filter(|i| self.nodes[*i].online && !self.nodes[*i].timers.is_empty())
                .collect();
            if with_timers.is_empty() {
                return;
            }
            let i = with_timers[self.rng.below(with_timers.len())];
            self.fire_timer(i);
        }
        panic!("run_where did not settle");
    }

    fn honest(&self) -> impl Iterator<Item = &Node> {
        self.nodes
            .iter()
            .filter(|n| n.role == Role::Honest && n.online)
    }

    fn all_decided(&self) -> bool {
        self.honest()
            .all(|n| (1..=self.target).all(|h| n.decisions.contains_key(&h)))
    }

    /// Runs until every online honest node decided every height up to the target, nothing is
    /// left to do, or `max_steps` events.
    fn run(&mut self, max_steps: usize) -> bool {
        let stop = self.steps + max_steps;
        while !self.all_decided() && self.steps < stop && self.step() {}
        self.all_decided()
    }

    /// Agreement among honest nodes (online or not); returns the decided hash per height.
    fn agreement(&self) -> BTreeMap<u64, Hash> {
        let mut decided: BTreeMap<u64, Hash> = BTreeMap::new();
        for n in self.nodes.iter().filter(|n| n.role == Role::Honest) {
            for (h, (_, b)) in &n.decisions {
                let d = decided.entry(*h).or_insert(*b);
                assert_eq!(d, b, "two honest nodes decided differently at height {h}");
            }
        }
        decided
    }

    /// No honest validator is ever accused.
    fn assert_no_false_evidence(&self) {
        for n in self.honest() {
            for e in &n.evidence {
                let accused = self
                    .nodes
                    .iter()
                    .find(|m| m.key.address() == e.validator())
                    .unwrap();
                assert_ne!(
                    accused.role,
                    Role::Honest,
                    "an honest validator was accused"
                );
            }
        }
    }
}

const MAX_STEPS: usize = 400_000;

fn run_network(powers: &[u64], roles: &[Role], seed: u64, heights: u64) -> Net {
    let mut net = Net::new(powers, roles, seed, heights);
    net.start();
    let done = net.run(MAX_STEPS);
    net.agreement();
    net.assert_no_false_evidence();
    assert!(
        done,
        "seed {seed}: not all honest nodes decided {heights} heights in {} steps: {:?}",
        net.steps,
        net.nodes
            .iter()
            .map(|n| (n.role, n.decisions.len(), n.sm.height(), n.sm.round()))
            .collect::<Vec<_>>()
    );
    net
}

#[test]
fn four_equal_honest_validators_agree_and_terminate() {
    let mut later_rounds = 0;
    for seed in 0..200 {
        let net = run_network(&[1; 4], &[Role::Honest; 4], seed, 5);
        let decided = net.agreement();
        assert_eq!(decided.len(), 5);
        later_rounds += net.nodes[0]
            .decisions
            .values()
            .filter(|(r, _)| *r > 0)
            .count();
    }
    // Early timeouts make some heights need more than one round: the runs are not all the easy path.
    assert!(later_rounds > 0);
}

#[test]
fn unequal_powers_agree_and_terminate() {
    for seed in 0..100 {
        run_network(&[5, 7, 11, 13, 17, 19, 23], &[Role::Honest; 7], seed, 4);
    }
    for seed in 0..50 {
        run_network(&[1, 2, 3, 10, 100], &[Role::Honest; 5], seed, 4);
    }
}

#[test]
fn offline_proposer_leads_to_a_later_round_and_a_decision() {
    for powers in [vec![1u64; 4], vec![20, 22, 24, 26, 28]] {
        let roles_len = powers.len();
        let set = BftValidatorSet::new(infos(&powers)).unwrap();
        let silent_addr = set.schedule().proposer();
        let silent = (0..roles_len)
            .find(|i| key(*i).address() == silent_addr)
            .unwrap();
        assert!(powers[silent] * 3 < powers.iter().sum::<u64>());
        let mut roles = vec![Role::Honest; roles_len];
        roles[silent] = Role::Silent;
        for seed in 0..100 {
            let net = run_network(&powers, &roles, seed, 5);
            let mut silent_heights = 0;
            for (h, (round, _)) in &net.honest().next().unwrap().decisions {
                let base = &net.sets[*h as usize];
                assert_ne!(
                    base.schedule().proposer_at_round(*round),
                    silent_addr,
                    "decided in a round the silent validator proposed"
                );
                if base.schedule().proposer() == silent_addr {
                    silent_heights += 1;
                    assert!(*round > 0);
                }
            }
            assert!(silent_heights >= 1, "height 1's round-0 proposer is silent");
        }
    }
}

#[test]
fn without_two_thirds_online_nothing_is_decided() {
    // Online power: 2/4, 60/100, and exactly 2/3 (4/6 and 2/3), which is not more than 2/3.
    for (powers, silent) in [
        (vec![1u64; 4], vec![1usize, 2]),
        (vec![10, 20, 30, 40], vec![3]),
        (vec![2, 2, 1, 1], vec![0]),
        (vec![1, 1, 1], vec![2]),
    ] {
        let mut roles = vec![Role::Honest; powers.len()];
        for s in &silent {
            roles[*s] = Role::Silent;
        }
        for seed in 0..50 {
            let mut net = Net::new(&powers, &roles, seed, 2);
            net.start();
            let online: u64 = (0..powers.len())
                .filter(|i| !silent.contains(i))
                .map(|i| powers[i])
                .sum();
            assert!(online * 3 <= powers.iter().sum::<u64>() * 2);
            // Run until nothing is left to do (every timer fired, every message delivered).
            while net.steps < 100_000 && net.step() {}
            assert!(
                net.steps < 100_000,
                "seed {seed}: the stalled network kept busy"
            );
            for n in net.honest() {
                assert!(
                    n.decisions.is_empty(),
                    "seed {seed}: decided without a quorum"
                );
                // Prevoted nil after the propose timeout, and waits for 2f+1 prevotes of any kind
                // (line 34), which never come: no further timeout, no further round.
                assert_eq!(n.sm.height(), Some(1));
                assert_eq!((n.sm.round(), n.sm.step()), (0, Step::Prevote));
                assert!(n.trace.iter().all(|t| !t.contains("Precommit")));
            }
            // One silent validator comes back (fresh state, peers re-deliver height 1): now more
            // than 2/3 are online and both heights are decided.
            let back = silent[0];
            net.nodes[back].role = Role::Honest;
            net.nodes[back].online = true;
            net.start_height(back, 1);
            assert!(
                net.run(MAX_STEPS),
                "seed {seed}: no decision after the return"
            );
            assert_eq!(net.agreement().len(), 2);
        }
    }
}

#[test]
fn crashed_node_catches_up_when_messages_are_redelivered() {
    for seed in 0..100 {
        let mut net = Net::new(&[1; 4], &[Role::Honest; 4], seed, 3);
        // Node 3 is down while the others decide heights 1 to 3.
        net.nodes[3].online = false;
        net.start();
        assert!(net.run(MAX_STEPS), "seed {seed}: the others did not decide");
        assert!(net.nodes[3].decisions.is_empty());
        // It restarts from scratch at height 1; peers re-deliver each height's messages.
        net.nodes[3].online = true;
        net.nodes[3].sm = BftState::new(params(Some(&key(3))));
        net.start_height(3, 1);
        assert!(net.run(MAX_STEPS), "seed {seed}: node 3 did not catch up");
        let decided = net.agreement();
        assert_eq!(decided.len(), 3);
        // And the network goes on with it.
        net.target = 5;
        for i in 0..3 {
            net.start_height(i, 4);
        }
        net.start_height(3, 4);
        assert!(
            net.run(MAX_STEPS),
            "seed {seed}: no progress after the catch-up"
        );
        assert_eq!(net.agreement().len(), 5);
    }
}

#[test]
fn node_crashing_mid_height_with_a_guard_neither_equivocates_nor_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut refused_somewhere = false;
    for seed in 0..40 {
        let mut net = Net::new(&[1; 4], &[Role::Honest; 4], seed, 4);
        let path = dir.path().join(format!("guard-{seed}.json"));
        let signer: Arc<dyn Signer> = Arc::new(LocalSigner(key(2)));
        net.nodes[2].guard = Some(SignGuard::open(&path, CHAIN, signer.clone()).unwrap());
        net.start();
        // Crash after a seeded number of events: state, timers and in-flight messages are lost.
        let crash_at = 20 + (seed as usize * 37) % 150;
        while net.steps < crash_at && net.step() {}
        let height = net.nodes[2].sm.height().unwrap_or(1);
        let mut next = height;
        if net.nodes[2].sm.is_decided() {
            next += 1;
        }
        net.queue.retain(|(to, _)| *to != 2);
        net.nodes[2].timers.clear();
        net.nodes[2].sm = BftState::new(params(Some(&key(2))));
        // The guard is read back from its file.
        net.nodes[2].guard = Some(SignGuard::open(&path, CHAIN, signer.clone()).unwrap());
        let before = net.nodes[2].guard.as_ref().unwrap().last_signed().cloned();
        if next <= net.target {
            net.start_height(2, next);
        }
        assert!(
            net.run(MAX_STEPS),
            "seed {seed}: no termination after the crash"
        );
        assert_eq!(net.agreement().len(), 4);
        net.assert_no_false_evidence();
        if let Some(b) = before {
            let after = net.nodes[2].guard.as_ref().unwrap().last_signed().unwrap();
            assert!((after.height, after.round, after.step) >= (b.height, b.round, b.step));
        }
        refused_somewhere |= net.nodes[2].refused > 0;
    }
    // Some crash landed between a vote and the next one the fresh state wanted to sign
    // differently: the guard was exercised, not just present.
    assert!(refused_somewhere);
}

#[test]
fn byzantine_proposer_and_voter_cannot_break_agreement() {
    for (powers, byz) in [(vec![1u64; 4], 0usize), (vec![30, 31, 33, 40], 3)] {
        assert!(powers[byz] * 3 < powers.iter().sum::<u64>());
        let mut roles = vec![Role::Honest; powers.len()];
        roles[byz] = Role::Byzantine;
        let mut evidence_seeds = 0;
        let mut later_rounds = 0;
        let seeds = 200;
        for seed in 0..seeds {
            let net = run_network(&powers, &roles, seed, 5);
            let byz_addr = key(byz).address();
            let accused: BTreeSet<_> = net
                .honest()
                .flat_map(|n| n.evidence.iter().map(|e| e.validator()))
                .collect();
            assert!(accused.iter().all(|a| *a == byz_addr));
            if !accused.is_empty() {
                evidence_seeds += 1;
            }
            // Each offence is reported at most once per node.
            for n in net.honest() {
                let hashes: BTreeSet<_> = n.evidence.iter().map(|e| e.hash()).collect();
                assert_eq!(hashes.len(), n.evidence.len());
            }
            later_rounds += net
                .honest()
                .next()
                .unwrap()
                .decisions
                .values()
                .filter(|(r, _)| *r > 0)
                .count();
        }
        assert_eq!(
            evidence_seeds, seeds,
            "every run has a double vote that reached an honest node"
        );
        assert!(later_rounds > 0, "the attack never forced a later round");
    }
}

/// The classic scenario locks exist for: X decides A in round 0 with the precommits of X, Y and
/// Z, then crashes; its precommit never reached Y and Z (delayed). The Byzantine validator
/// precommits nil in round 0 so Y and Z move on, then proposes B in round 1 and votes for it.
/// Y and Z, locked on A, must not help B: with their prevotes B would have 3 of 4 and be
/// decided, contradicting X. When the network heals, Y and Z decide A.
#[test]
fn locks_keep_a_decision_only_one_node_saw() {
    let (set, _, _, p) = four();
    let (x, byz) = (p[0], p[1]);
    let others: Vec<usize> = (0..4).filter(|i| *i != x && *i != byz).collect();
    let x_addr = key(x).address();
    let withheld = move |net: &Net, to: usize, id: usize| {
        to != x
            && matches!(&net.msgs[id],
                Msg::Vote(v) if v.validator == x_addr && v.kind == VoteKind::Precommit)
    };
    for seed in 0..50 {
        let mut roles = [Role::Honest; 4];
        roles[byz] = Role::Silent; // scripted by the test below
        let mut net = Net::new(&[1; 4], &roles, seed, 1);
        net.start();
        net.run_where(&|n, to, id| !withheld(n, to, id));
        let a = net.nodes[x].decisions.get(&1).expect("X decided").1;
        assert_eq!(net.nodes[x].decisions[&1].0, 0);
        for &i in &others {
            assert!(net.nodes[i].decisions.is_empty());
            assert_eq!(net.nodes[i].sm.locked(), Some((a, 0)));
        }
        net.nodes[x].online = false;

        // The Byzantine validator's messages.
        let bk = key(byz);
        let b = block_hash("byzantine", 1, 1, byz);
        net.valid_blocks.insert(b);
        let msgs = [
            Msg::Vote(vote(&bk, VoteKind::Precommit, 1, 0, None)),
            Msg::Proposal(proposal(&bk, 1, 1, None, b)),
            Msg::Vote(vote(&bk, VoteKind::Prevote, 1, 1, Some(b))),
            Msg::Vote(vote(&bk, VoteKind::Precommit, 1, 1, Some(b))),
        ];
        for m in msgs {
            let id = net.new_msg(m);
            for &i in &others {
                net.send(i, id);
            }
        }
        net.run_where(&|n, to, id| !withheld(n, to, id));
        for &i in &others {
            let n = &net.nodes[i];
            assert!(
                n.decisions.is_empty(),
                "seed {seed}: node {i} decided {:?}",
                n.decisions
            );
            assert!(n.sm.round() >= 2, "seed {seed}: round 1 was played");
            assert!(
                !n.trace.iter().any(|t| t.contains(&format!("{b:?}"))),
                "seed {seed}: node {i} voted for the Byzantine block"
            );
        }
        // The network heals: X's precommit arrives.
        net.run_where(&|_, _, _| true);
        for &i in &others {
            assert_eq!(net.nodes[i].decisions.get(&1).map(|d| d.1), Some(a));
        }
        net.agreement();
    }
    let _ = set;
}

/// More than 2/3 and more than 1/3 are strict: exactly 2/3 locks nothing, exactly 1/3 skips
/// no round.
#[test]
fn thresholds_are_strict() {
    let set = BftValidatorSet::new(infos(&[1, 1, 1])).unwrap();
    let keys: Vec<Keypair> = (0..3).map(key).collect();
    let p0 = keys
        .iter()
        .position(|k| k.address() == set.schedule().proposer())
        .unwrap();
    let me = (p0 + 1) % 3;
    let third = 3 - me - p0;
    let mut sm = BftState::new(params(Some(&keys[me])));
    sm.handle(Input::StartHeight {
        height: 1,
        validators: set,
    });
    let a = Hash([0xa; 32]);
    sm.handle(Input::Proposal {
        proposal: proposal(&keys[p0], 1, 0, None, a),
        block_valid: true,
    });
    // Two prevotes for A of 3: exactly 2/3, no lock and no timeout.
    let mut out = sm.handle(Input::Vote(vote(
        &keys[me],
        VoteKind::Prevote,
        1,
        0,
        Some(a),
    )));
    out.extend(sm.handle(Input::Vote(vote(
        &keys[p0],
        VoteKind::Prevote,
        1,
        0,
        Some(a),
    ))));
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(sm.locked(), None);
    // One validator (exactly 1/3) in round 4: no skip; the third validator too: skip.
    sm.handle(Input::Vote(vote(
        &keys[third],
        VoteKind::Prevote,
        1,
        4,
        None,
    )));
    assert_eq!(sm.round(), 0);
    sm.handle(Input::Vote(vote(
        &keys[p0],
        VoteKind::Precommit,
        1,
        4,
        None,
    )));
    assert_eq!(sm.round(), 4);
}

#[test]
fn same_seed_same_run() {
    let roles = [Role::Honest, Role::Byzantine, Role::Honest, Role::Honest];
    let a = run_network(&[1; 4], &roles, 7, 4);
    let b = run_network(&[1; 4], &roles, 7, 4);
    for (x, y) in a.nodes.iter().zip(&b.nodes) {
        assert_eq!(x.trace, y.trace);
        assert_eq!(x.decisions, y.decisions);
    }
    let c = run_network(&[1; 4], &roles, 8, 4);
    assert_ne!(a.nodes[0].trace, c.nodes[0].trace);
}
