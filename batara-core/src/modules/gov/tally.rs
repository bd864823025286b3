//! The tally of a proposal's votes and the rules that decide its outcome (pure: no state).
//!
//! Keeps: every unit of bonded stake counts at most once. A delegator's vote counts its own
//! delegations to validators of the set; a validator's vote (cast by its operator) counts the
//! rest of its stake — what is delegated to it by delegators who did not vote themselves (x/gov
//! v1's tally). Cost: one pass over the ballots and their delegations (each voter has at most
//! `staking::MAX_DELEGATIONS`), then one over the set.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::modules::math::{mul_div, PPM, U256};
use crate::runtime::BondedValidator;
use crate::types::{dec_u128, Address, Amount, VoteOption, WeightedVote};

/// Stake behind each option, and the bonded stake the quorum is measured against.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct Tally {
    /// For.
    #[serde(with = "dec_u128")]
    pub yes: Amount,
    /// Against.
    #[serde(with = "dec_u128")]
    pub no: Amount,
    /// Abstaining (counts for quorum only).
    #[serde(with = "dec_u128")]
    pub abstain: Amount,
    /// Against with veto.
    #[serde(with = "dec_u128")]
    pub veto: Amount,
    /// Stake bonded to the set when counted.
    #[serde(with = "dec_u128")]
    pub bonded: Amount,
}

impl Tally {
    fn add(&mut self, option: VoteOption, amount: Amount) {
        let slot = match option {
            VoteOption::Yes => &mut self.yes,
            VoteOption::No => &mut self.no,
            VoteOption::Abstain => &mut self.abstain,
            VoteOption::Veto => &mut self.veto,
        };
        *slot = slot.saturating_add(amount);
    }

    fn add_weighted(&mut self, options: &[WeightedVote], power: Amount) {
        for o in options {
            let part = mul_div(power, Amount::from(o.weight_ppm), PPM).unwrap_or(0);
            self.add(o.option, part);
        }
    }

    /// All stake that voted, abstentions included.
    pub fn voted(&self) -> Amount {
        self.yes
            .saturating_add(self.no)
            .saturating_add(self.abstain)
            .saturating_add(self.veto)
    }
}

/// A vote and what its voter has bonded, per validator.
pub struct Ballot {
    /// Who voted.
    pub voter: Address,
    /// How.
    pub options: Vec<WeightedVote>,
    /// Its delegations (validator, tokens).
    pub delegations: Vec<(Address, Amount)>,
}

/// Counts `ballots` against the set `validators`.
pub fn tally(validators: &[BondedValidator], ballots: &[Ballot]) -> Tally {
    struct Val<'a> {
        stake: Amount,
        deducted: Amount,
        vote: Option<&'a [WeightedVote]>,
    }
    let mut vals: BTreeMap<Address, Val<'_>> = validators
        .iter()
        .map(|v| {
            let val = Val {
                stake: v.stake,
                deducted: 0,
                vote: None,
            };
            (v.address, val)
        })
        .collect();
    let mut operated: BTreeMap<Address, Vec<Address>> = BTreeMap::new();
    for v in validators {
        operated.entry(v.operator).or_default().push(v.address);
    }
    let mut t = Tally {
        bonded: validators
            .iter()
            .fold(0, |s: Amount, v| s.saturating_add(v.stake)),
        ..Tally::default()
    };
    for b in ballots {
        for va in operated.get(&b.voter).into_iter().flatten() {
            if let Some(v) = vals.get_mut(va) {
                v.vote = Some(&b.options);
            }
        }
        for (va, tokens) in &b.delegations {
            if let Some(v) = vals.get_mut(va) {
                let tokens = (*tokens).min(v.stake - v.deducted);
                v.deducted += tokens;
                t.add_weighted(&b.options, tokens);
            }
        }
    }
    for v in vals.values() {
        if let Some(options) = v.vote {
            t.add_weighted(options, v.stake - v.deducted);
        }
    }
    t
}

/// How a vote ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Quorum reached, not vetoed, yes over the threshold.
    Passed,
    /// Less than the quorum of bonded stake voted.
    NoQuorum,
    /// Everyone who voted abstained.
    AllAbstain,
    /// More than the veto threshold of the votes said veto.
    Vetoed,
    /// Yes did not pass the threshold of the non-abstaining votes.
    BelowThreshold,
}

/// The thresholds a tally is judged by (ppm).
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    /// Least share of bonded stake that must vote (reached when equal).
    pub quorum_ppm: u32,
    /// Share of non-abstaining votes yes must pass (strictly).
    pub threshold_ppm: u32,
    /// Share of all votes veto must pass (strictly) to veto.
    pub veto_ppm: u32,
}

/// `a / b` compared with `ppm / 10⁶` (through 256 bits).
fn cmp_ratio(a: Amount, b: Amount, ppm: u32) -> std::cmp::Ordering {
    (U256::from(a) * U256::from(PPM)).cmp(&(U256::from(b) * U256::from(ppm)))
}

/// The outcome of `t` (x/gov v1's order: quorum, all-abstain, veto, threshold).
pub fn decide(t: &Tally, th: Thresholds) -> Outcome {
    use std::cmp::Ordering::{Greater, Less};
    let voted = t.voted();
    if t.bonded == 0 || cmp_ratio(voted, t.bonded, th.quorum_ppm) == Less {
        return Outcome::NoQuorum;
    }
    let non_abstain = voted - t.abstain;
    if non_abstain == 0 {
        return Outcome::AllAbstain;
    }
    if cmp_ratio(t.veto, voted, th.veto_ppm) == Greater {
        return Outcome::Vetoed;
    }
    if cmp_ratio(t.yes, non_abstain, th.threshold_ppm) == Greater {
        Outcome::Passed
    } else {
        Outcome::BelowThreshold
    }
}

/// `part` as a percentage of `whole` with two decimals (for results people read).
pub fn percent(part: Amount, whole: Amount) -> String {
    if whole == 0 {
        return "0%".into();
    }
    let bp = mul_div(part, 10_000, whole).unwrap_or(0);
    format!("{}.{:02}%", bp / 100, bp % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TH: Thresholds = Thresholds {
        quorum_ppm: 334_000,
        threshold_ppm: 500_000,
        veto_ppm: 334_000,
    };

    fn t(yes: Amount, no: Amount, abstain: Amount, veto: Amount, bonded: Amount) -> Tally {
        Tally {
            yes,
            no,
            abstain,
            veto,
            bonded,
        }
    }

    fn one(option: VoteOption) -> Vec<WeightedVote> {
        vec![WeightedVote {
            option,
            weight_ppm: 1_000_000,
        }]
    }

    fn addr(b: u8) -> Address {
        Address([b; 20])
    }

    #[test]
    fn quorum_is_reached_exactly_at_its_value() {
        assert_eq!(decide(&t(334, 0, 0, 0, 1000), TH), Outcome::Passed);
        assert_eq!(decide(&t(333, 0, 0, 0, 1000), TH), Outcome::NoQuorum);
        assert_eq!(decide(&t(0, 0, 0, 0, 0), TH), Outcome::NoQuorum);
    }

    #[test]
    fn the_threshold_must_be_passed_not_met() {
        // yes / (yes + no + veto) = 1/2 exactly: rejected; a unit more: passed.
        assert_eq!(
            decide(&t(500, 500, 0, 0, 1000), TH),
            Outcome::BelowThreshold
        );
        assert_eq!(decide(&t(501, 500, 0, 0, 1000), TH), Outcome::Passed);
        // Abstentions are out of the threshold's base.
        assert_eq!(decide(&t(300, 200, 500, 0, 1000), TH), Outcome::Passed);
    }

    #[test]
    fn veto_must_pass_its_threshold_of_all_votes() {
        // veto / voted = 334/1000 exactly: not vetoed (and yes 666 of 1000 passes).
        assert_eq!(decide(&t(666, 0, 0, 334, 1000), TH), Outcome::Passed);
        assert_eq!(decide(&t(665, 0, 0, 335, 1000), TH), Outcome::Vetoed);
        // Abstentions are in the veto's base: 335 of 1000 vetoes even with yes the rest.
        assert_eq!(decide(&t(1, 0, 664, 335, 1000), TH), Outcome::Vetoed);
    }

    #[test]
    fn abstain_only_is_rejected_not_passed() {
        assert_eq!(decide(&t(0, 0, 1000, 0, 1000), TH), Outcome::AllAbstain);
    }

    #[test]
    fn weighted_votes_split_power() {
        let vals = [BondedValidator {
            address: addr(1),
            operator: addr(11),
            stake: 1_000,
        }];
        let ballots = [Ballot {
            voter: addr(2),
            options: vec![
                WeightedVote {
                    option: VoteOption::Yes,
                    weight_ppm: 700_000,
                },
                WeightedVote {
                    option: VoteOption::No,
                    weight_ppm: 300_000,
                },
            ],
            delegations: vec![(addr(1), 600)],
        }];
        let r = tally(&vals, &ballots);
        assert_eq!(
            (r.yes, r.no, r.abstain, r.veto, r.bonded),
            (420, 180, 0, 0, 1000)
        );
    }

    #[test]
    fn a_delegator_overrides_its_validator_for_its_share() {
        // Validator 1 (stake 1000: 400 its operator's, 600 a delegator's) votes yes.
        let vals = [BondedValidator {
            address: addr(1),
            operator: addr(11),
            stake: 1_000,
        }];
        let op = Ballot {
            voter: addr(11),
            options: one(VoteOption::Yes),
            delegations: vec![(addr(1), 400)],
        };
        let r = tally(&vals, &[op]);
        assert_eq!(
            (r.yes, r.no),
            (1_000, 0),
            "the validator votes all it holds"
        );
        let op = Ballot {
            voter: addr(11),
            options: one(VoteOption::Yes),
            delegations: vec![(addr(1), 400)],
        };
        let del = Ballot {
            voter: addr(2),
            options: one(VoteOption::No),
            delegations: vec![(addr(1), 600), (addr(9), 50)],
        };
        let r = tally(&vals, &[op, del]);
        // The delegator's 600 move to no; its 50 with a validator out of the set count nothing.
        assert_eq!((r.yes, r.no, r.voted()), (400, 600, 1_000));
        // ... and with them the outcome: passed with the validator alone, rejected now.
        assert_eq!(decide(&r, TH), Outcome::BelowThreshold);
    }

    #[test]
    fn stake_is_never_counted_twice() {
        // Two ballots claiming more than the validator holds cannot push the tally past it.
        let vals = [BondedValidator {
            address: addr(1),
            operator: addr(11),
            stake: 100,
        }];
        let a = Ballot {
            voter: addr(2),
            options: one(VoteOption::Yes),
            delegations: vec![(addr(1), 80)],
        };
        let b = Ballot {
            voter: addr(3),
            options: one(VoteOption::No),
            delegations: vec![(addr(1), 80)],
        };
        let c = Ballot {
            voter: addr(11),
            options: one(VoteOption::Abstain),
            delegations: vec![],
        };
        let r = tally(&vals, &[a, b, c]);
        assert_eq!((r.yes, r.no, r.abstain), (80, 20, 0));
        assert_eq!(percent(1, 3), "33.33%");
    }
}
