//! The VM's parameters (genesis `params.vm`, governed as `vm`): limits and the gas schedule.
//! Every limit is consensus: two nodes with different values disagree on which transactions fail.

use serde::{Deserialize, Serialize};

use crate::types::{dec_u128, dec_u64, Amount};

/// Limits and prices of contract execution. Defaults (and where each comes from) are in
/// [`VmParams::default`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct VmParams {
    /// Most bytes of an uploaded WebAssembly module.
    pub max_code_bytes: u32,
    /// Most 64 KiB pages of a contract's linear memory (declared or grown).
    pub max_memory_pages: u32,
    /// Most nested WebAssembly function calls inside one contract call (the interpreter's
    /// stack height).
    pub max_recursion_depth: u32,
    /// Most contracts on the call stack (the transaction's target is depth 1).
    pub max_call_depth: u32,
    /// Most contract instances one transaction creates (every call and instantiate creates one).
    pub max_instances: u32,
    /// Most bytes of a storage key.
    pub max_key_bytes: u32,
    /// Most bytes of a storage value.
    pub max_value_bytes: u32,
    /// Most events one transaction emits.
    pub max_events: u32,
    /// Most bytes of one event (topics and data).
    pub max_event_bytes: u32,
    /// Most topics of one event.
    pub max_event_topics: u32,
    /// Most bytes a call returns.
    pub max_return_bytes: u32,
    /// Most bytes of a transaction's or a sub-call's arguments.
    pub max_input_bytes: u32,
    /// Most gas of one transaction.
    #[serde(with = "dec_u64")]
    pub max_tx_gas: u64,
    /// Deposit per byte of uploaded code, moved to the VM's deposit account.
    #[serde(with = "dec_u128")]
    pub code_deposit_per_byte: Amount,
    /// Gas of host calls.
    pub gas: GasSchedule,
}

impl Default for VmParams {
    fn default() -> Self {
        Self {
            // wasmd's `MaxWasmSize` (800 KiB): AssemblyScript and Rust contracts fit well below.
            max_code_bytes: 800 * 1024,
            // pallet-contracts' `max_memory_pages` (16 pages = 1 MiB).
            max_memory_pages: 16,
            // wasmi's default maximum recursion depth.
            max_recursion_depth: 1024,
            // pallet-contracts' call stack of 5 frames.
            max_call_depth: 5,
            // Own choice: each instance holds its memory until the transaction ends, so 64
            // instances × 1 MiB bounds a transaction's memory at 64 MiB.
            max_instances: 64,
            // pallet-contracts' `MaxStorageKeyLen` (128 bytes).
            max_key_bytes: 128,
            // pallet-contracts' `max_storage_len` / payload limit (16 KiB).
            max_value_bytes: 16 * 1024,
            // Own choice (CosmWasm has no count limit, only gas): 128 per transaction.
            max_events: 128,
            // pallet-contracts' payload limit (16 KiB).
            max_event_bytes: 16 * 1024,
            // The EVM's LOG0…LOG4 (and pallet-contracts' `MaxEventTopics`): 4.
            max_event_topics: 4,
            // pallet-contracts' payload limit (16 KiB).
            max_return_bytes: 16 * 1024,
            // Own choice: 64 KiB of JSON arguments (CosmWasm bounds messages by block size only).
            max_input_bytes: 64 * 1024,
            // A tenth of the default block gas, so one transaction cannot fill a block.
            max_tx_gas: 100_000_000,
            // 10⁹ units (10⁻⁹ coin) per byte: a 10 KiB token costs 10 minimum fees.
            code_deposit_per_byte: 1_000_000_000,
            gas: GasSchedule::default(),
        }
    }
}

/// Gas of each host call: a base plus a price per byte read from or written to the contract's
/// memory or the state. One gas is one unit of wasmi fuel (about one interpreted instruction);
/// `batara bench contracts` measures the time of each host call against these prices.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct GasSchedule {
    /// Every host call (input, caller, value, height, ...).
    pub host_base: u64,
    /// Per byte copied between the contract's memory and the host.
    pub per_byte: u64,
    /// A storage read (get, has, next): a state lookup.
    pub storage_read: u64,
    /// A storage write or removal.
    pub storage_write: u64,
    /// Per byte of a written storage key and value (state growth, kept forever).
    pub storage_write_per_byte: u64,
    /// Reading an account's balance.
    pub balance: u64,
    /// A transfer of value.
    pub transfer: u64,
    /// An event.
    pub event: u64,
    /// Per byte of an event.
    pub event_per_byte: u64,
    /// Every call frame — the transaction's own call, `init`, and each sub-call — for its
    /// instance (besides loading its code).
    pub call: u64,
    /// Per byte of code loaded for a call or an instantiation.
    pub load_per_byte: u64,
    /// An upload (besides its bytes).
    pub upload: u64,
    /// Per byte of uploaded code (validation and compilation).
    pub upload_per_byte: u64,
    /// A SHA-256 (besides its bytes).
    pub sha256: u64,
    /// Per byte hashed.
    pub sha256_per_byte: u64,
    /// An ed25519 signature check.
    pub ed25519_verify: u64,
}

impl Default for GasSchedule {
    fn default() -> Self {
        Self {
            host_base: 100,
            per_byte: 1,
            storage_read: 2_000,
            storage_write: 5_000,
            storage_write_per_byte: 50,
            balance: 1_000,
            transfer: 5_000,
            event: 1_000,
            event_per_byte: 8,
            call: 10_000,
            load_per_byte: 1,
            upload: 50_000,
            upload_per_byte: 50,
            sha256: 500,
            sha256_per_byte: 4,
            ed25519_verify: 60_000,
        }
    }
}

/// Checks the VM's genesis fragment against the chain's block gas.
pub fn validate_params(p: &VmParams, max_block_gas: u64) -> Result<(), String> {
    if p.max_tx_gas == 0 || p.max_tx_gas > max_block_gas {
        return Err(format!(
            "vm.max_tx_gas {} must be between 1 and max_block_gas {max_block_gas}",
            p.max_tx_gas
        ));
    }
    let positive = [
        ("max_code_bytes", p.max_code_bytes),
        ("max_memory_pages", p.max_memory_pages),
        ("max_recursion_depth", p.max_recursion_depth),
        ("max_call_depth", p.max_call_depth),
        ("max_instances", p.max_instances),
        ("max_key_bytes", p.max_key_bytes),
        ("max_return_bytes", p.max_return_bytes),
        ("max_input_bytes", p.max_input_bytes),
    ];
    if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
        return Err(format!("vm.{name} must be positive"));
    }
    if p.max_memory_pages > 65_536 {
        return Err("vm.max_memory_pages must be at most 65536 (4 GiB)".into());
    }
    Ok(())
}
