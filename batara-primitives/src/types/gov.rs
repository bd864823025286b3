//! The wire form of governance: what a proposal asks for and how a vote is cast (their meaning
//! belongs to the gov module, `batara-core/src/modules/gov/`).
//!
//! Must never: reorder variants (the borsh index is signed). A parameter change carries its
//! values as compact JSON text in borsh (the signed bytes) and as a JSON object in JSON.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::primitives::{dec_u128, dec_u64, Address};
use super::Amount;

/// What a proposal does when it passes.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProposalContent {
    /// Nothing but the record of the vote (a signal).
    Text,
    /// Changes parameters: each change names a parameter set (`chain`, `staking`, `vm`, `gov`) and
    /// the fields to change; all apply at once or none does.
    Params {
        /// The changes.
        changes: Vec<ParamChange>,
    },
    /// Every node stops at `height` until the binary of upgrade `name` runs.
    Upgrade {
        /// The upgrade's name.
        name: String,
        /// First height the old binary must not execute.
        #[serde(with = "dec_u64")]
        height: u64,
        /// What operators should run (a version, a URL).
        #[serde(default)]
        info: String,
    },
    /// Pays `amount` from the community pool to `recipient`.
    Spend {
        /// Who receives it.
        recipient: Address,
        /// How much.
        #[serde(with = "dec_u128")]
        amount: Amount,
    },
}

/// One parameter set's change in a proposal.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamChange {
    /// The parameter set (`chain`, `staking`, `vm`, `gov`).
    pub params: String,
    /// The fields to change and their new values: a JSON object merged into the parameters in
    /// force (nested objects merge field by field). Compact JSON text.
    #[serde(with = "json_text")]
    pub values: String,
}

/// serde of a JSON-object text field as the object itself.
mod json_text {
    use super::*;

    pub fn serialize<S: Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
        let value: serde_json::Value =
            serde_json::from_str(v).map_err(serde::ser::Error::custom)?;
        value.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        if !value.is_object() {
            return Err(serde::de::Error::custom(
                "values must be a JSON object of the fields to change",
            ));
        }
        Ok(value.to_string())
    }
}

/// A choice on a proposal.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum VoteOption {
    /// For.
    Yes,
    /// Against.
    No,
    /// Counts for quorum only.
    Abstain,
    /// Against, and the deposit should burn (when more than the veto threshold say so).
    Veto,
}

impl VoteOption {
    /// Every option, in borsh order.
    pub const ALL: [VoteOption; 4] = [Self::Yes, Self::No, Self::Abstain, Self::Veto];

    /// Its JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Yes => "yes",
            Self::No => "no",
            Self::Abstain => "abstain",
            Self::Veto => "veto",
        }
    }
}

/// One option of a (possibly split) vote and its weight.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct WeightedVote {
    /// The option.
    pub option: VoteOption,
    /// Its share of the voter's power, in parts per million (the options of a vote sum to
    /// 1,000,000).
    pub weight_ppm: u32,
}
