//! The contract VM: WebAssembly contracts on wasmi — upload, instantiate, call, query.
//!
//! Owns: the `upload`, `instantiate` and `call` kinds, its parameters ([`VmParams`]: limits and
//! gas schedule; the genesis fragment `params.vm`, governed as `vm`: a passed proposal's values
//! are read from `prm/vm` by every transaction from the next block on, except
//! `max_recursion_depth`, which the engine is built with and which stays the genesis value), and
//! the state under `vm/`:
//! `vm/code/<hash>` → [`CodeInfo`], `vm/wasm/<hash>` → the module's bytes,
//! `vm/ctr/<address>` → [`ContractInfo`], `vm/st/<address><key>` → a contract's storage value.
//! All of it is in the state tree, so storage proofs, snapshots, `dev_revert` and replay cover
//! contracts like any other state.
//!
//! Determinism (what wasmi is configured with): every module is validated and compiled eagerly
//! at upload (`CompilationMode::Eager`, never wasmi's lazy modes, which its docs say are not for
//! deterministic use); fuel metering is on and one unit of fuel is one unit of gas; floats are
//! rejected at upload (pallet-contracts' rule rather than CosmWasm's canonicalisation: a contract
//! that needs fractions uses fixed point); SIMD, threads, reference types, tail calls, multiple
//! memories and 64-bit memories are rejected too. A start function (AssemblyScript emits one for
//! its globals) runs, metered, each time the module is instantiated, i.e. at every call.
//! Contracts import host functions from `env` only (the list and the calling convention:
//! `docs/CONTRACTS.md`).
//!
//! Calls: a method is an export `() -> ()`; it reads its input with `input_len`/`input_read` and
//! sets its output with `return_data`; `revert` ends it with data. `init` runs once, when the
//! contract is instantiated (and may be absent). Contract addresses are
//! `SHA-256("batara/contract/v1" ‖ creator ‖ code hash ‖ salt)[..20]`, known before the
//! transaction. A sub-call (`call`, `instantiate`) that fails for any reason — trap, revert, out
//! of gas, depth limit, reentry — returns 1 to its caller with its writes undone; the caller reads
//! the error with `result_read` and decides (the EVM's rule). Reentrancy is refused: a contract
//! already on the call stack cannot be called again in the same stack (pallet-contracts' default).
//! A failed transaction keeps nothing but its fee and the gas it used.
//!
//! Limits that bind an upload (`max_code_bytes`, declared memory) are checked at upload only:
//! stored code keeps running after governance lowers them (its memory is then capped at
//! instantiation by the store's limit, like a `memory.grow`). The mempool checks transactions
//! against the parameters of the latest state the node read; each block checks them again
//! against those in force for it.
//!
//! Must never: let execution depend on anything but the state, the block and the transaction
//! (the compiled-code cache only saves time: gas charges the same on a hit and a miss), or let a
//! contract write outside its own storage prefix and the balances it may move.

mod host;
mod params;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use wasmi::{CompilationMode, Config, Engine, ExternType, FuncType};

pub use host::{CallError, HostCall, TraceLog, MAX_TRACE_BYTES, MAX_TRACE_CALLS};
pub use params::{validate_params, GasSchedule, VmParams};

use crate::runtime::params::{decode_params, params_key, set_checked, Governed, ObjectRead};
use crate::runtime::{Module, TxContext, TxFailure};
use crate::state::{Account, ObjectProof, StateError, StateManager};
use crate::storage::Entry;
use crate::types::{dec_u128, dec_u64, Address, Amount, Event, Hash, SignedTransaction, TxKind};
use host::{Env, Invoke, Layer, Reads};

const CODE: &[u8] = b"vm/code/";
const WASM: &[u8] = b"vm/wasm/";
const CONTRACT: &[u8] = b"vm/ctr/";
const STORAGE: &[u8] = b"vm/st/";

/// Name of [`VmParams`] in proposals and under `prm/`.
pub const PARAMS_NAME: &str = "vm";

fn key(prefix: &[u8], id: &[u8]) -> Vec<u8> {
    [prefix, id].concat()
}

fn code_key(h: &Hash) -> Vec<u8> {
    key(CODE, &h.0)
}

fn wasm_key(h: &Hash) -> Vec<u8> {
    key(WASM, &h.0)
}

fn contract_key(a: &Address) -> Vec<u8> {
    key(CONTRACT, &a.0)
}

fn storage_prefix(a: &Address) -> Vec<u8> {
    key(STORAGE, &a.0)
}

/// The state tree key of a contract's storage slot `slot`.
pub fn storage_key(contract: &Address, slot: &[u8]) -> Vec<u8> {
    [storage_prefix(contract).as_slice(), slot].concat()
}

/// The address contract code `code_hash` instantiated by `creator` with `salt` gets.
pub fn contract_address(creator: &Address, code_hash: &Hash, salt: &[u8]) -> Address {
    let h = crate::crypto::sha256_parts(&[b"batara/contract/v1", &creator.0, &code_hash.0, salt]);
    Address(h.0[..20].try_into().expect("20 of 32 bytes"))
}

/// The account that holds code deposits.
pub fn deposit_account() -> Address {
    let h = crate::crypto::sha256(b"batara/vm/deposits");
    Address(h.0[..20].try_into().expect("20 of 32 bytes"))
}

/// Stored code: who uploaded it, its size and the deposit paid for it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CodeInfo {
    /// Uploader.
    pub uploader: Address,
    /// Bytes of the module.
    pub size: u32,
    /// Deposit paid.
    #[serde(with = "dec_u128")]
    pub deposit: Amount,
    /// Height of the upload.
    #[serde(with = "dec_u64")]
    pub uploaded_at: u64,
}

/// A contract: its code and who made it when.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ContractInfo {
    /// Hash of its code.
    pub code_hash: Hash,
    /// The account or contract that instantiated it.
    pub creator: Address,
    /// Height of the instantiation.
    #[serde(with = "dec_u64")]
    pub instantiated_at: u64,
}

/// A validated, compiled module and where its imports come from.
pub(crate) struct Compiled {
    module: wasmi::Module,
    /// Index into the host functions of each import, in import order.
    imports: Vec<usize>,
    /// Its exported memory.
    memory: wasmi::MemoryType,
    size: usize,
}

/// Most compiled modules kept in memory.
const CACHE_ENTRIES: usize = 256;

/// The engine, the parameters and the compiled-code cache.
pub(crate) struct VmCore {
    engine: Engine,
    /// The genesis parameters (in force while governance never changed them).
    genesis: Arc<VmParams>,
    /// The parameters last read from a state: their stored JSON (`None`: the genesis ones) and
    /// their decoding, so a block of contract transactions decodes them once.
    latest: Mutex<(Option<Vec<u8>>, Arc<VmParams>)>,
    dev: bool,
    host: Vec<(&'static str, FuncType)>,
    cache: Mutex<HashMap<Hash, Arc<Compiled>>>,
}

struct NoState;

impl Reads for NoState {
    fn account(&self, _: &Address) -> Result<Account, StateError> {
        Ok(Account::default())
    }
    fn object(&self, _: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(None)
    }
    fn first_in(&self, _: &[u8], _: &[u8]) -> Result<Option<Entry>, StateError> {
        Ok(None)
    }
}

impl VmCore {
    fn new(params: VmParams, dev: bool) -> Self {
        let mut c = Config::default();
        c.compilation_mode(CompilationMode::Eager)
            .consume_fuel(true)
            .floats(false)
            .wasm_saturating_float_to_int(false)
            .wasm_reference_types(false)
            .wasm_tail_call(false)
            .wasm_multi_memory(false)
            .wasm_custom_page_sizes(false)
            .wasm_wide_arithmetic(false)
            .set_max_recursion_depth(params.max_recursion_depth as usize);
        let genesis = Arc::new(params);
        let mut core = Self {
            engine: Engine::new(&c),
            latest: Mutex::new((None, genesis.clone())),
            genesis,
            dev,
            host: vec![],
            cache: Mutex::new(HashMap::new()),
        };
        let genesis = core.genesis.clone();
        let mut store = host::new_store(&NoState, &core, genesis, Env::none(), 0, false);
        let types = host::host_types(&mut store);
        drop(store);
        core.host = types;
        core
    }

    /// The parameters in force in `src`: the stored ones, or the genesis ones while governance
    /// never changed them.
    fn params_in(&self, src: &(impl ObjectRead + ?Sized)) -> Result<Arc<VmParams>, StateError> {
        let stored = src.read_object(&params_key(PARAMS_NAME))?;
        let mut latest = self.latest.lock();
        if latest.0 != stored {
            let params = match &stored {
                None => self.genesis.clone(),
                Some(bytes) => Arc::new(decode_params(bytes)?),
            };
            *latest = (stored, params);
        }
        Ok(latest.1.clone())
    }

    /// The parameters of the state read last: the committed head's, unless a block or a query
    /// ran since (what the mempool checks against).
    fn latest(&self) -> Arc<VmParams> {
        self.latest.lock().1.clone()
    }

    /// Validates and compiles `code` for an upload under parameters `p`: the upload limits
    /// (size, memory) apply besides [`VmCore::compile`]'s rules.
    fn compile_upload(&self, code: &[u8], p: &VmParams) -> Result<Compiled, String> {
        let max = p.max_code_bytes;
        if code.len() > max as usize {
            return Err(format!(
                "code of {} bytes is over the limit of {max}",
                code.len()
            ));
        }
        let compiled = self.compile(code)?;
        let pages = p.max_memory_pages as u64;
        let minimum = compiled.memory.minimum();
        if minimum > pages {
            return Err(format!(
                "memory of {minimum} pages is over the limit of {pages}"
            ));
        }
        Ok(compiled)
    }

    /// Validates and compiles `code`; the error names the rule it breaks. Stored code compiles
    /// under it whatever the limits in force now (a limit lowered after an upload binds at
    /// execution: the store's memory limit, gas).
    fn compile(&self, code: &[u8]) -> Result<Compiled, String> {
        let module = wasmi::Module::new(&self.engine, code)
            .map_err(|e| format!("invalid WebAssembly: {e}"))?;
        let mut imports = vec![];
        for i in module.imports() {
            let (m, n) = (i.module(), i.name());
            let ExternType::Func(ty) = i.ty() else {
                return Err(format!(
                    "imports {m}.{n}, which is not a function: contracts import host functions only"
                ));
            };
            let found = (m == "env")
                .then(|| self.host.iter().position(|(name, _)| *name == n))
                .flatten();
            let Some(idx) = found else {
                return Err(format!("imports {m}.{n}, which the host does not provide"));
            };
            if self.host[idx].1 != *ty {
                return Err(format!(
                    "imports env.{n} as {ty:?}, but the host's is {:?}",
                    self.host[idx].1
                ));
            }
            imports.push(idx);
        }
        let memory = module.exports().find_map(|e| match e.ty() {
            ExternType::Memory(m) if e.name() == "memory" => Some(*m),
            _ => None,
        });
        let Some(memory) = memory else {
            return Err("exports no memory named \"memory\"".into());
        };
        Ok(Compiled {
            module,
            imports,
            memory,
            size: code.len(),
        })
    }

    /// The compiled code of `hash` (`None`: not stored), from the cache or the state.
    fn compiled(
        &self,
        reader: &dyn Reads,
        hash: &Hash,
    ) -> Result<Option<Arc<Compiled>>, StateError> {
        if let Some(c) = self.cache.lock().get(hash) {
            return Ok(Some(c.clone()));
        }
        let Some(code) = reader.object(&wasm_key(hash))? else {
            return Ok(None);
        };
        let compiled = Arc::new(self.compile(&code).map_err(|e| {
            StateError::Tree(format!("stored code {hash} no longer compiles: {e}"))
        })?);
        let mut cache = self.cache.lock();
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(*hash, compiled.clone());
        Ok(Some(compiled))
    }
}

/// A read-only call: method `method` of `contract` with `args`, as `caller`, capped at `gas`.
#[derive(Clone, Debug)]
pub struct Query<'a> {
    /// Who the contract sees as its caller and origin.
    pub caller: Address,
    /// The contract.
    pub contract: Address,
    /// The method.
    pub method: &'a str,
    /// Its input.
    pub args: &'a [u8],
    /// Most gas it may use.
    pub gas: u64,
}

/// What a read-only call returned.
#[derive(Clone, Debug)]
pub struct QueryOutcome {
    /// The returned bytes, or why it failed.
    pub result: Result<Vec<u8>, CallError>,
    /// Gas used.
    pub gas_used: u64,
    /// Events it would emit.
    pub events: Vec<Event>,
    /// `debug_log` lines (dev chains).
    pub logs: Vec<String>,
}

/// Contract transactions whose host calls a node keeps ([`VmModule::keep_traces`]).
pub const MAX_TRACES: usize = 4096;
/// Memory all kept traces may hold together (the oldest go first).
pub const MAX_TRACES_BYTES: usize = 256 << 20;

/// Host calls of the latest traced transactions, oldest first out.
#[derive(Default)]
struct Traces {
    order: VecDeque<Hash>,
    logs: HashMap<Hash, Arc<TraceLog>>,
    bytes: usize,
}

/// Contracts.
pub struct VmModule {
    core: VmCore,
    min_gas_price: Amount,
    tracing: AtomicBool,
    traces: Mutex<Traces>,
}

impl VmModule {
    /// The VM of a chain with parameters `params` and minimum gas price `min_gas_price` (the
    /// mempool refuses cheaper contract transactions; the executor leaves them out of blocks);
    /// `dev` keeps `debug_log` lines.
    pub fn new(params: VmParams, min_gas_price: Amount, dev: bool) -> Self {
        Self {
            core: VmCore::new(params, dev),
            min_gas_price,
            tracing: AtomicBool::new(false),
            traces: Mutex::new(Traces::default()),
        }
    }

    /// Whether the host calls of every contract transaction executed from now on are kept (the
    /// latest [`MAX_TRACES`], in memory: dev nodes turn it on, for `vm_traceTransaction`). A
    /// traced execution charges exactly the gas of an untraced one.
    pub fn keep_traces(&self, on: bool) {
        self.tracing.store(on, Ordering::Relaxed);
    }

    /// The host calls of transaction `tx`, if it was executed while traces were kept.
    pub fn trace(&self, tx: &Hash) -> Option<Arc<TraceLog>> {
        self.traces.lock().logs.get(tx).cloned()
    }

    /// Keeps `log` under `tx`, dropping the oldest traces past [`MAX_TRACES`] or
    /// [`MAX_TRACES_BYTES`].
    fn keep_trace(&self, tx: Hash, log: TraceLog) {
        let mut t = self.traces.lock();
        t.bytes += log.bytes();
        match t.logs.insert(tx, Arc::new(log)) {
            Some(old) => t.bytes -= old.bytes(),
            None => t.order.push_back(tx),
        }
        while t.order.len() > MAX_TRACES || (t.bytes > MAX_TRACES_BYTES && t.order.len() > 1) {
            let Some(old) = t.order.pop_front() else {
                break;
            };
            if let Some(l) = t.logs.remove(&old) {
                t.bytes -= l.bytes();
            }
        }
    }

    fn env(ctx: &TxContext<'_, '_>, origin: Address, chain_id: &str) -> Env {
        Env {
            origin,
            height: ctx.height(),
            time: ctx.time(),
            chain_id: chain_id.to_owned(),
        }
    }

    fn out_of(ctx: &mut TxContext<'_, '_>, gas: u64, limit: u64, what: String) -> TxFailure {
        ctx.gas_used = limit;
        TxFailure::Rule(format!(
            "out of gas: {what} needs {gas}, the limit is {limit}"
        ))
    }

    fn upload(
        &self,
        ctx: &mut TxContext<'_, '_>,
        sender: Address,
        code: &[u8],
        gas_limit: u64,
        p: &VmParams,
    ) -> Result<(), TxFailure> {
        let gas = p.gas.upload + code.len() as u64 * p.gas.upload_per_byte;
        if gas > gas_limit {
            return Err(Self::out_of(
                ctx,
                gas,
                gas_limit,
                format!("uploading {} bytes", code.len()),
            ));
        }
        ctx.gas_used = gas;
        let hash = crate::crypto::sha256(code);
        let mut deposit = 0;
        if ctx.object(&code_key(&hash))?.is_none() {
            self.core
                .compile_upload(code, p)
                .map_err(|e| TxFailure::Rule(format!("code rejected: {e}")))?;
            deposit = code.len() as Amount * p.code_deposit_per_byte;
            let mut acct = ctx.account(&sender)?;
            if acct.balance < deposit {
                return Err(TxFailure::Rule(format!(
                    "cannot pay the code deposit {deposit} with balance {}",
                    acct.balance
                )));
            }
            acct.balance -= deposit;
            ctx.set_account(sender, acct);
            let pool = deposit_account();
            let mut held = ctx.account(&pool)?;
            held.balance += deposit;
            ctx.set_account(pool, held);
            let info = CodeInfo {
                uploader: sender,
                size: code.len() as u32,
                deposit,
                uploaded_at: ctx.height(),
            };
            ctx.set_object(
                code_key(&hash),
                borsh::to_vec(&info).expect("borsh into Vec"),
            );
            ctx.set_object(wasm_key(&hash), code.to_vec());
        }
        ctx.events.push(Event {
            kind: "upload".into(),
            attributes: vec![
                ("code_hash".into(), hash.to_string()),
                ("size".into(), code.len().to_string()),
                ("deposit".into(), deposit.to_string()),
            ],
        });
        ctx.output = hash.0.to_vec();
        Ok(())
    }

    /// Runs `call` (with `pre` written first) and applies its writes if it succeeds; the host
    /// calls are kept under `trace` when it is given.
    #[allow(clippy::too_many_arguments)]
    fn execute(
        &self,
        ctx: &mut TxContext<'_, '_>,
        params: Arc<VmParams>,
        env: Env,
        gas_limit: u64,
        pre: Layer,
        call: Invoke,
        event: Event,
        trace: Option<Hash>,
    ) -> Result<(), TxFailure> {
        let contract = call.contract;
        let store = host::new_store(ctx, &self.core, params, env, gas_limit, trace.is_some());
        let out = host::run(store, gas_limit, pre, call)?;
        if let (Some(tx), Some(log)) = (trace, out.trace) {
            self.keep_trace(tx, log);
        }
        ctx.gas_used = out.gas_used;
        let ret = out
            .result
            .map_err(|e| TxFailure::Rule(format!("contract {contract}: {e}")))?;
        let w = out.writes;
        for (a, acct) in w.accounts {
            ctx.set_account(a, acct);
        }
        for (k, v) in w.objects {
            match v {
                Some(v) => ctx.set_object(k, v),
                None => ctx.delete_object(k),
            }
        }
        ctx.events.push(event);
        ctx.events.extend(w.events);
        ctx.output = ret;
        Ok(())
    }

    fn contract(ctx: &TxContext<'_, '_>, address: &Address) -> Result<ContractInfo, TxFailure> {
        match ctx.object(&contract_key(address))? {
            Some(b) => Ok(borsh::from_slice(&b).map_err(|e| {
                TxFailure::State(StateError::Tree(format!("contract record {address}: {e}")))
            })?),
            None => Err(TxFailure::Rule(format!("no contract at {address}"))),
        }
    }

    fn apply_kind(
        &self,
        ctx: &mut TxContext<'_, '_>,
        sender: Address,
        chain_id: &str,
        kind: &TxKind,
        trace: Option<Hash>,
    ) -> Result<(), TxFailure> {
        let p = self.core.params_in(ctx)?;
        check_limits(kind, &p).map_err(TxFailure::Rule)?;
        match kind {
            TxKind::Upload {
                code, gas_limit, ..
            } => self.upload(ctx, sender, code, *gas_limit, &p),
            TxKind::Instantiate {
                code_hash,
                args,
                salt,
                value,
                gas_limit,
                ..
            } => {
                let address = contract_address(&sender, code_hash, salt);
                if ctx.object(&code_key(code_hash))?.is_none() {
                    return Err(TxFailure::Rule(format!("code {code_hash} is not stored")));
                }
                if ctx.object(&contract_key(&address))?.is_some() {
                    return Err(TxFailure::Rule(format!(
                        "contract {address} already exists (choose another salt)"
                    )));
                }
                let mut pre = Layer::default();
                let info = ContractInfo {
                    code_hash: *code_hash,
                    creator: sender,
                    instantiated_at: ctx.height(),
                };
                host::contract_record(&mut pre, address, &info);
                let env = Self::env(ctx, sender, chain_id);
                let event = Event {
                    kind: "instantiate".into(),
                    attributes: vec![
                        ("contract".into(), address.to_string()),
                        ("code_hash".into(), code_hash.to_string()),
                        ("creator".into(), sender.to_string()),
                    ],
                };
                let call = Invoke {
                    caller: sender,
                    contract: address,
                    code_hash: *code_hash,
                    entry: "init".into(),
                    input: args.clone(),
                    value: *value,
                    optional: true,
                };
                self.execute(ctx, p, env, *gas_limit, pre, call, event, trace)
            }
            TxKind::Call {
                contract,
                method,
                args,
                value,
                gas_limit,
                ..
            } => {
                if method == "init" {
                    return Err(TxFailure::Rule(
                        "init runs once, when the contract is instantiated".into(),
                    ));
                }
                let info = Self::contract(ctx, contract)?;
                let env = Self::env(ctx, sender, chain_id);
                let event = Event {
                    kind: "call".into(),
                    attributes: vec![
                        ("contract".into(), contract.to_string()),
                        ("method".into(), method.clone()),
                    ],
                };
                let call = Invoke {
                    caller: sender,
                    contract: *contract,
                    code_hash: info.code_hash,
                    entry: method.clone(),
                    input: args.clone(),
                    value: *value,
                    optional: false,
                };
                self.execute(
                    ctx,
                    p,
                    env,
                    *gas_limit,
                    Layer::default(),
                    call,
                    event,
                    trace,
                )
            }
            _ => Err(TxFailure::Rule("not a contract transaction".into())),
        }
    }

    /// Runs `q` against `ctx` without keeping anything: what `vm_query` answers. Its gas is
    /// capped at `max_tx_gas` (and is that when `q.gas` is 0).
    pub fn query(
        &self,
        ctx: &TxContext<'_, '_>,
        chain_id: &str,
        q: &Query<'_>,
    ) -> Result<QueryOutcome, TxFailure> {
        let info = Self::contract(ctx, &q.contract)?;
        let env = Self::env(ctx, q.caller, chain_id);
        let p = self.core.params_in(ctx)?;
        let gas = match q.gas {
            0 => p.max_tx_gas,
            g => g.min(p.max_tx_gas),
        };
        let store = host::new_store(ctx, &self.core, p, env, gas, false);
        let call = Invoke {
            caller: q.caller,
            contract: q.contract,
            code_hash: info.code_hash,
            entry: q.method.to_owned(),
            input: q.args.to_vec(),
            value: 0,
            optional: false,
        };
        let out = host::run(store, gas, Layer::default(), call)?;
        Ok(QueryOutcome {
            result: out.result,
            gas_used: out.gas_used,
            events: out.writes.events,
            logs: out.logs,
        })
    }

    /// Applies `kind` from `sender` to `ctx` with the transaction gas limit raised to
    /// `max_tx_gas` (or `cap`, if lower): what `vm_estimateGas` answers (gas used, and the
    /// error if it fails).
    pub fn estimate(
        &self,
        ctx: &mut TxContext<'_, '_>,
        chain_id: &str,
        sender: Address,
        kind: &TxKind,
        cap: Option<u64>,
    ) -> Result<(u64, Option<String>), StateError> {
        let most = self.core.params_in(ctx)?.max_tx_gas;
        let max = cap.map_or(most, |c| c.min(most));
        let mut kind = kind.clone();
        match &mut kind {
            TxKind::Upload { gas_limit, .. }
            | TxKind::Instantiate { gas_limit, .. }
            | TxKind::Call { gas_limit, .. } => *gas_limit = max,
            _ => return Ok((0, Some("not a contract transaction".into()))),
        }
        match self.apply_kind(ctx, sender, chain_id, &kind, None) {
            Ok(()) => Ok((ctx.gas_used, None)),
            Err(TxFailure::Rule(e)) => Ok((ctx.gas_used, Some(e))),
            Err(TxFailure::State(e)) => Err(e),
        }
    }
}

impl Module for VmModule {
    fn name(&self) -> &'static str {
        "vm"
    }

    fn handles(&self, kind: &TxKind) -> bool {
        matches!(
            kind,
            TxKind::Upload { .. } | TxKind::Instantiate { .. } | TxKind::Call { .. }
        )
    }

    fn spend(&self, kind: &TxKind) -> Amount {
        match kind {
            TxKind::Upload { code, .. } => {
                (code.len() as Amount).saturating_mul(self.core.latest().code_deposit_per_byte)
            }
            TxKind::Instantiate { value, .. } | TxKind::Call { value, .. } => *value,
            _ => 0,
        }
    }

    fn committed(&self, state: &StateManager) -> Result<(), StateError> {
        self.core.params_in(state).map(drop)
    }

    /// Against the parameters of the committed head ([`Module::committed`]: the mempool's view;
    /// a block checks the ones in force for it again).
    fn check(&self, tx: &SignedTransaction) -> Result<(), String> {
        if let Some((_, price)) = tx.body.kind.gas() {
            if price < self.min_gas_price {
                return Err(format!(
                    "gas price {price} below the chain's minimum {}",
                    self.min_gas_price
                ));
            }
        }
        check_limits(&tx.body.kind, &self.core.latest())
    }

    /// The gas price was checked by the executor (against the chain's rules in force); the
    /// limits are checked against the parameters in force by `apply_kind`.
    fn apply(&self, ctx: &mut TxContext<'_, '_>, tx: &SignedTransaction) -> Result<(), TxFailure> {
        let trace = self.tracing.load(Ordering::Relaxed).then(|| tx.hash());
        self.apply_kind(ctx, tx.sender(), &tx.body.chain_id, &tx.body.kind, trace)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Governed for VmModule {
    fn params_name(&self) -> &'static str {
        PARAMS_NAME
    }

    fn params_json(&self, ctx: &TxContext<'_, '_>) -> Result<serde_json::Value, StateError> {
        let p = self.core.params_in(ctx)?;
        Ok(serde_json::to_value(&*p).expect("parameters serialise"))
    }

    fn set_params(
        &self,
        ctx: &mut TxContext<'_, '_>,
        value: serde_json::Value,
    ) -> Result<(), TxFailure> {
        let max_block_gas = ctx.rules().max_block_gas;
        let depth = self.core.genesis.max_recursion_depth;
        set_checked(ctx, PARAMS_NAME, value, |p: &VmParams| {
            validate_params(p, max_block_gas)?;
            if p.max_recursion_depth != depth {
                return Err(
                    "vm.max_recursion_depth is fixed at genesis (the engine is built \
                            with it): change it with a software upgrade"
                        .into(),
                );
            }
            Ok(())
        })
    }
}

/// The limits of parameters `p` a contract transaction of `kind` breaks, if any: its gas limit
/// and the sizes of its code, salt, method and arguments.
fn check_limits(kind: &TxKind, p: &VmParams) -> Result<(), String> {
    if let Some((limit, _)) = kind.gas() {
        if limit > p.max_tx_gas {
            return Err(format!(
                "gas limit {limit} is over the transaction limit {} (vm.max_tx_gas)",
                p.max_tx_gas
            ));
        }
    }
    let too_long = |what: &str, len: usize, max: usize| {
        (len > max).then(|| format!("{what} of {len} bytes is over the limit of {max}"))
    };
    let problem = match kind {
        TxKind::Upload { code, .. } => too_long("code", code.len(), p.max_code_bytes as usize),
        TxKind::Instantiate { args, salt, .. } => too_long("salt", salt.len(), 64)
            .or_else(|| too_long("args", args.len(), p.max_input_bytes as usize)),
        TxKind::Call { method, args, .. } => (method.is_empty() || method.len() > 64)
            .then(|| format!("method name must be 1-64 bytes, got {}", method.len()))
            .or_else(|| too_long("args", args.len(), p.max_input_bytes as usize)),
        _ => None,
    };
    problem.map_or(Ok(()), Err)
}

/// Reads of contract state at any stored height (JSON-RPC `vm_*`).
pub struct VmReader<'a>(pub &'a StateManager);

impl VmReader<'_> {
    fn at(&self, key: &[u8], height: Option<u64>) -> Result<Option<Vec<u8>>, StateError> {
        match height {
            None => self.0.object(key),
            Some(h) => self.0.object_at(key, h),
        }
    }

    /// A contract's record.
    pub fn contract(
        &self,
        a: &Address,
        height: Option<u64>,
    ) -> Result<Option<ContractInfo>, StateError> {
        self.at(&contract_key(a), height)?
            .map(|b| borsh::from_slice(&b).map_err(|e| StateError::Tree(e.to_string())))
            .transpose()
    }

    /// Stored code: its record and bytes.
    pub fn code(&self, h: &Hash) -> Result<Option<(CodeInfo, Vec<u8>)>, StateError> {
        let Some(info) = self.0.object(&code_key(h))? else {
            return Ok(None);
        };
        let info: CodeInfo =
            borsh::from_slice(&info).map_err(|e| StateError::Tree(e.to_string()))?;
        let wasm = self.0.object(&wasm_key(h))?.unwrap_or_default();
        Ok(Some((info, wasm)))
    }

    /// A contract's storage slot at `height` with a proof against that height's state root.
    pub fn storage(
        &self,
        a: &Address,
        slot: &[u8],
        height: u64,
    ) -> Result<ObjectProof, StateError> {
        self.0.prove_object(&storage_key(a, slot), height)
    }
}
