//! Parameters in state, the chain's own rules ([`ChainRules`]) and the upgrade plan.
//!
//! Owns: the `prm/<name>` keys (a module's parameters as JSON once governance changed them; while
//! a key is absent the genesis value is in force, so chains made before governance keep their
//! state root), the [`Governed`] seam through which governance reads, checks and writes any
//! module's parameters without naming the module, the block limits and fee floors of
//! [`ChainRules`] (governed under the name `chain`), and the upgrade plan `rt/upgrade` (a name
//! and a height at which every node of this binary stops: [`ChainError::UpgradeNeeded`]).
//!
//! Must never: write parameters a module did not check (every write goes through
//! [`Governed::set_params`]), or let the executor run block `height` of a plan this binary was
//! not told to skip.
//!
//! [`ChainError::UpgradeNeeded`]: super::ChainError::UpgradeNeeded

use borsh::{BorshDeserialize, BorshSerialize};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::state::{StateError, StateManager};
use crate::types::{dec_u128, dec_u64, Amount};

use super::module::{TxContext, TxFailure};

/// Key prefix of parameters in state.
pub const PARAMS_PREFIX: &[u8] = b"prm/";

/// Key of the upgrade plan.
const UPGRADE_KEY: &[u8] = b"rt/upgrade";

fn corrupt(what: &'static str, e: impl std::fmt::Display) -> StateError {
    StateError::Storage(crate::storage::StorageError::Corrupt {
        what,
        reason: e.to_string(),
    })
}

/// The state key of parameters `name`.
pub fn params_key(name: &str) -> Vec<u8> {
    [PARAMS_PREFIX, name.as_bytes()].concat()
}

/// Something module objects can be read from: a transaction's context or committed state.
pub trait ObjectRead {
    /// The object at `key` (`None`: absent).
    fn read_object(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;
}

impl ObjectRead for TxContext<'_, '_> {
    fn read_object(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.object(key)
    }
}

impl ObjectRead for StateManager {
    fn read_object(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.object(key)
    }
}

/// Parameters `name` in force: the stored value, or `genesis` while none is stored.
pub fn current_params<T: DeserializeOwned + Clone>(
    src: &(impl ObjectRead + ?Sized),
    name: &str,
    genesis: &T,
) -> Result<T, StateError> {
    match src.read_object(&params_key(name))? {
        None => Ok(genesis.clone()),
        Some(bytes) => decode_params(&bytes),
    }
}

/// Stored parameters `bytes` (the JSON at a `prm/` key) decoded.
pub fn decode_params<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StateError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt("parameters", e))
}

/// Writes parameters `name` (only [`set_checked`] calls it, after the owner's checks).
fn store_params<T: Serialize>(ctx: &mut TxContext<'_, '_>, name: &str, value: &T) {
    let json = serde_json::to_vec(value).expect("parameters serialise");
    ctx.set_object(params_key(name), json);
}

/// What [`Governed::set_params`] does: decodes `value` as parameters `name` of type `T` (unknown
/// fields and wrong types are errors naming the field), checks them with `check`, writes them.
pub fn set_checked<T: DeserializeOwned + Serialize>(
    ctx: &mut TxContext<'_, '_>,
    name: &str,
    value: Value,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<(), TxFailure> {
    let p: T = serde_json::from_value(value)
        .map_err(|e| TxFailure::Rule(format!("{name} parameters: {e}")))?;
    check(&p).map_err(TxFailure::Rule)?;
    store_params(ctx, name, &p);
    Ok(())
}

/// Something whose parameters governance may change: a module, or the chain's own rules.
pub trait Governed: Send + Sync {
    /// The name of its parameters (`chain`, `staking`, `vm`, `gov`): proposals and `prm/` use it.
    fn params_name(&self) -> &'static str;
    /// Its parameters in force, as JSON.
    fn params_json(&self, ctx: &TxContext<'_, '_>) -> Result<Value, StateError>;
    /// Checks `value` as its whole new parameters and writes them; the error names the rule.
    fn set_params(&self, ctx: &mut TxContext<'_, '_>, value: Value) -> Result<(), TxFailure>;
}

/// Name of [`ChainRules`] in proposals.
pub const CHAIN_PARAMS: &str = "chain";

/// The chain's own rules: block limits and fee floors (`params` of the genesis, without the
/// modules' parts).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChainRules {
    /// Most transactions in a block.
    pub max_block_txs: u32,
    /// Most bytes of transactions in a block.
    pub max_block_bytes: u64,
    /// Least fee of a transaction in a block (a block with a cheaper one is invalid).
    #[serde(with = "dec_u128")]
    pub min_fee: Amount,
    /// Most gas the metered transactions of a block may reserve.
    #[serde(with = "dec_u64")]
    pub max_block_gas: u64,
    /// Least gas price of a metered transaction in a block.
    #[serde(with = "dec_u128")]
    pub min_gas_price: Amount,
}

impl ChainRules {
    /// Checks the rules (positive limits).
    pub fn validate(&self) -> Result<(), String> {
        if self.max_block_txs == 0 || self.max_block_bytes == 0 {
            return Err("block limits must be positive".into());
        }
        if self.max_block_gas == 0 {
            return Err("max_block_gas must be positive".into());
        }
        Ok(())
    }

    /// The rules in force in `src`, `genesis` while governance never changed them.
    pub fn current(src: &(impl ObjectRead + ?Sized), genesis: &Self) -> Result<Self, StateError> {
        current_params(src, CHAIN_PARAMS, genesis)
    }
}

/// The chain's rules as a [`Governed`] (registered by `app` beside the modules).
pub struct GovernedChainRules(pub ChainRules);

impl Governed for GovernedChainRules {
    fn params_name(&self) -> &'static str {
        CHAIN_PARAMS
    }

    fn params_json(&self, ctx: &TxContext<'_, '_>) -> Result<Value, StateError> {
        let rules = ChainRules::current(ctx, &self.0)?;
        Ok(serde_json::to_value(rules).expect("rules serialise"))
    }

    fn set_params(&self, ctx: &mut TxContext<'_, '_>, value: Value) -> Result<(), TxFailure> {
        set_checked(ctx, CHAIN_PARAMS, value, ChainRules::validate)
    }
}

/// A software upgrade a passed proposal scheduled: at `height` every node stops, and only a
/// binary that knows `name` (or one told to skip it) continues.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct UpgradePlan {
    /// The upgrade's name (what the operator must install).
    pub name: String,
    /// The first height the old binary must not execute.
    #[serde(with = "dec_u64")]
    pub height: u64,
    /// What the operator should run (free text of the proposal: a version, a URL).
    pub info: String,
}

/// The upgrade plan in `src`, if one is scheduled.
pub fn upgrade_plan(src: &(impl ObjectRead + ?Sized)) -> Result<Option<UpgradePlan>, StateError> {
    match src.read_object(UPGRADE_KEY)? {
        None => Ok(None),
        Some(b) => borsh::from_slice(&b)
            .map(Some)
            .map_err(|e| corrupt("upgrade plan", e)),
    }
}

/// Schedules `plan` (replacing any earlier one), or clears the plan (`None`).
pub fn schedule_upgrade(ctx: &mut TxContext<'_, '_>, plan: Option<&UpgradePlan>) {
    match plan {
        Some(p) => ctx.set_object(UPGRADE_KEY.to_vec(), borsh::to_vec(p).expect("borsh")),
        None => ctx.delete_object(UPGRADE_KEY.to_vec()),
    }
}
