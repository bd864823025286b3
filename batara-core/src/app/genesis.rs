//! The genesis: what every node of a chain starts from and must agree on.
//!
//! Owns: the genesis JSON document, assembled from the modules' fragments (`accounts` is the
//! bank's, `validators` and `params.staking` are staking's; each module validates its own), the
//! chain-level rules (chain id, block limits in [`ChainParams`]), the [`ChainSpec`] the runtime is
//! opened with, and the deterministic dev accounts of `batara dev` (like anvil's well-known keys: the same seeds on
//! every machine, so scripts and docs can name them — never hold real value with them).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::crypto::{self, Keypair};
pub use crate::modules::bank::GenesisAccount;
pub use crate::modules::staking::GenesisValidator;
use crate::modules::{bank, gov, staking, vm};
use crate::runtime::{ChainRules, ChainSpec};
use crate::types::{dec_u128, dec_u64, Amount, PublicKey};

/// Genesis errors.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// Reading the file failed.
    #[error("cannot read genesis {path}: {reason}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        reason: String,
    },
    /// The content breaks a rule.
    #[error("invalid genesis: {0}")]
    Invalid(String),
}

/// Consensus-critical limits, fixed at genesis.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ChainParams {
    /// Most transactions in a block.
    pub max_block_txs: u32,
    /// Most bytes of transactions in a block.
    pub max_block_bytes: u64,
    /// Least fee of any transaction (0: none, as on dev chains). A block holding a cheaper one is
    /// invalid; mempools refuse them (`fee_too_low`). Absent from the JSON when 0.
    #[serde(with = "dec_u128", skip_serializing_if = "is_zero")]
    pub min_fee: Amount,
    /// Most gas the contract transactions of one block may use (a block is full when the gas
    /// used so far plus the next transaction's limit would pass it).
    #[serde(with = "dec_u64")]
    pub max_block_gas: u64,
    /// Least gas price of a contract transaction (0: none, as on dev chains). Absent from the
    /// JSON when 0.
    #[serde(with = "dec_u128", skip_serializing_if = "is_zero")]
    pub min_gas_price: Amount,
    /// Staking: epochs, set size, minimum stake, unbonding, rewards, downtime and slashing.
    pub staking: staking::StakingParams,
    /// Contracts: limits of code, memory, calls, storage, events, and the gas schedule.
    pub vm: vm::VmParams,
    /// Governance: deposits, periods, quorum and thresholds. Absent from the JSON when default,
    /// so genesis files written before governance keep their fingerprint.
    #[serde(skip_serializing_if = "is_default_gov")]
    pub gov: gov::GovParams,
}

impl ChainParams {
    /// The chain's own rules (the runtime's part of these parameters).
    pub fn rules(&self) -> ChainRules {
        ChainRules {
            max_block_txs: self.max_block_txs,
            max_block_bytes: self.max_block_bytes,
            min_fee: self.min_fee,
            max_block_gas: self.max_block_gas,
            min_gas_price: self.min_gas_price,
        }
    }
}

fn is_default_gov(p: &gov::GovParams) -> bool {
    *p == gov::GovParams::default()
}

fn is_zero(a: &Amount) -> bool {
    *a == 0
}

/// The minimum fee `batara init` and `batara testnet` write into genesis: 10¹² units, a
/// millionth of a coin — nothing for a user, a million coins for a billion junk transactions.
pub const DEFAULT_MIN_FEE: Amount = 1_000_000_000_000;

/// The minimum gas price `batara init` and `batara testnet` write into genesis: 10⁶ units, so a
/// token transfer of about 50,000 gas costs a twentieth of the minimum fee on top of it.
pub const DEFAULT_MIN_GAS_PRICE: Amount = 1_000_000;

/// Default `max_block_gas`: 10⁹, about one second of contract execution on one core of this
/// project's benchmark machine (one gas is about one interpreted Wasm instruction).
pub const DEFAULT_MAX_BLOCK_GAS: u64 = 1_000_000_000;

impl Default for ChainParams {
    fn default() -> Self {
        Self {
            max_block_txs: 20_000,
            max_block_bytes: 16 << 20,
            min_fee: 0,
            max_block_gas: DEFAULT_MAX_BLOCK_GAS,
            min_gas_price: 0,
            staking: Default::default(),
            vm: Default::default(),
            gov: Default::default(),
        }
    }
}

/// The genesis document (`genesis.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Chain id, bound into every signature.
    pub chain_id: String,
    /// Time of the genesis header, ms since the Unix epoch.
    #[serde(with = "dec_u64")]
    pub genesis_time: u64,
    /// Consensus parameters.
    #[serde(default)]
    pub params: ChainParams,
    /// Funded accounts.
    pub accounts: Vec<GenesisAccount>,
    /// Initial validator set.
    pub validators: Vec<GenesisValidator>,
    /// A dev chain (`batara dev`, `Node.dev`): the one validator's node runs the dev engine, whose
    /// controls (`dev_mine`, `dev_setBalance`, ...) mint, rewrite and warp the chain. Never inferred
    /// from keys: every other chain runs BFT consensus, even with one validator, and answers the
    /// dev controls with "not a dev chain". Absent from the JSON of other chains.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dev: bool,
}

/// Voting power of each validator `batara init` and `batara testnet` write into genesis: the
/// stake bonded for it is this many times `min_self_stake`, so a newcomer staking the minimum
/// holds about a thousandth of the power of one genesis validator — far from the third that
/// could halt the chain by not signing.
pub const GENESIS_VALIDATOR_POWER: u64 = 1_000;

/// Balance of each `batara dev` account: 10⁶ whole coins of 10¹⁸ units.
pub const DEV_BALANCE: Amount = 1_000_000 * 1_000_000_000_000_000_000;

/// The key of dev account `i`: seed = SHA-256("batara dev account" ‖ i as u32 LE). Public and
/// well known; for dev chains only.
pub fn dev_account_key(i: u32) -> Keypair {
    let seed = crypto::sha256_parts(&[b"batara dev account", &i.to_le_bytes()]);
    Keypair::from_seed(&seed.0)
}

/// The dev chain's validator key (well known, like the accounts).
pub fn dev_validator_key() -> Keypair {
    Keypair::from_seed(&crypto::sha256(b"batara dev validator").0)
}

impl Genesis {
    /// Reads and validates `genesis.json`.
    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        let read_err = |reason: String| GenesisError::Read {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| read_err(e.to_string()))?;
        let g: Genesis = serde_json::from_str(&text).map_err(|e| read_err(e.to_string()))?;
        g.validate()?;
        Ok(g)
    }

    /// Parses and validates genesis JSON text.
    pub fn from_json(text: &str) -> Result<Self, GenesisError> {
        let g: Genesis =
            serde_json::from_str(text).map_err(|e| GenesisError::Invalid(e.to_string()))?;
        g.validate()?;
        Ok(g)
    }

    /// The pretty JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("genesis serialises")
    }

    /// A dev chain ([`Genesis::dev`] is set): `accounts` funded dev accounts and one validator.
    pub fn dev(chain_id: &str, accounts: u32, validator: PublicKey, genesis_time: u64) -> Self {
        Genesis {
            chain_id: chain_id.to_owned(),
            genesis_time,
            params: ChainParams::default(),
            accounts: (0..accounts)
                .map(|i| GenesisAccount {
                    address: dev_account_key(i).address(),
                    balance: DEV_BALANCE,
                })
                .collect(),
            validators: vec![GenesisValidator {
                pubkey: validator,
                power: 1,
                name: "dev".into(),
            }],
            dev: true,
        }
    }

    /// Checks the rules: a sane chain id, at least one validator with a valid key and power,
    /// no duplicate accounts or validators, a total supply that fits in u128.
    pub fn validate(&self) -> Result<(), GenesisError> {
        let bad = |m: String| Err(GenesisError::Invalid(m));
        let id_ok = !self.chain_id.is_empty()
            && self.chain_id.len() <= 64
            && self
                .chain_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !id_ok {
            return bad(format!(
                "chain_id {:?} must be 1-64 characters of a-z, A-Z, 0-9, '-', '_', '.'",
                self.chain_id
            ));
        }
        if self.validators.is_empty() {
            return bad("at least one validator is required".into());
        }
        self.params
            .rules()
            .validate()
            .map_err(GenesisError::Invalid)?;
        vm::validate_params(&self.params.vm, self.params.max_block_gas)
            .map_err(GenesisError::Invalid)?;
        self.params.gov.validate().map_err(GenesisError::Invalid)?;
        staking::validate_genesis(&self.params.staking, &self.validators)
            .map_err(GenesisError::Invalid)?;
        bank::validate_genesis(&self.accounts).map_err(GenesisError::Invalid)?;
        Ok(())
    }

    /// What the runtime is opened with: chain id, genesis time, block limits, and the
    /// fingerprint (SHA-256 of [`Genesis::to_json`]) that binds a data directory to this genesis.
    pub fn spec(&self) -> ChainSpec {
        ChainSpec {
            chain_id: self.chain_id.clone(),
            genesis_time: self.genesis_time,
            rules: self.params.rules(),
            fingerprint: crypto::sha256(self.to_json().as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_genesis_is_valid_and_round_trips() {
        let g = Genesis::dev("batara-dev", 3, dev_validator_key().public_key(), 1);
        g.validate().unwrap();
        let back: Genesis = serde_json::from_str(&g.to_json()).unwrap();
        assert_eq!(back, g);
        assert_eq!(dev_account_key(0).address(), back.accounts[0].address);
    }

    #[test]
    fn rules() {
        let mut g = Genesis::dev("x", 1, dev_validator_key().public_key(), 1);
        g.chain_id = "has space".into();
        assert!(g.validate().unwrap_err().to_string().contains("chain_id"));
        let mut g = Genesis::dev("x", 1, dev_validator_key().public_key(), 1);
        g.accounts.push(g.accounts[0].clone());
        assert!(g.validate().unwrap_err().to_string().contains("twice"));
        let mut g = Genesis::dev("x", 1, dev_validator_key().public_key(), 1);
        g.validators.clear();
        assert!(g.validate().is_err());
        let mut g = Genesis::dev("x", 1, dev_validator_key().public_key(), 1);
        g.validators[0].pubkey = PublicKey([0; 32]);
        assert!(g
            .validate()
            .unwrap_err()
            .to_string()
            .contains("valid ed25519"));
    }
}
