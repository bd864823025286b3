//! One contract execution: the wasmi store of a transaction, its call stack, the write layers
//! that make a failed sub-call leave no trace, and the host functions contracts import from
//! `env`.
//!
//! Every contract instance of a transaction lives in one store, whose fuel is the transaction's
//! gas: a sub-call gets a slice of it and gives back what it did not use. Each call runs in a
//! [`Layer`] of writes on top of its caller's; success merges it down, failure drops it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use wasmi::errors::HostError;
use wasmi::{
    AsContextMut, Caller, Error as WasmError, Extern, Func, FuncType, Instance, Store, StoreLimits,
    StoreLimitsBuilder, TrapCode, Val,
};

use super::{code_key, contract_key, storage_prefix, Compiled, ContractInfo, VmCore, VmParams};
use crate::runtime::{prefix_end, TxContext};
use crate::state::{Account, ObjectWrites, StateError};
use crate::storage::Entry;
use crate::types::{dec_u64, hex_bytes, Address, Amount, Event, Hash};

/// What execution reads: the transaction's context (or a query's).
pub(super) trait Reads {
    fn account(&self, a: &Address) -> Result<Account, StateError>;
    fn object(&self, k: &[u8]) -> Result<Option<Vec<u8>>, StateError>;
    fn first_in(&self, from: &[u8], to: &[u8]) -> Result<Option<Entry>, StateError>;
}

impl Reads for TxContext<'_, '_> {
    fn account(&self, a: &Address) -> Result<Account, StateError> {
        TxContext::account(self, a)
    }
    fn object(&self, k: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        TxContext::object(self, k)
    }
    fn first_in(&self, from: &[u8], to: &[u8]) -> Result<Option<Entry>, StateError> {
        Ok(self.objects_in(from, to, 1)?.pop())
    }
}

/// Why a host function stopped the contract.
#[derive(Debug, thiserror::Error)]
enum Trap {
    #[error("reverted")]
    Revert(Vec<u8>),
    #[error("out of gas")]
    OutOfGas,
    #[error("{0}")]
    Rule(String),
    /// The state could not be read (kept in [`HostData::state_error`]): the block fails.
    #[error("state unreadable")]
    State,
}

impl HostError for Trap {}

fn rule(msg: impl Into<String>) -> WasmError {
    WasmError::host(Trap::Rule(msg.into()))
}

/// Why a call failed; its writes are gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The contract called `revert` with this data.
    Reverted(Vec<u8>),
    /// The gas ran out.
    OutOfGas,
    /// A trap, a broken limit or a refused call, with its cause.
    Trap(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Reverted(d) => match std::str::from_utf8(d) {
                Ok(s) => write!(f, "reverted: {s}"),
                Err(_) => write!(f, "reverted: 0x{}", hex::encode(d)),
            },
            CallError::OutOfGas => f.write_str("out of gas"),
            CallError::Trap(s) => f.write_str(s),
        }
    }
}

enum Failure {
    Call(CallError),
    State,
}

/// Writes of one call frame (and the frames it merged).
#[derive(Default)]
pub(super) struct Layer {
    pub accounts: BTreeMap<Address, Account>,
    pub objects: ObjectWrites,
    pub events: Vec<Event>,
}

impl Layer {
    fn absorb(&mut self, other: Layer) {
        self.accounts.extend(other.accounts);
        self.objects.extend(other.objects);
        self.events.extend(other.events);
    }
}

/// The block and transaction a contract sees.
pub(super) struct Env {
    pub origin: Address,
    pub height: u64,
    pub time: u64,
    pub chain_id: String,
}

impl Env {
    /// No block: the store that only lists the host functions' types.
    pub fn none() -> Self {
        Env {
            origin: Address([0; 20]),
            height: 0,
            time: 0,
            chain_id: String::new(),
        }
    }
}

struct Frame {
    contract: Address,
    caller: Address,
    value: Amount,
    input: Vec<u8>,
    output: Vec<u8>,
    /// Output (or error) of this frame's last sub-call.
    last: Vec<u8>,
}

/// One host call of a traced execution (`vm_traceTransaction`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostCall {
    /// Call frames on the stack (1: the transaction's own contract).
    pub depth: u32,
    /// The contract that made the call.
    pub contract: Address,
    /// The host function.
    pub host: &'static str,
    /// Its arguments as the contract passed them (pointers, lengths, numbers).
    pub args: Vec<i64>,
    /// The bytes it read from the contract's memory (keys, values, addresses, …), in order.
    #[serde(with = "hex_bytes")]
    pub read: Vec<u8>,
    /// The bytes it wrote into the contract's memory.
    #[serde(with = "hex_bytes")]
    pub wrote: Vec<u8>,
    /// What it returned (none for functions without a result, or when it failed).
    pub result: Option<i64>,
    /// Why it stopped the contract, when it did.
    pub error: Option<String>,
    /// Gas it used (for `call` and `instantiate`, with the sub-call's).
    #[serde(with = "dec_u64")]
    pub gas: u64,
}

/// Host calls one trace records; past it the trace is cut short (`truncated`).
pub const MAX_TRACE_CALLS: usize = 100_000;
/// Bytes of `read` and of `wrote` one traced host call keeps (the first ones).
pub const MAX_TRACE_BYTES: usize = 1024;

/// The host calls of a traced execution.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceLog {
    /// The calls, in the order they started.
    pub calls: Vec<HostCall>,
    /// More than [`MAX_TRACE_CALLS`] were made: the rest are not recorded.
    pub truncated: bool,
}

impl TraceLog {
    /// About how much memory it holds.
    pub fn bytes(&self) -> usize {
        self.calls
            .iter()
            .map(|c| {
                std::mem::size_of::<HostCall>() + 8 * c.args.len() + c.read.len() + c.wrote.len()
            })
            .sum()
    }
}

/// The host calls of an execution being traced, and which are still running.
#[derive(Default)]
struct Trace {
    log: TraceLog,
    open: Vec<usize>,
}

impl Trace {
    /// The innermost running call, which memory reads and writes belong to (none once the
    /// trace is cut short: the running call may not be the innermost any more).
    fn current(&mut self) -> Option<&mut HostCall> {
        if self.log.truncated {
            return None;
        }
        let i = *self.open.last()?;
        self.log.calls.get_mut(i)
    }
}

fn keep_bytes(into: &mut Vec<u8>, data: &[u8]) {
    let room = MAX_TRACE_BYTES.saturating_sub(into.len());
    into.extend_from_slice(&data[..data.len().min(room)]);
}

/// The store's data: everything host functions reach.
pub(super) struct HostData<'r> {
    reader: &'r dyn Reads,
    vm: &'r VmCore,
    /// The parameters in force for this execution (governance may change them between blocks).
    params: Arc<VmParams>,
    env: Env,
    frames: Vec<Frame>,
    layers: Vec<Layer>,
    /// Host functions made in this store so far, by index in [`HOST_NAMES`].
    funcs: Vec<Option<Func>>,
    limits: StoreLimits,
    instances: u32,
    events: u32,
    state_error: Option<StateError>,
    /// `debug_log` lines (kept on dev chains only).
    pub logs: Vec<String>,
    /// Host calls, when this execution is traced.
    trace: Option<Trace>,
    /// The memory of the contract whose traced host call is running: the wrapper calls the
    /// host function through `Func::call`, whose `Caller` has no instance to find it in.
    traced_memory: Option<wasmi::Memory>,
}

impl<'r> HostData<'r> {
    fn state(&mut self, e: StateError) -> WasmError {
        self.state_error.get_or_insert(e);
        WasmError::host(Trap::State)
    }

    fn frame(&mut self) -> &mut Frame {
        self.frames
            .last_mut()
            .expect("a host call runs inside a frame")
    }

    fn top(&mut self) -> &mut Layer {
        self.layers
            .last_mut()
            .expect("a write happens inside a layer")
    }

    fn account(&mut self, a: &Address) -> Result<Account, WasmError> {
        if let Some(acct) = self.layers.iter().rev().find_map(|l| l.accounts.get(a)) {
            return Ok(*acct);
        }
        self.reader.account(a).map_err(|e| self.state(e))
    }

    fn object(&mut self, k: &[u8]) -> Result<Option<Vec<u8>>, WasmError> {
        if let Some(v) = self.layers.iter().rev().find_map(|l| l.objects.get(k)) {
            return Ok(v.clone());
        }
        self.reader.object(k).map_err(|e| self.state(e))
    }

    /// The first live key in `[from, to)` as this execution sees it, with its value.
    fn first_in(&mut self, from: &[u8], to: &[u8]) -> Result<Option<Entry>, WasmError> {
        let mut start = from.to_vec();
        loop {
            let stored = self
                .reader
                .first_in(&start, to)
                .map_err(|e| self.state(e))?;
            let mut best = stored.map(|(k, _)| k);
            for l in &self.layers {
                let range = (
                    std::ops::Bound::Included(start.as_slice()),
                    std::ops::Bound::Excluded(to),
                );
                if let Some((k, _)) = l.objects.range::<[u8], _>(range).next() {
                    if best.as_ref().is_none_or(|b| k < b) {
                        best = Some(k.clone());
                    }
                }
            }
            let Some(key) = best else { return Ok(None) };
            match self.object(&key)? {
                Some(v) => return Ok(Some((key, v))),
                None => {
                    start = key;
                    start.push(0);
                }
            }
        }
    }

    /// Moves `amount` from `from` to `to` in the top layer; `false` when `from` cannot pay.
    fn transfer(&mut self, from: Address, to: Address, amount: Amount) -> Result<bool, WasmError> {
        if amount == 0 || from == to {
            return Ok(self.account(&from)?.balance >= amount);
        }
        let mut a = self.account(&from)?;
        if a.balance < amount {
            return Ok(false);
        }
        a.balance -= amount;
        let mut b = self.account(&to)?;
        let Some(sum) = b.balance.checked_add(amount) else {
            return Ok(false);
        };
        b.balance = sum;
        let top = self.top();
        top.accounts.insert(from, a);
        top.accounts.insert(to, b);
        Ok(true)
    }
}

/// A call to start: of a method, or of `init` when a contract is instantiated.
pub(super) struct Invoke {
    pub caller: Address,
    pub contract: Address,
    pub code_hash: Hash,
    pub entry: String,
    pub input: Vec<u8>,
    pub value: Amount,
    /// `init` may be missing; a called method may not.
    pub optional: bool,
}

/// The result of a transaction's execution.
pub(super) struct Outcome {
    /// The returned bytes, or why the call failed.
    pub result: Result<Vec<u8>, CallError>,
    /// Gas used (the limit when it ran out).
    pub gas_used: u64,
    /// Writes to apply (empty when it failed).
    pub writes: Layer,
    /// Debug lines.
    pub logs: Vec<String>,
    /// Host calls, when traced.
    pub trace: Option<TraceLog>,
}

/// A transaction-wide store with `gas` fuel under parameters `params`; `traced` records every
/// host call.
pub(super) fn new_store<'r>(
    reader: &'r dyn Reads,
    vm: &'r VmCore,
    params: Arc<VmParams>,
    env: Env,
    gas: u64,
    traced: bool,
) -> Store<HostData<'r>> {
    let p = &params;
    let limits = StoreLimitsBuilder::new()
        .memory_size(p.max_memory_pages as usize * 65_536)
        .instances(p.max_instances as usize)
        .memories(p.max_instances as usize)
        .tables(p.max_instances as usize)
        .table_elements(10_000)
        .build();
    let data = HostData {
        reader,
        vm,
        params,
        env,
        frames: vec![],
        layers: vec![Layer::default()],
        funcs: vec![None; HOST_NAMES.len()],
        limits,
        instances: 0,
        events: 0,
        state_error: None,
        logs: vec![],
        trace: traced.then(Trace::default),
        traced_memory: None,
    };
    let mut store = Store::new(&vm.engine, data);
    store.limiter(|d| &mut d.limits);
    store.set_fuel(gas).expect("fuel metering is on");
    store
}

/// Runs `call` (after `pre`, writes made in the same layer, such as the new contract's record)
/// as a whole transaction's execution.
pub(super) fn run(
    mut store: Store<HostData<'_>>,
    gas: u64,
    pre: Layer,
    call: Invoke,
) -> Result<Outcome, StateError> {
    store.data_mut().layers.push(pre);
    let r = invoke(&mut store, call);
    let gas_used = gas - store.get_fuel().expect("fuel metering is on");
    let mut data = store.into_data();
    if let Some(e) = data.state_error.take() {
        return Err(e);
    }
    let pre = data.layers.pop().expect("pre layer");
    let mut writes = data.layers.pop().expect("root layer");
    let result = match r {
        Ok(out) => {
            writes.absorb(pre);
            Ok(out)
        }
        Err(Failure::Call(e)) => Err(e),
        Err(Failure::State) => unreachable!("a state failure is kept in state_error"),
    };
    let gas_used = if result == Err(CallError::OutOfGas) {
        gas
    } else {
        gas_used
    };
    Ok(Outcome {
        result,
        gas_used,
        writes,
        logs: data.logs,
        trace: data.trace.map(|t| t.log),
    })
}

fn charge(cx: &mut impl AsContextMut, gas: u64) -> Result<(), WasmError> {
    let mut cx = cx.as_context_mut();
    let left = cx.get_fuel()?;
    if left < gas {
        cx.set_fuel(0)?;
        return Err(WasmError::host(Trap::OutOfGas));
    }
    cx.set_fuel(left - gas)
}

fn classify(e: WasmError) -> Failure {
    if let Some(t) = e.downcast_ref::<Trap>() {
        return match t {
            Trap::Revert(d) => Failure::Call(CallError::Reverted(d.clone())),
            Trap::OutOfGas => Failure::Call(CallError::OutOfGas),
            Trap::Rule(s) => Failure::Call(CallError::Trap(s.clone())),
            Trap::State => Failure::State,
        };
    }
    match e.as_trap_code() {
        Some(TrapCode::OutOfFuel) => Failure::Call(CallError::OutOfGas),
        Some(TrapCode::StackOverflow) => Failure::Call(CallError::Trap(
            "stack overflow: recursion deeper than max_recursion_depth".into(),
        )),
        Some(code) => Failure::Call(CallError::Trap(format!("trap: {code}"))),
        None => Failure::Call(CallError::Trap(e.to_string())),
    }
}

/// Runs one call frame: limits, code, value, instance, export; merges or drops its writes.
fn invoke<'r>(
    cx: &mut impl AsContextMut<Data = HostData<'r>>,
    call: Invoke,
) -> Result<Vec<u8>, Failure> {
    let refuse = |m: String| Err(Failure::Call(CallError::Trap(m)));
    let mut sc = cx.as_context_mut();
    let d = sc.data_mut();
    let p = d.params.clone();
    if d.frames.len() as u32 >= p.max_call_depth {
        return refuse(format!("call depth limit {} reached", p.max_call_depth));
    }
    if d.frames.iter().any(|f| f.contract == call.contract) {
        return refuse(format!(
            "reentrancy into {} denied: it is already on the call stack",
            call.contract
        ));
    }
    if d.instances >= p.max_instances {
        return refuse(format!(
            "instance limit {} of a transaction reached",
            p.max_instances
        ));
    }
    d.instances += 1;
    let load = match d.vm.compiled(d.reader, &call.code_hash) {
        Ok(c) => c,
        Err(e) => {
            d.state_error.get_or_insert(e);
            return Err(Failure::State);
        }
    };
    let Some(compiled) = load else {
        return refuse(format!("code {} is not stored", call.code_hash));
    };
    // Every frame pays for its instance (store entry, memory, tables) and its code's bytes.
    let load_gas = p.gas.call + compiled.size as u64 * p.gas.load_per_byte;
    charge(&mut sc, load_gas).map_err(classify)?;
    let d = sc.data_mut();
    d.layers.push(Layer::default());
    d.frames.push(Frame {
        contract: call.contract,
        caller: call.caller,
        value: call.value,
        input: call.input,
        output: vec![],
        last: vec![],
    });
    let result = start(
        &mut sc,
        &compiled,
        call.caller,
        call.contract,
        call.value,
        &call.entry,
        call.optional,
    );
    let d = sc.data_mut();
    let frame = d.frames.pop().expect("pushed above");
    let layer = d.layers.pop().expect("pushed above");
    match result {
        Ok(()) => {
            d.top().absorb(layer);
            Ok(frame.output)
        }
        Err(e) => Err(classify(e)),
    }
}

fn start<'r>(
    sc: &mut impl AsContextMut<Data = HostData<'r>>,
    compiled: &Compiled,
    caller: Address,
    contract: Address,
    value: Amount,
    entry: &str,
    optional: bool,
) -> Result<(), WasmError> {
    let mut sc = sc.as_context_mut();
    if value > 0 && !sc.data_mut().transfer(caller, contract, value)? {
        return Err(rule(format!("{caller} cannot pay the value {value}")));
    }
    // Only the host functions this module imports are made, once per store.
    let mut imports = Vec::with_capacity(compiled.imports.len());
    for &i in &compiled.imports {
        let f = match sc.data_mut().funcs[i] {
            Some(f) => f,
            None => {
                let mut f = host_func(&mut sc, HOST_NAMES[i]);
                if sc.data_mut().trace.is_some() {
                    f = traced(&mut sc, HOST_NAMES[i], f);
                }
                sc.data_mut().funcs[i] = Some(f);
                f
            }
        };
        imports.push(Extern::Func(f));
    }
    let instance = Instance::new(&mut sc, &compiled.module, &imports)?;
    let Some(func) = instance.get_func(&sc, entry) else {
        if optional {
            return Ok(());
        }
        return Err(rule(format!("contract {contract} has no method {entry:?}")));
    };
    let func = func
        .typed::<(), ()>(&sc)
        .map_err(|_| rule(format!("method {entry:?} must take and return nothing")))?;
    func.call(&mut sc, ())
}

/// Host functions in `env`, with the type a contract must import each with.
pub(super) fn host_types(store: &mut Store<HostData<'_>>) -> Vec<(&'static str, FuncType)> {
    HOST_NAMES
        .iter()
        .map(|n| {
            let f = host_func(&mut *store, n);
            (*n, f.ty(&*store))
        })
        .collect()
}

type C<'a, 'r> = Caller<'a, HostData<'r>>;

fn val_i64(v: &Val) -> i64 {
    match v {
        Val::I32(x) => i64::from(*x),
        Val::I64(x) => *x,
        _ => 0, // contracts have integer types only (floats and references are refused)
    }
}

/// `inner` (host function `name`) recording each call in the store's trace. Gas is charged by
/// `inner` alone, so a traced execution uses exactly the gas of an untraced one.
fn traced<'r>(cx: impl AsContextMut<Data = HostData<'r>>, name: &'static str, inner: Func) -> Func {
    let ty = inner.ty(&cx);
    Func::new(
        cx,
        ty,
        move |mut c: C<'_, 'r>, params: &[Val], results: &mut [Val]| -> Result<(), WasmError> {
            let fuel = c.get_fuel()?;
            let d = c.data_mut();
            let call = HostCall {
                depth: d.frames.len() as u32,
                contract: d.frames.last().map_or(Address([0; 20]), |f| f.contract),
                host: name,
                args: params.iter().map(val_i64).collect(),
                read: vec![],
                wrote: vec![],
                result: None,
                error: None,
                gas: 0,
            };
            let mut recorded = false;
            if let Some(t) = d.trace.as_mut() {
                if t.log.calls.len() < MAX_TRACE_CALLS {
                    t.open.push(t.log.calls.len());
                    t.log.calls.push(call);
                    recorded = true;
                } else {
                    t.log.truncated = true;
                }
            }
            let mine = c.get_export("memory").and_then(Extern::into_memory);
            let outer = std::mem::replace(&mut c.data_mut().traced_memory, mine);
            let r = inner.call(&mut c, params, results);
            c.data_mut().traced_memory = outer;
            let used = fuel.saturating_sub(c.get_fuel().unwrap_or(0));
            if let (true, Some(t)) = (recorded, c.data_mut().trace.as_mut()) {
                let i = t.open.pop().expect("pushed when recorded");
                let e = &mut t.log.calls[i];
                e.gas = used;
                match &r {
                    Ok(()) => e.result = results.first().map(val_i64),
                    Err(err) => e.error = Some(describe(err)),
                }
            }
            r
        },
    )
}

/// A host function's error as a trace shows it.
fn describe(e: &WasmError) -> String {
    match e.downcast_ref::<Trap>() {
        Some(Trap::Revert(d)) => CallError::Reverted(d.clone()).to_string(),
        Some(t) => t.to_string(),
        None => e.to_string(),
    }
}

fn memory(c: &C<'_, '_>) -> Result<wasmi::Memory, WasmError> {
    c.get_export("memory")
        .and_then(Extern::into_memory)
        .or(c.data().traced_memory)
        .ok_or_else(|| rule("contract exports no memory"))
}

fn read(c: &mut C<'_, '_>, ptr: u32, len: u32, max: u32, what: &str) -> Result<Vec<u8>, WasmError> {
    if len > max {
        return Err(rule(format!(
            "{what} of {len} bytes is over the limit of {max}"
        )));
    }
    let per = c.data().params.gas.per_byte;
    charge(c, per * len as u64)?;
    let mut buf = vec![0; len as usize];
    memory(c)?
        .read(&*c, ptr as usize, &mut buf)
        .map_err(|_| rule(format!("{what}: memory access out of bounds")))?;
    if let Some(e) = c.data_mut().trace.as_mut().and_then(Trace::current) {
        keep_bytes(&mut e.read, &buf);
    }
    Ok(buf)
}

fn write(c: &mut C<'_, '_>, ptr: u32, data: &[u8]) -> Result<(), WasmError> {
    let per = c.data().params.gas.per_byte;
    charge(c, per * data.len() as u64)?;
    memory(c)?
        .write(&mut *c, ptr as usize, data)
        .map_err(|_| rule("write to memory out of bounds"))?;
    if let Some(e) = c.data_mut().trace.as_mut().and_then(Trace::current) {
        keep_bytes(&mut e.wrote, data);
    }
    Ok(())
}

fn read_address(c: &mut C<'_, '_>, ptr: u32) -> Result<Address, WasmError> {
    let b = read(c, ptr, 20, 20, "address")?;
    Ok(Address(b.try_into().expect("20 bytes")))
}

fn read_amount(c: &mut C<'_, '_>, ptr: u32) -> Result<Amount, WasmError> {
    let b = read(c, ptr, 16, 16, "amount")?;
    Ok(Amount::from_le_bytes(b.try_into().expect("16 bytes")))
}

fn base(c: &mut C<'_, '_>) -> Result<(), WasmError> {
    let g = c.data().params.gas.host_base;
    charge(c, g)
}

fn storage_key(c: &mut C<'_, '_>, ptr: u32, len: u32) -> Result<Vec<u8>, WasmError> {
    let max = c.data().params.max_key_bytes;
    let key = read(c, ptr, len, max, "storage key")?;
    let contract = c.data_mut().frame().contract;
    let mut k = storage_prefix(&contract);
    k.extend_from_slice(&key);
    Ok(k)
}

/// Runs a sub-call from a host function with at most `gas` (0: all that is left) and records its
/// output or error for `result_read`: 0 on success, 1 on failure.
fn sub_call(c: &mut C<'_, '_>, gas: i64, call: Invoke) -> Result<i32, WasmError> {
    let left = c.get_fuel()?;
    let slice = if gas <= 0 || gas as u64 > left {
        left
    } else {
        gas as u64
    };
    c.set_fuel(slice)?;
    let r = invoke(c, call);
    let unused = c.get_fuel()?;
    c.set_fuel(left - (slice - unused))?;
    let (code, last) = match r {
        Ok(out) => (0, out),
        Err(Failure::State) => return Err(WasmError::host(Trap::State)),
        Err(Failure::Call(CallError::Reverted(d))) => (1, d),
        Err(Failure::Call(e)) => (1, e.to_string().into_bytes()),
    };
    c.data_mut().frame().last = last;
    Ok(code)
}

/// Records contract `address` (of `code_hash`, made by `creator`) in the top layer.
pub(super) fn contract_record(layer: &mut Layer, address: Address, info: &ContractInfo) {
    layer.objects.insert(
        contract_key(&address),
        Some(borsh::to_vec(info).expect("borsh into Vec")),
    );
}

/// The host functions contracts may import from `env`, in a fixed order (the indexes of
/// [`Compiled`](super::Compiled)'s imports).
pub(super) const HOST_NAMES: [&str; 30] = [
    "input_len",
    "input_read",
    "return_data",
    "revert",
    "storage_get",
    "storage_has",
    "storage_set",
    "storage_remove",
    "storage_next",
    "caller",
    "origin",
    "self_address",
    "value",
    "balance",
    "balance_of",
    "transfer",
    "block_height",
    "block_time",
    "chain_id",
    "emit",
    "call",
    "instantiate",
    "result_len",
    "result_read",
    "sha256",
    "ed25519_verify",
    "debug_log",
    "addr_canonicalize",
    "addr_humanize",
    "gas_left",
];

/// The host function `name` (one of [`HOST_NAMES`]) in the store of `cx`.
fn host_func<'r>(cx: impl AsContextMut<Data = HostData<'r>>, name: &str) -> Func {
    match name {
        "input_len" => Func::wrap(cx, |mut c: C<'_, 'r>| -> Result<u32, WasmError> {
            base(&mut c)?;
            Ok(c.data_mut().frame().input.len() as u32)
        }),
        "input_read" => Func::wrap(cx, |mut c: C<'_, 'r>, ptr: u32| -> Result<(), WasmError> {
            base(&mut c)?;
            let input = c.data_mut().frame().input.clone();
            write(&mut c, ptr, &input)
        }),
        "return_data" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>, ptr: u32, len: u32| -> Result<(), WasmError> {
                base(&mut c)?;
                let max = c.data().params.max_return_bytes;
                let out = read(&mut c, ptr, len, max, "return data")?;
                c.data_mut().frame().output = out;
                Ok(())
            },
        ),
        "revert" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>, ptr: u32, len: u32| -> Result<(), WasmError> {
                base(&mut c)?;
                let max = c.data().params.max_return_bytes;
                let data = read(&mut c, ptr, len, max, "revert data")?;
                Err(WasmError::host(Trap::Revert(data)))
            },
        ),
        "storage_get" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>, kp: u32, kl: u32, vp: u32, cap: u32| -> Result<i32, WasmError> {
                let g = c.data().params.gas.storage_read;
                charge(&mut c, g)?;
                let key = storage_key(&mut c, kp, kl)?;
                match c.data_mut().object(&key)? {
                    None => Ok(-1),
                    Some(v) => {
                        if v.len() <= cap as usize {
                            write(&mut c, vp, &v)?;
                        }
                        Ok(v.len() as i32)
                    }
                }
            },
        ),
        "storage_has" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>, kp: u32, kl: u32| -> Result<i32, WasmError> {
                let g = c.data().params.gas.storage_read;
                charge(&mut c, g)?;
                let key = storage_key(&mut c, kp, kl)?;
                Ok(c.data_mut().object(&key)?.is_some() as i32)
            },
        ),
        "storage_set" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>, kp: u32, kl: u32, vp: u32, vl: u32| -> Result<(), WasmError> {
                let (g, per, max) = {
                    let p = &c.data().params;
                    (
                        p.gas.storage_write,
                        p.gas.storage_write_per_byte,
                        p.max_value_bytes,
                    )
                };
                charge(&mut c, g + per * (kl as u64 + vl as u64))?;
                let key = storage_key(&mut c, kp, kl)?;
                let value = read(&mut c, vp, vl, max, "storage value")?;
                c.data_mut().top().objects.insert(key, Some(value));
                Ok(())
            },
        ),
        "storage_remove" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>, kp: u32, kl: u32| -> Result<i32, WasmError> {
                let g = c.data().params.gas.storage_write;
                charge(&mut c, g)?;
                let key = storage_key(&mut c, kp, kl)?;
                let d = c.data_mut();
                let existed = d.object(&key)?.is_some();
                d.top().objects.insert(key, None);
                Ok(existed as i32)
            },
        ),
        "storage_next" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>,
             fp: u32,
             fl: u32,
             tp: u32,
             tl: u32,
             op: u32,
             cap: u32|
             -> Result<i32, WasmError> {
                let g = c.data().params.gas.storage_read;
                charge(&mut c, g)?;
                let from = storage_key(&mut c, fp, fl)?;
                let to = if tl == 0 {
                    let contract = c.data_mut().frame().contract;
                    prefix_end(&storage_prefix(&contract))
                } else {
                    storage_key(&mut c, tp, tl)?
                };
                let prefix_len = from.len() - fl as usize;
                match c.data_mut().first_in(&from, &to)? {
                    None => Ok(-1),
                    Some((k, _)) => {
                        let key = &k[prefix_len..];
                        if key.len() <= cap as usize {
                            write(&mut c, op, key)?;
                        }
                        Ok(key.len() as i32)
                    }
                }
            },
        ),
        "caller" => Func::wrap(cx, |mut c: C<'_, 'r>, ptr: u32| -> Result<(), WasmError> {
            base(&mut c)?;
            let a = c.data_mut().frame().caller;
            write(&mut c, ptr, &a.0)
        }),
        "origin" => Func::wrap(cx, |mut c: C<'_, 'r>, ptr: u32| -> Result<(), WasmError> {
            base(&mut c)?;
            let a = c.data().env.origin;
            write(&mut c, ptr, &a.0)
        }),
        "self_address" => Func::wrap(cx, |mut c: C<'_, 'r>, ptr: u32| -> Result<(), WasmError> {
            base(&mut c)?;
            let a = c.data_mut().frame().contract;
            write(&mut c, ptr, &a.0)
        }),
        "value" => Func::wrap(cx, |mut c: C<'_, 'r>, ptr: u32| -> Result<(), WasmError> {
            base(&mut c)?;
            let v = c.data_mut().frame().value;
            write(&mut c, ptr, &v.to_le_bytes())
        }),
        "balance" => Func::wrap(cx, |mut c: C<'_, 'r>, ptr: u32| -> Result<(), WasmError> {
            let g = c.data().params.gas.balance;
            charge(&mut c, g)?;
            let d = c.data_mut();
            let me = d.frame().contract;
            let b = d.account(&me)?.balance;
            write(&mut c, ptr, &b.to_le_bytes())
        }),
        "balance_of" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>, ap: u32, ptr: u32| -> Result<(), WasmError> {
                let g = c.data().params.gas.balance;
                charge(&mut c, g)?;
                let a = read_address(&mut c, ap)?;
                let b = c.data_mut().account(&a)?.balance;
                write(&mut c, ptr, &b.to_le_bytes())
            },
        ),
        "transfer" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>, ap: u32, vp: u32| -> Result<i32, WasmError> {
                let g = c.data().params.gas.transfer;
                charge(&mut c, g)?;
                let to = read_address(&mut c, ap)?;
                let amount = read_amount(&mut c, vp)?;
                let d = c.data_mut();
                let me = d.frame().contract;
                Ok(if d.transfer(me, to, amount)? { 0 } else { 1 })
            },
        ),
        "block_height" => Func::wrap(cx, |mut c: C<'_, 'r>| -> Result<u64, WasmError> {
            base(&mut c)?;
            Ok(c.data().env.height)
        }),
        "block_time" => Func::wrap(cx, |mut c: C<'_, 'r>| -> Result<u64, WasmError> {
            base(&mut c)?;
            Ok(c.data().env.time)
        }),
        "chain_id" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>, ptr: u32, cap: u32| -> Result<u32, WasmError> {
                base(&mut c)?;
                let id = c.data().env.chain_id.clone().into_bytes();
                if id.len() <= cap as usize {
                    write(&mut c, ptr, &id)?;
                }
                Ok(id.len() as u32)
            },
        ),
        "emit" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>, tp: u32, tl: u32, dp: u32, dl: u32| -> Result<(), WasmError> {
                let (g, per, max_bytes, max_topics, max_events) = {
                    let p = &c.data().params;
                    (
                        p.gas.event,
                        p.gas.event_per_byte,
                        p.max_event_bytes,
                        p.max_event_topics,
                        p.max_events,
                    )
                };
                charge(&mut c, g + per * (tl as u64 + dl as u64))?;
                if tl.saturating_add(dl) > max_bytes {
                    return Err(rule(format!(
                        "event of {} bytes is over the limit of {max_bytes}",
                        tl as u64 + dl as u64
                    )));
                }
                if c.data().events >= max_events {
                    return Err(rule(format!(
                        "event limit {max_events} of a transaction reached"
                    )));
                }
                let topics_raw = read(&mut c, tp, tl, max_bytes, "event topics")?;
                let data = read(&mut c, dp, dl, max_bytes, "event data")?;
                let topics = parse_topics(&topics_raw, max_topics)?;
                let d = c.data_mut();
                d.events += 1;
                let contract = d.frame().contract;
                let mut attributes = vec![("contract".to_owned(), contract.to_string())];
                attributes.extend(
                    topics
                        .into_iter()
                        .enumerate()
                        .map(|(i, t)| (format!("topic{i}"), t)),
                );
                attributes.push(("data".to_owned(), format!("0x{}", hex::encode(&data))));
                d.top().events.push(Event {
                    kind: "contract".into(),
                    attributes,
                });
                Ok(())
            },
        ),
        "call" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>,
             ap: u32,
             mp: u32,
             ml: u32,
             argp: u32,
             argl: u32,
             vp: u32,
             gas: i64|
             -> Result<i32, WasmError> {
                let (g, max) = {
                    let p = &c.data().params;
                    (p.gas.host_base, p.max_input_bytes)
                };
                charge(&mut c, g)?;
                let contract = read_address(&mut c, ap)?;
                let method = read(&mut c, mp, ml, 64, "method name")?;
                let method =
                    String::from_utf8(method).map_err(|_| rule("method name is not UTF-8"))?;
                let input = read(&mut c, argp, argl, max, "call arguments")?;
                let value = read_amount(&mut c, vp)?;
                let d = c.data_mut();
                let me = d.frame().contract;
                let Some(info) = d.object(&contract_key(&contract))? else {
                    d.frame().last = format!("no contract at {contract}").into_bytes();
                    return Ok(1);
                };
                let info: ContractInfo =
                    borsh::from_slice(&info).map_err(|e| rule(format!("contract record: {e}")))?;
                sub_call(
                    &mut c,
                    gas,
                    Invoke {
                        caller: me,
                        contract,
                        code_hash: info.code_hash,
                        entry: method,
                        input,
                        value,
                        optional: false,
                    },
                )
            },
        ),
        "instantiate" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>,
             hp: u32,
             argp: u32,
             argl: u32,
             sp: u32,
             sl: u32,
             vp: u32,
             gas: i64,
             op: u32|
             -> Result<i32, WasmError> {
                let (g, max) = {
                    let p = &c.data().params;
                    (p.gas.host_base, p.max_input_bytes)
                };
                charge(&mut c, g)?;
                let hash = read(&mut c, hp, 32, 32, "code hash")?;
                let code_hash = Hash(hash.try_into().expect("32 bytes"));
                let input = read(&mut c, argp, argl, max, "init arguments")?;
                let salt = read(&mut c, sp, sl, 64, "salt")?;
                let value = read_amount(&mut c, vp)?;
                let d = c.data_mut();
                let me = d.frame().contract;
                let address = super::contract_address(&me, &code_hash, &salt);
                let height = d.env.height;
                if d.object(&code_key(&code_hash))?.is_none() {
                    d.frame().last = format!("code {code_hash} is not stored").into_bytes();
                    return Ok(1);
                }
                if d.object(&contract_key(&address))?.is_some() {
                    d.frame().last = format!("contract {address} already exists").into_bytes();
                    return Ok(1);
                }
                let mut pre = Layer::default();
                contract_record(
                    &mut pre,
                    address,
                    &ContractInfo {
                        code_hash,
                        creator: me,
                        instantiated_at: height,
                    },
                );
                d.layers.push(pre);
                let code = sub_call(
                    &mut c,
                    gas,
                    Invoke {
                        caller: me,
                        contract: address,
                        code_hash,
                        entry: "init".into(),
                        input,
                        value,
                        optional: true,
                    },
                );
                let d = c.data_mut();
                let pre = d.layers.pop().expect("pushed above");
                let code = code?;
                if code == 0 {
                    d.top().absorb(pre);
                    write(&mut c, op, &address.0)?;
                }
                Ok(code)
            },
        ),
        "result_len" => Func::wrap(cx, |mut c: C<'_, 'r>| -> Result<u32, WasmError> {
            base(&mut c)?;
            Ok(c.data_mut().frame().last.len() as u32)
        }),
        "result_read" => Func::wrap(cx, |mut c: C<'_, 'r>, ptr: u32| -> Result<(), WasmError> {
            base(&mut c)?;
            let last = c.data_mut().frame().last.clone();
            write(&mut c, ptr, &last)
        }),
        "sha256" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>, ptr: u32, len: u32, out: u32| -> Result<(), WasmError> {
                let (g, per) = {
                    let p = &c.data().params.gas;
                    (p.sha256, p.sha256_per_byte)
                };
                charge(&mut c, g + per * len as u64)?;
                let data = read(&mut c, ptr, len, u32::MAX, "sha256 input")?;
                let h = crate::crypto::sha256(&data);
                write(&mut c, out, &h.0)
            },
        ),
        "ed25519_verify" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>, kp: u32, sp: u32, mp: u32, ml: u32| -> Result<i32, WasmError> {
                let g = c.data().params.gas.ed25519_verify;
                charge(&mut c, g)?;
                let key = read(&mut c, kp, 32, 32, "public key")?;
                let sig = read(&mut c, sp, 64, 64, "signature")?;
                let msg = read(&mut c, mp, ml, u32::MAX, "message")?;
                let key = crate::types::PublicKey(key.try_into().expect("32 bytes"));
                let sig = crate::types::Signature(sig.try_into().expect("64 bytes"));
                Ok(crate::crypto::verify(&key, &msg, &sig).is_ok() as i32)
            },
        ),
        "debug_log" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>, ptr: u32, len: u32| -> Result<(), WasmError> {
                base(&mut c)?;
                let line = read(&mut c, ptr, len, 4096, "debug line")?;
                let d = c.data_mut();
                if d.vm.dev {
                    let line = String::from_utf8_lossy(&line).into_owned();
                    tracing::info!(target: "batara::vm::debug", contract = %d.frame().contract, "{line}");
                    d.logs.push(line);
                }
                Ok(())
            },
        ),
        "addr_canonicalize" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>, ptr: u32, len: u32, out: u32| -> Result<i32, WasmError> {
                base(&mut c)?;
                let text = read(&mut c, ptr, len, 128, "address text")?;
                let parsed = std::str::from_utf8(&text)
                    .ok()
                    .and_then(|t| t.parse::<Address>().ok());
                match parsed {
                    Some(a) => write(&mut c, out, &a.0).map(|()| 0),
                    None => Ok(1),
                }
            },
        ),
        "addr_humanize" => Func::wrap(
            cx,
            |mut c: C<'_, 'r>, ptr: u32, out: u32, cap: u32| -> Result<u32, WasmError> {
                base(&mut c)?;
                let a = read_address(&mut c, ptr)?;
                let text = a.to_string().into_bytes();
                if text.len() <= cap as usize {
                    write(&mut c, out, &text)?;
                }
                Ok(text.len() as u32)
            },
        ),
        "gas_left" => Func::wrap(cx, |mut c: C<'_, 'r>| -> Result<u64, WasmError> {
            base(&mut c)?;
            c.get_fuel()
        }),
        other => unreachable!("{other} is not in HOST_NAMES"),
    }
}

/// Topics of `emit`: each a length byte and that many bytes of UTF-8.
fn parse_topics(mut raw: &[u8], max: u32) -> Result<Vec<String>, WasmError> {
    let mut topics = vec![];
    while let Some((&len, rest)) = raw.split_first() {
        if rest.len() < len as usize {
            return Err(rule("event topics: a topic runs past the buffer"));
        }
        let (t, rest) = rest.split_at(len as usize);
        topics.push(String::from_utf8(t.to_vec()).map_err(|_| rule("event topic is not UTF-8"))?);
        raw = rest;
    }
    if topics.len() as u32 > max {
        return Err(rule(format!("{} event topics, limit {max}", topics.len())));
    }
    Ok(topics)
}
