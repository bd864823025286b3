//! `batara._native`: the Python binding of the Batara node (PyO3, abi3, Python ≥ 3.9).
//!
//! Host contract:
//! * Every call that reads storage, takes a node lock or waits (every read of `Node` and
//!   `ChainReader`, submit, transfer, mine, the dev controls, waits, the block stream, stop, the
//!   CLI) releases the GIL while it does, and holds no lock of this binding across the release
//!   (a call clones what it needs — the handle, an `Arc` — and lets go of any lock first), so
//!   other Python threads run meanwhile and none can deadlock against it. Arguments are parsed
//!   and results built as Python objects with the GIL held, around the released part.
//! * Waits (`wait`, `submit`/`transfer` with `wait`, the block stream) run in slices of
//!   [`SLICE`] and check for signals between them, so Ctrl-C interrupts them with
//!   `KeyboardInterrupt`; within a slice they sleep until woken (no polling).
//! * A `Node` owns its node: it stops on `stop()`, on leaving a `with` block, or when the object
//!   is garbage-collected. Objects are thread-safe (`frozen`); any thread may call them.
//! * Errors are mapped in one place ([`to_py`]) to the exception classes declared here, all
//!   subclasses of `BataraError`; `TxRejected.reason` is the stable reason code.
//! * Integer and seconds arguments are extracted by [`uint`] / [`seconds`]: a value of the wrong
//!   kind or out of range is `InvalidInput`, never `OverflowError`/`TypeError` (unknown keyword
//!   arguments and non-str/bytes values keep Python's `TypeError`).
//! * The sync API never touches asyncio, so it works inside Jupyter's running event loop.
//!
//! Must never: hold node logic — every call goes through `batara_core::node::NodeHandle`.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use batara_core::api::ChainReader as CoreReader;
use batara_core::api::{self, NodeApi, SkipTarget, WeakNode};
use batara_core::app::genesis;
use batara_core::app::genesis::Genesis;
use batara_core::consensus::DevMode;
use batara_core::crypto;
use batara_core::mempool::Rejection;
use batara_core::node::NodeConfig;
use batara_core::node::{
    BlockId, BlockReceiver, BlockView, DevOptions, Node as CoreNode, NodeHandle, NodeOptions,
    RecvError, WeakNodeHandle,
};
use batara_core::types::{Address, Hash, PublicKey, Signature, TxKind};
use batara_core::{Error, ErrorKind};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt};

create_exception!(
    _native,
    BataraError,
    PyException,
    "Base class of every Batara error."
);
create_exception!(
    _native,
    TxRejected,
    BataraError,
    "A transaction was refused; `reason` says which check failed."
);
create_exception!(
    _native,
    NotFound,
    BataraError,
    "No such block, transaction, account height or snapshot."
);
create_exception!(
    _native,
    InvalidInput,
    BataraError,
    "A malformed argument: address, hash, bytes, amount, ..."
);
create_exception!(
    _native,
    Timeout,
    BataraError,
    "Waiting took longer than allowed."
);
create_exception!(
    _native,
    NodeStopped,
    BataraError,
    "The node has been stopped."
);
create_exception!(
    _native,
    NotDevChain,
    BataraError,
    "A dev control on a node that is not a dev chain."
);
create_exception!(
    _native,
    ConfigError,
    BataraError,
    "Configuration, genesis or key file problem."
);
create_exception!(
    _native,
    StorageError,
    BataraError,
    "Disk, database or network I/O failed."
);

/// How long a blocking call waits with the GIL released before checking for Ctrl-C.
const SLICE: Duration = Duration::from_millis(50);

fn rejected(py: Python<'_>, r: &Rejection) -> PyErr {
    let e = TxRejected::new_err(format!("transaction rejected: {r}"));
    let _ = e.value(py).setattr("reason", r.code());
    e
}

/// The exception class of each error kind: the one mapping from core errors to Python
/// (`api::ERROR_TABLE` names the class; `error_table()` reports this mapping for the tests).
fn exception_type(py: Python<'_>, kind: ErrorKind) -> Bound<'_, pyo3::types::PyType> {
    match kind {
        ErrorKind::Rejected => py.get_type::<TxRejected>(),
        ErrorKind::NotFound => py.get_type::<NotFound>(),
        ErrorKind::InvalidInput => py.get_type::<InvalidInput>(),
        ErrorKind::Timeout => py.get_type::<Timeout>(),
        ErrorKind::Stopped => py.get_type::<NodeStopped>(),
        ErrorKind::NotDev => py.get_type::<NotDevChain>(),
        ErrorKind::Config => py.get_type::<ConfigError>(),
        ErrorKind::Io => py.get_type::<StorageError>(),
        ErrorKind::Internal => py.get_type::<BataraError>(),
    }
}

fn to_py(e: Error) -> PyErr {
    Python::attach(|py| {
        if let Error::Rejected(r) = &e {
            return rejected(py, r);
        }
        PyErr::from_type(exception_type(py, e.kind()), e.to_string())
    })
}

fn invalid(msg: impl Into<String>) -> PyErr {
    InvalidInput::new_err(msg.into())
}

/// The unsigned integer types of arguments ([`uint`]).
trait UInt: Copy + std::fmt::Display + for<'a, 'py> FromPyObject<'a, 'py> {
    const MAX: Self;
}

macro_rules! uint_types {
    ($($t:ty),*) => { $(impl UInt for $t { const MAX: Self = <$t>::MAX; })* };
}
uint_types!(u32, u64, u128, usize);

/// An unsigned integer argument (`#[pyo3(from_py_with = uint)]`): an int from 0 to `T::MAX`.
/// Anything else — a negative or too large int, a bool, a float, a str — is `InvalidInput`
/// stating the range, not Python's `OverflowError` or `TypeError`, so every bad argument is a
/// `BataraError`; pyo3 adds the argument's name as a note ("while processing 'accounts'").
fn uint<T: UInt>(v: &Bound<'_, PyAny>) -> PyResult<T> {
    let int = v.is_instance_of::<PyInt>() && !v.is_instance_of::<PyBool>();
    int.then(|| v.extract::<T>().ok()).flatten().ok_or_else(|| {
        invalid(format!(
            "expected an int from 0 to {}, got {}",
            T::MAX,
            shown(v)
        ))
    })
}

/// `repr(v)` for an error message.
fn shown(v: &Bound<'_, PyAny>) -> String {
    v.repr().map_or_else(|_| "?".into(), |r| r.to_string())
}

/// `None`, or `f(v)`.
fn optional<T>(
    v: &Bound<'_, PyAny>,
    f: fn(&Bound<'_, PyAny>) -> PyResult<T>,
) -> PyResult<Option<T>> {
    if v.is_none() {
        Ok(None)
    } else {
        f(v).map(Some)
    }
}

/// An optional [`uint`] argument (None is None).
fn opt_uint<T: UInt>(v: &Bound<'_, PyAny>) -> PyResult<Option<T>> {
    optional(v, uint)
}

/// A number of seconds (int or float; its range is checked where it is used, [`deadline_after`]).
fn seconds(v: &Bound<'_, PyAny>) -> PyResult<f64> {
    match v.extract::<f64>() {
        Ok(s) if !v.is_instance_of::<PyBool>() => Ok(s),
        _ => Err(invalid(format!(
            "timeout must be a number of seconds, got {}",
            shown(v)
        ))),
    }
}

/// An optional [`seconds`] argument (None waits for ever).
fn opt_seconds(v: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    optional(v, seconds)
}

fn parse_address(s: &str) -> PyResult<Address> {
    api::parse::address(s).map_err(|e| invalid(e.to_string()))
}

fn parse_hash(s: &str) -> PyResult<Hash> {
    api::parse::hash(s).map_err(|e| invalid(e.to_string()))
}

fn fixed<const N: usize>(b: &[u8], what: &str) -> PyResult<[u8; N]> {
    api::parse::bytes(b, what).map_err(|e| invalid(e.to_string()))
}

/// The error table as this binding applies it: per kind, its JSON-RPC code, the Python exception
/// class it raises, the JS code and the C result (from `api::ERROR_TABLE`). The Python `Client`
/// maps JSON-RPC codes with it; the tests check it against `tests/vectors/errors.json`.
#[pyfunction]
fn error_table(py: Python<'_>) -> PyResult<Vec<Py<PyAny>>> {
    api::ERROR_TABLE
        .iter()
        .map(|row| {
            let d = pyo3::types::PyDict::new(py);
            d.set_item("kind", row.kind.name())?;
            d.set_item("rpc_code", row.rpc_code)?;
            d.set_item("python", exception_type(py, row.kind).name()?)?;
            d.set_item("js", row.js)?;
            d.set_item("c", row.c)?;
            Ok(d.into_any().unbind())
        })
        .collect()
}

/// Converts a serde value to Python objects through `json` (dicts, lists, str, int, None).
fn to_python<T: serde::Serialize>(py: Python<'_>, v: &T) -> PyResult<Py<PyAny>> {
    let s = serde_json::to_string(v).map_err(|e| BataraError::new_err(e.to_string()))?;
    loads(py, s)
}

fn loads(py: Python<'_>, json: String) -> PyResult<Py<PyAny>> {
    Ok(py.import("json")?.call_method1("loads", (json,))?.unbind())
}

/// Runs the read `f` and serialises its result to JSON with the GIL released; only the parse into
/// Python objects holds it.
fn read_json<T: serde::Serialize>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T, Error> + Send,
) -> PyResult<Py<PyAny>> {
    let json = py.detach(|| f().map(|v| serde_json::to_string(&v)));
    let json = json
        .map_err(to_py)?
        .map_err(|e| BataraError::new_err(e.to_string()))?;
    loads(py, json)
}

/// The deadline `seconds` from now; `None` or infinity waits (practically) for ever.
fn deadline_after(seconds: Option<f64>) -> PyResult<Instant> {
    const FOREVER: Duration = api::MAX_WAIT;
    let d = match seconds {
        None => FOREVER,
        Some(s) if s == f64::INFINITY => FOREVER,
        Some(s) => Duration::try_from_secs_f64(s)
            .map_err(|_| {
                invalid(format!(
                    "timeout must be a non-negative number of seconds, got {s}"
                ))
            })?
            .min(FOREVER),
    };
    Instant::now()
        .checked_add(d)
        .ok_or_else(|| invalid("timeout too large"))
}

/// Runs a blocking wait in GIL-free slices until `step` gives `Some`, `deadline` passes, or a
/// signal (Ctrl-C) arrives.
fn wait_slices<T: Send>(
    py: Python<'_>,
    deadline: Instant,
    mut step: impl FnMut(Duration) -> Result<Option<T>, Error> + Send,
    what: &str,
) -> PyResult<T> {
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(Timeout::new_err(format!("{what}: timed out")));
        }
        let slice = SLICE.min(deadline - now);
        if let Some(v) = py.detach(|| step(slice)).map_err(to_py)? {
            return Ok(v);
        }
        py.check_signals()?;
    }
}

/// Wakes the thread that polls a future (see [`poll_until`]).
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `fut` on this thread until it completes (`Some`) or `until` passes (`None`), sleeping
/// (parked) until its waker fires in between: a wait without polling and without a runtime (the
/// node's block channel is runtime-agnostic).
fn poll_until<F: Future>(fut: F, until: Instant) -> Option<F::Output> {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
        let now = Instant::now();
        if now >= until {
            return None;
        }
        std::thread::park_timeout(until - now);
    }
}

/// An ed25519 key pair (RFC 8032: other libraries verify its signatures).
#[pyclass(frozen, module = "batara._native")]
#[derive(Clone)]
struct Keypair {
    inner: crypto::Keypair,
}

#[pymethods]
impl Keypair {
    /// A new random key.
    #[staticmethod]
    fn generate() -> PyResult<Self> {
        crypto::Keypair::generate()
            .map(|inner| Keypair { inner })
            .map_err(|e| BataraError::new_err(e.to_string()))
    }

    /// The key with this 32-byte RFC 8032 secret seed.
    #[staticmethod]
    fn from_seed(seed: &[u8]) -> PyResult<Self> {
        Ok(Keypair {
            inner: crypto::Keypair::from_seed(&fixed::<32>(seed, "seed")?),
        })
    }

    /// Reads a key file (`batara keys new`, `batara dev`).
    #[staticmethod]
    fn from_file(path: PathBuf) -> PyResult<Self> {
        batara_core::validator::read_key_file(&path)
            .map(|inner| Keypair { inner })
            .map_err(|e| to_py(e.into()))
    }

    /// Writes this key to a new key file (mode 0600; never overwrites).
    fn write(&self, path: PathBuf) -> PyResult<()> {
        batara_core::validator::write_key_file(&path, &self.inner).map_err(|e| to_py(e.into()))
    }

    /// The bech32 address (`bat1…`).
    #[getter]
    fn address(&self) -> String {
        self.inner.address().to_string()
    }

    /// The 32-byte public key.
    #[getter]
    fn public_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.public_key().0)
    }

    /// The 32-byte secret seed.
    #[getter]
    fn seed<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.seed())
    }

    /// Signs `message`; 64 bytes.
    fn sign<'py>(&self, py: Python<'py>, message: &[u8]) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.sign(message).0)
    }

    /// True when `signature` is this key's signature of `message`.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        verify(&self.inner.public_key().0, message, signature)
    }

    fn __repr__(&self) -> String {
        format!("Keypair({})", self.inner.address())
    }
}

/// Verifies a signature with the node's rule (strict encodings, cofactored equation).
#[pyfunction]
fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    match (
        <[u8; 32]>::try_from(public_key),
        <[u8; 64]>::try_from(signature),
    ) {
        (Ok(pk), Ok(sig)) => crypto::verify(&PublicKey(pk), message, &Signature(sig)).is_ok(),
        _ => false,
    }
}

/// The address (`bat1…`) of a 32-byte public key.
#[pyfunction]
fn address_of(public_key: &[u8]) -> PyResult<String> {
    Ok(PublicKey(fixed::<32>(public_key, "public_key")?)
        .address()
        .to_string())
}

/// Well-known funded dev account `index` (never for real value).
#[pyfunction]
fn dev_account(#[pyo3(from_py_with = uint)] index: u32) -> Keypair {
    Keypair {
        inner: genesis::dev_account_key(index),
    }
}

/// An unsigned transaction: a kind and a fee.
#[pyclass(frozen, module = "batara._native")]
struct Transaction {
    kind: TxKind,
    fee: u128,
}

/// A signed transaction: its canonical bytes and hash.
#[pyclass(frozen, module = "batara._native")]
struct SignedTransaction {
    raw: Vec<u8>,
    hash: Hash,
}

#[pymethods]
impl SignedTransaction {
    /// The canonical bytes (what `submit` takes).
    #[getter]
    fn raw<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.raw)
    }

    /// The transaction hash, 0x-hex.
    #[getter]
    fn hash(&self) -> String {
        self.hash.to_string()
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.raw(py)
    }

    fn __repr__(&self) -> String {
        format!("SignedTransaction({})", self.hash)
    }
}

#[pymethods]
impl Transaction {
    /// A transaction of `kind` — JSON text of the shape JSON-RPC prints, e.g.
    /// `{"type": "transfer", "to": "bat1…", "amount": "5"}` — paying `fee`. The typed builders
    /// (`batara.Transaction.transfer`, …) are written in Python on top of this.
    #[staticmethod]
    #[pyo3(signature = (kind, fee = 0))]
    fn from_kind(kind: &str, #[pyo3(from_py_with = uint)] fee: u128) -> PyResult<Self> {
        Ok(Transaction {
            kind: api::parse::tx_kind(kind).map_err(|e| invalid(e.to_string()))?,
            fee,
        })
    }

    /// The kind as JSON text.
    #[getter]
    fn kind(&self) -> String {
        serde_json::to_string(&self.kind).expect("a kind serialises")
    }

    /// Signs for `chain_id` with `nonce`.
    fn sign(
        &self,
        keypair: &Keypair,
        #[pyo3(from_py_with = uint)] nonce: u64,
        chain_id: &str,
    ) -> SignedTransaction {
        let tx = api::parse::sign(self.kind.clone(), self.fee, nonce, chain_id, &keypair.inner);
        SignedTransaction {
            raw: tx.to_bytes(),
            hash: tx.hash(),
        }
    }

    /// The fee.
    #[getter]
    fn fee(&self) -> u128 {
        self.fee
    }
}

/// An account: balance, next nonce, staked amount (ints).
#[pyclass(frozen, module = "batara._native", get_all)]
struct Account {
    address: String,
    balance: u128,
    nonce: u64,
    staked: u128,
}

#[pymethods]
impl Account {
    fn __repr__(&self) -> String {
        format!(
            "Account(address={}, balance={}, nonce={}, staked={})",
            self.address, self.balance, self.nonce, self.staked
        )
    }
}

/// A stream of committed blocks (see `Node.blocks()`).
#[pyclass(frozen, module = "batara._native")]
struct BlockStream {
    /// Locked only with the GIL released (inside a slice of a wait), never across a release.
    rx: Mutex<BlockReceiver>,
    node: WeakNodeHandle,
    missed: AtomicU64,
}

#[pymethods]
impl BlockStream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.next(py, None)
    }

    /// The next block; `timeout` in seconds (None waits for ever). Sleeps until the node's block
    /// channel wakes it (no polling). A stream that falls more than 1024 blocks behind skips the
    /// oldest ones, counted in `missed`.
    #[pyo3(signature = (timeout = None))]
    fn next(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = opt_seconds)] timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let deadline = deadline_after(timeout)?;
        let (rx, node, missed) = (&self.rx, &self.node, &self.missed);
        let b = wait_slices(
            py,
            deadline,
            |slice| {
                let mut rx = rx.lock().map_err(|_| Error::Stopped)?;
                let end = Instant::now() + slice;
                loop {
                    if node.upgrade().is_none() {
                        return Err(Error::Stopped);
                    }
                    match poll_until(rx.recv(), end) {
                        None => return Ok(None),
                        Some(Ok(b)) => return Ok(Some(b)),
                        Some(Err(RecvError::Lagged(n))) => {
                            missed.fetch_add(n, Ordering::Relaxed);
                        }
                        Some(Err(RecvError::Closed)) => return Err(Error::Stopped),
                    }
                }
            },
            "waiting for a block",
        );
        match b {
            Ok(b) => to_python(py, &BlockView::from_committed(&b)),
            Err(e) if e.is_instance_of::<NodeStopped>(py) => {
                Err(pyo3::exceptions::PyStopIteration::new_err(()))
            }
            Err(e) => Err(e),
        }
    }

    /// Blocks skipped so far because this stream fell more than 1024 blocks behind.
    #[getter]
    fn missed(&self) -> u64 {
        self.missed.load(Ordering::Relaxed)
    }
}

/// An embedded Batara node.
#[pyclass(frozen, module = "batara._native")]
struct Node {
    handle: NodeHandle,
    accounts: Vec<Keypair>,
}

fn block_id(id: Option<&Bound<'_, PyAny>>) -> PyResult<BlockId> {
    let Some(id) = id else {
        return Ok(BlockId::Latest);
    };
    if id.is_none() {
        return Ok(BlockId::Latest);
    }
    if let Ok(h) = id.extract::<u64>() {
        return Ok(BlockId::Height(h));
    }
    if let Ok(s) = id.extract::<String>() {
        return api::parse::block_id(&s).map_err(|e| invalid(e.to_string()));
    }
    Err(invalid(
        "block must be a height (int), a 0x hash or 'latest'",
    ))
}

#[pymethods]
impl Node {
    /// A dev chain: `accounts` funded well-known accounts, one validator. `mode` is "auto" (a block
    /// as soon as transactions wait), "interval" (every `block_time_ms`) or "manual" (`mine()`).
    /// In memory unless `data_dir` is given; JSON-RPC only if `rpc_addr` is (e.g. "127.0.0.1:0").
    #[staticmethod]
    #[pyo3(signature = (accounts = 10, mode = "auto", block_time_ms = 1000, data_dir = None, rpc_addr = None, chain_id = "batara-dev"))]
    fn dev(
        py: Python<'_>,
        #[pyo3(from_py_with = uint)] accounts: u32,
        mode: &str,
        #[pyo3(from_py_with = uint)] block_time_ms: u64,
        data_dir: Option<PathBuf>,
        rpc_addr: Option<&str>,
        chain_id: &str,
    ) -> PyResult<Self> {
        let mode: DevMode = mode.parse().map_err(invalid)?;
        let rpc_addr = rpc_addr
            .map(|a| {
                a.parse()
                    .map_err(|e| invalid(format!("rpc_addr {a:?}: {e}")))
            })
            .transpose()?;
        let opts = DevOptions {
            chain_id: chain_id.to_owned(),
            accounts,
            mode,
            block_time_ms,
            data_dir,
            rpc_addr,
        };
        let handle = py.detach(|| CoreNode::dev(opts)).map_err(to_py)?;
        let accounts = handle
            .genesis()
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (genesis::dev_account_key(i as u32), a.address))
            .take_while(|(k, a)| k.address() == *a)
            .map(|(inner, _)| Keypair { inner })
            .collect();
        Ok(Node { handle, accounts })
    }

    /// Starts a node from a config (a dict, or the path of a `config.toml`), a genesis (a dict, or
    /// the path of a `genesis.json`) and, for a validator, its key.
    #[staticmethod]
    #[pyo3(signature = (config, genesis, validator_key = None))]
    fn start(
        py: Python<'_>,
        config: &Bound<'_, PyAny>,
        genesis: &Bound<'_, PyAny>,
        validator_key: Option<&Keypair>,
    ) -> PyResult<Self> {
        let json = py.import("json")?;
        let config = if config.is_instance_of::<pyo3::types::PyDict>() {
            let text: String = json.call_method1("dumps", (config,))?.extract()?;
            NodeConfig::from_json(&text).map_err(|e| to_py(e.into()))?
        } else {
            let path: PathBuf = config.extract()?;
            NodeConfig::load(&path).map_err(|e| to_py(e.into()))?
        };
        let genesis = if genesis.is_instance_of::<pyo3::types::PyDict>() {
            let text: String = json.call_method1("dumps", (genesis,))?.extract()?;
            Genesis::from_json(&text).map_err(|e| to_py(e.into()))?
        } else {
            let path: PathBuf = genesis.extract()?;
            Genesis::load(&path).map_err(|e| to_py(e.into()))?
        };
        let opts = NodeOptions {
            config,
            genesis,
            validator_key: validator_key.map(|k| k.inner.clone()),
        };
        let handle = py.detach(|| CoreNode::start(opts)).map_err(to_py)?;
        Ok(Node {
            handle,
            accounts: vec![],
        })
    }

    /// Starts the node in a home directory written by `batara init` (or `batara dev`).
    #[staticmethod]
    fn from_home(py: Python<'_>, home: PathBuf) -> PyResult<Self> {
        let handle = py
            .detach(|| NodeOptions::from_home(&home).and_then(CoreNode::start))
            .map_err(to_py)?;
        Ok(Node {
            handle,
            accounts: vec![],
        })
    }

    /// The chain id.
    #[getter]
    fn chain_id(&self) -> String {
        self.handle.chain_id().to_owned()
    }

    /// The funded dev accounts (empty for other chains).
    #[getter]
    fn accounts(&self) -> Vec<Keypair> {
        self.accounts.clone()
    }

    /// The JSON-RPC URL, or None.
    #[getter]
    fn rpc_url(&self) -> Option<String> {
        self.handle.rpc_addr().map(|a| format!("http://{a}"))
    }

    /// The head height.
    #[getter]
    fn height(&self) -> u64 {
        self.handle.chain().head().header.height
    }

    /// Node status (dict).
    fn info(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        read_json(py, || Ok(self.handle.info()))
    }

    /// Submits signed transaction bytes; returns the hash. With `wait`, returns after it commits.
    #[pyo3(signature = (tx, wait = false, timeout = 60.0))]
    fn submit(
        &self,
        py: Python<'_>,
        tx: &[u8],
        wait: bool,
        #[pyo3(from_py_with = seconds)] timeout: f64,
    ) -> PyResult<String> {
        let h = py.detach(|| self.handle.submit(tx)).map_err(to_py)?;
        if wait {
            self.wait(py, &h.to_string(), timeout)?;
        }
        Ok(h.to_string())
    }

    /// Submits many signed transactions at once (signatures batch-verified on all cores). Returns
    /// one item per transaction: its hash, or the `TxRejected` it got (not raised).
    fn submit_batch(&self, py: Python<'_>, txs: Vec<Vec<u8>>) -> PyResult<Vec<Py<PyAny>>> {
        let results = py.detach(|| self.handle.submit_batch(&txs));
        results
            .into_iter()
            .map(|r| match r {
                Ok(h) => Ok(h.to_string().into_pyobject(py)?.into_any().unbind()),
                Err(e) => Ok(rejected(py, &e).into_value(py).into_any()),
            })
            .collect()
    }

    /// Waits until transaction `hash` is committed; returns it with its receipt (dict).
    #[pyo3(signature = (hash, timeout = 60.0))]
    fn wait(
        &self,
        py: Python<'_>,
        hash: &str,
        #[pyo3(from_py_with = seconds)] timeout: f64,
    ) -> PyResult<Py<PyAny>> {
        let h = parse_hash(hash)?;
        let deadline = deadline_after(Some(timeout))?;
        let t = wait_slices(
            py,
            deadline,
            |slice| match self.handle.wait_for_tx(&h, slice) {
                Ok(t) => Ok(Some(t)),
                Err(Error::Timeout(_)) => Ok(None),
                Err(e) => Err(e),
            },
            &format!("waiting for transaction {h}{}", self.handle.pending_hint()),
        )?;
        to_python(py, &t)
    }

    /// Builds, signs (next nonce) and submits a transfer; with `wait`, returns after it commits.
    /// `fee` defaults to the node's minimum (`info()["min_fee"]`).
    #[pyo3(signature = (keypair, to, amount, fee = None, wait = true))]
    fn transfer(
        &self,
        py: Python<'_>,
        keypair: &Keypair,
        to: &str,
        #[pyo3(from_py_with = uint)] amount: u128,
        #[pyo3(from_py_with = opt_uint)] fee: Option<u128>,
        wait: bool,
    ) -> PyResult<String> {
        let to = parse_address(to)?;
        let h = py
            .detach(|| {
                let fee = fee.unwrap_or_else(|| self.handle.min_fee());
                self.handle.transfer(&keypair.inner, to, amount, fee, false)
            })
            .map_err(to_py)?;
        if wait {
            self.wait(py, &h.to_string(), 60.0)?;
        }
        Ok(h.to_string())
    }

    /// The next nonce of `address`, counting pending transactions.
    fn next_nonce(&self, py: Python<'_>, address: &str) -> PyResult<u64> {
        let a = parse_address(address)?;
        py.detach(|| self.handle.next_nonce(&a)).map_err(to_py)
    }

    /// An account at the head (or after block `height`).
    #[pyo3(signature = (address, height = None))]
    fn account(
        &self,
        py: Python<'_>,
        address: &str,
        #[pyo3(from_py_with = opt_uint)] height: Option<u64>,
    ) -> PyResult<Account> {
        read_account(py, self.handle.reader(), address, height)
    }

    /// The latest balance of an address (int; 0 with no account): one read, from memory when
    /// the account is hot. Keeps the GIL: the read is shorter than releasing it.
    fn balance(&self, address: &str) -> PyResult<u128> {
        read_balance(self.handle.reader(), address)
    }

    /// The latest balances of up to 10,000 addresses (list of ints, in order), all after one
    /// block.
    fn balances(&self, py: Python<'_>, addresses: Vec<String>) -> PyResult<Vec<u128>> {
        read_balances(py, self.handle.reader(), &addresses)
    }

    /// Up to `limit` accounts with addresses after `after`, in address order:
    /// `{"accounts": [...], "next": address or None}`.
    #[pyo3(signature = (after = None, limit = 1000))]
    fn account_page(
        &self,
        py: Python<'_>,
        after: Option<&str>,
        #[pyo3(from_py_with = uint)] limit: usize,
    ) -> PyResult<Py<PyAny>> {
        read_accounts(py, self.handle.reader(), after, limit)
    }

    /// A block (dict): by height, 0x hash, or the latest.
    #[pyo3(signature = (block = None))]
    fn block(&self, py: Python<'_>, block: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        read_block(py, self.handle.reader(), block)
    }

    /// The receipts of a block's transactions, in block order (list of dicts).
    #[pyo3(signature = (block = None))]
    fn receipts(&self, py: Python<'_>, block: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        read_receipts(py, self.handle.reader(), block)
    }

    /// A committed transaction with its receipt (dict).
    fn transaction(&self, py: Python<'_>, hash: &str) -> PyResult<Py<PyAny>> {
        read_transaction(py, self.handle.reader(), hash)
    }

    /// An account with a proof against a header's state root (dict).
    #[pyo3(signature = (address, height = None))]
    fn proof(
        &self,
        py: Python<'_>,
        address: &str,
        #[pyo3(from_py_with = opt_uint)] height: Option<u64>,
    ) -> PyResult<Py<PyAny>> {
        let a = parse_address(address)?;
        read_json(py, || self.handle.proof(&a, height))
    }

    /// The validator set of block `height`, or of the next block (list of dicts).
    #[pyo3(signature = (height = None))]
    fn validators(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = opt_uint)] height: Option<u64>,
    ) -> PyResult<Py<PyAny>> {
        read_validators(py, self.handle.reader(), height)
    }

    /// A validator's staking record, power and its operator's unbonding funds (dict).
    fn validator(&self, py: Python<'_>, address: &str) -> PyResult<Py<PyAny>> {
        read_validator(py, self.handle.reader(), address)
    }

    /// An account's delegations with their worth and pending rewards, and its unbonding funds
    /// (dict: delegator, delegations, total_amount, total_rewards, unbonding).
    fn delegations(&self, py: Python<'_>, delegator: &str) -> PyResult<Py<PyAny>> {
        read_delegations(py, self.handle.reader(), delegator)
    }

    /// A page of a validator's delegators (dict: validator, delegations, next).
    #[pyo3(signature = (validator, after = None, limit = 1000))]
    fn delegators(
        &self,
        py: Python<'_>,
        validator: &str,
        after: Option<&str>,
        limit: usize,
    ) -> PyResult<Py<PyAny>> {
        read_delegators(py, self.handle.reader(), validator, after, limit)
    }

    /// A delegator's pending rewards per validator (dict: delegator, rewards, total).
    fn rewards(&self, py: Python<'_>, delegator: &str) -> PyResult<Py<PyAny>> {
        read_rewards(py, self.handle.reader(), delegator)
    }

    /// The community pool, outstanding rewards and supply counters (dict).
    fn community_pool(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        read_json(py, || self.handle.reader().community_pool())
    }

    /// A governance proposal with its deposits and tally (dict; NotFound if none).
    fn proposal(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = uint)] id: u64,
    ) -> PyResult<Py<PyAny>> {
        read_json(py, || self.handle.reader().proposal(id))
    }

    /// A page of proposals by id (dict: proposals, next), of `status` if given.
    #[pyo3(signature = (status = None, after = None, limit = 100))]
    fn proposals(
        &self,
        py: Python<'_>,
        status: Option<&str>,
        #[pyo3(from_py_with = opt_uint)] after: Option<u64>,
        limit: usize,
    ) -> PyResult<Py<PyAny>> {
        read_json(py, || self.handle.reader().proposals(status, after, limit))
    }

    /// A page of a proposal's votes (dict: proposal, votes, next).
    #[pyo3(signature = (id, after = None, limit = 1000))]
    fn votes(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = uint)] id: u64,
        after: Option<&str>,
        limit: usize,
    ) -> PyResult<Py<PyAny>> {
        read_votes(py, self.handle.reader(), id, after, limit)
    }

    /// Governance parameters in force and the parameter sets proposals may change (dict).
    fn gov_params(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        read_json(py, || self.handle.reader().gov_params())
    }

    /// A contract's record (dict: code_hash, creator, instantiated_at, balance), at the head or
    /// after block `height`.
    #[pyo3(signature = (address, height = None))]
    fn contract_info(
        &self,
        py: Python<'_>,
        address: &str,
        #[pyo3(from_py_with = opt_uint)] height: Option<u64>,
    ) -> PyResult<Py<PyAny>> {
        let a = parse_address(address)?;
        read_json(py, || self.handle.contract(&a, height))
    }

    /// Stored contract code (dict: code_hash, uploader, size, deposit, uploaded_at, wasm hex).
    fn code(&self, py: Python<'_>, code_hash: &str) -> PyResult<Py<PyAny>> {
        let h = parse_hash(code_hash)?;
        read_json(py, || self.handle.code(&h))
    }

    /// Every host call of contract transaction `tx_hash` (dict: tx_hash, height, status,
    /// gas_used, error, calls), as JSON-RPC `vm_traceTransaction` (dev nodes keep them).
    fn trace(&self, py: Python<'_>, tx_hash: &str) -> PyResult<Py<PyAny>> {
        let h = parse_hash(tx_hash)?;
        read_json(py, || self.handle.trace(&h))
    }

    /// Submits evidence that a validator signed two conflicting votes (a dict `{vote_a,
    /// vote_b}`, the shape blocks carry) to this BFT node; returns its hash. InvalidInput naming
    /// the cause (not verifying, too old, punished already, a dev chain).
    fn submit_evidence(&self, py: Python<'_>, evidence: &Bound<'_, PyAny>) -> PyResult<String> {
        let text: String = py
            .import("json")?
            .call_method1("dumps", (evidence,))?
            .extract()?;
        let e: batara_core::types::DuplicateVoteEvidence = serde_json::from_str(&text)
            .map_err(|e| invalid(format!("evidence must be {{vote_a, vote_b}}: {e}")))?;
        let h = py
            .detach(|| self.handle.submit_evidence(e))
            .map_err(to_py)?;
        Ok(h.to_string())
    }

    /// Writes a consistent backup of the chain, as of its latest block, into the new directory
    /// `dir` while the node runs (dict: dir, chain_id, height, hash, state_root, bytes,
    /// created_ms); `dir=None`: a new directory in the node's `backup_dir`.
    #[pyo3(signature = (dir = None))]
    fn backup(&self, py: Python<'_>, dir: Option<PathBuf>) -> PyResult<Py<PyAny>> {
        read_json(py, || self.handle.backup(dir.as_deref()))
    }

    /// A contract's storage slot (dict: value hex or None, height, and a proof if `prove`).
    #[pyo3(signature = (contract, slot, height = None, prove = false))]
    fn storage(
        &self,
        py: Python<'_>,
        contract: &str,
        slot: Vec<u8>,
        #[pyo3(from_py_with = opt_uint)] height: Option<u64>,
        prove: bool,
    ) -> PyResult<Py<PyAny>> {
        let c = parse_address(contract)?;
        read_json(py, || self.handle.storage(&c, &slot, height, prove))
    }

    /// A read-only call of `method` with input `args` (bytes), nothing written (dict: output
    /// hex, gas_used, events, error). `gas` 0 is the chain's transaction limit.
    #[pyo3(signature = (contract, method, args, caller = None, gas = 0))]
    fn query_raw(
        &self,
        py: Python<'_>,
        contract: &str,
        method: &str,
        args: Vec<u8>,
        caller: Option<&str>,
        #[pyo3(from_py_with = uint)] gas: u64,
    ) -> PyResult<Py<PyAny>> {
        let contract = parse_address(contract)?;
        let caller = caller
            .map(parse_address)
            .transpose()?
            .unwrap_or(Address([0; 20]));
        let q = batara_core::modules::vm::Query {
            caller,
            contract,
            method,
            args: &args,
            gas,
        };
        read_json(py, || self.handle.query_contract(&q, None))
    }

    /// The gas a contract transaction of `kind` (JSON text) sent by `sender` would use (dict:
    /// gas_used, error).
    fn estimate_gas(&self, py: Python<'_>, sender: &str, kind: &str) -> PyResult<Py<PyAny>> {
        let s = parse_address(sender)?;
        let k = api::parse::tx_kind(kind).map_err(|e| invalid(e.to_string()))?;
        read_json(py, || self.handle.estimate_gas(&s, &k, None))
    }

    /// Committed blocks from now on, as an iterator of dicts.
    fn blocks(&self) -> BlockStream {
        BlockStream {
            rx: Mutex::new(self.handle.subscribe_blocks()),
            node: self.handle.downgrade(),
            missed: AtomicU64::new(0),
        }
    }

    /// Makes `blocks` blocks now (dev chains); returns them (dicts).
    #[pyo3(signature = (blocks = 1))]
    fn mine(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = uint)] blocks: u32,
    ) -> PyResult<Py<PyAny>> {
        let b = py.detach(|| self.handle.mine(blocks)).map_err(to_py)?;
        to_python(py, &b)
    }

    /// Remembers the head; returns a snapshot id (dev chains).
    fn snapshot(&self, py: Python<'_>) -> PyResult<u64> {
        py.detach(|| self.handle.snapshot()).map_err(to_py)
    }

    /// Returns to a snapshot, which is used up (dev chains).
    fn revert(&self, py: Python<'_>, #[pyo3(from_py_with = uint)] snapshot: u64) -> PyResult<()> {
        py.detach(|| self.handle.revert(snapshot)).map_err(to_py)
    }

    /// Sets a balance in a new block (dev chains).
    fn set_balance(
        &self,
        py: Python<'_>,
        address: &str,
        #[pyo3(from_py_with = uint)] amount: u128,
    ) -> PyResult<()> {
        let a = parse_address(address)?;
        py.detach(|| self.handle.set_balance(&a, amount))
            .map_err(to_py)?;
        Ok(())
    }

    /// Moves block time forward by `ms`; returns the total offset (dev chains).
    fn increase_time(&self, py: Python<'_>, #[pyo3(from_py_with = uint)] ms: u64) -> PyResult<u64> {
        py.detach(|| self.handle.increase_time(ms)).map_err(to_py)
    }

    /// Fast-forwards a dev chain so that a period ends in the next block: give one of
    /// `voting_end` (a proposal id: the end of its deposit or voting period), `unbonding_end`
    /// (the earliest pending unbonding) or `height`. Returns {height, time_offset_ms}.
    #[pyo3(signature = (*, voting_end = None, unbonding_end = false, height = None))]
    fn skip_to(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = opt_uint)] voting_end: Option<u64>,
        unbonding_end: bool,
        #[pyo3(from_py_with = opt_uint)] height: Option<u64>,
    ) -> PyResult<Py<PyAny>> {
        let target = match (voting_end, unbonding_end, height) {
            (Some(id), false, None) => SkipTarget::VotingEnd(id),
            (None, true, None) => SkipTarget::UnbondingEnd,
            (None, false, Some(h)) => SkipTarget::Height(h),
            _ => {
                return Err(to_py(Error::InvalidInput(
                    "give exactly one of voting_end, unbonding_end=True or height".into(),
                )))
            }
        };
        let v = py.detach(|| self.handle.skip_to(target)).map_err(to_py)?;
        to_python(py, &v)
    }

    /// Stops the node. Idempotent.
    fn stop(&self, py: Python<'_>) {
        py.detach(|| self.handle.stop());
    }

    /// True once stopped.
    #[getter]
    fn stopped(&self) -> bool {
        self.handle.is_stopped()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) {
        self.stop(py);
    }

    fn __repr__(&self) -> String {
        format!(
            "Node(chain_id={}, height={})",
            self.handle.chain_id(),
            self.height()
        )
    }
}

// The reads shared by `Node` and `ChainReader`: arguments parsed with the GIL, the storage read
// with it released, the result built with it again.

fn read_account(
    py: Python<'_>,
    r: &CoreReader,
    address: &str,
    height: Option<u64>,
) -> PyResult<Account> {
    let address = parse_address(address)?;
    let a = py.detach(|| r.account(&address, height)).map_err(to_py)?;
    Ok(Account {
        address: a.address.to_string(),
        balance: a.balance,
        nonce: a.nonce,
        staked: a.staked,
    })
}

fn read_balance(r: &CoreReader, address: &str) -> PyResult<u128> {
    r.balance(&parse_address(address)?).map_err(to_py)
}

fn read_balances(py: Python<'_>, r: &CoreReader, addresses: &[String]) -> PyResult<Vec<u128>> {
    let addresses = addresses
        .iter()
        .map(|a| parse_address(a))
        .collect::<PyResult<Vec<_>>>()?;
    py.detach(|| r.balances(&addresses)).map_err(to_py)
}

fn read_accounts(
    py: Python<'_>,
    r: &CoreReader,
    after: Option<&str>,
    limit: usize,
) -> PyResult<Py<PyAny>> {
    let after = after.map(parse_address).transpose()?;
    read_json(py, || r.accounts(after.as_ref(), limit))
}

fn read_block(
    py: Python<'_>,
    r: &CoreReader,
    block: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let id = block_id(block)?;
    read_json(py, || r.block(id))
}

fn read_receipts(
    py: Python<'_>,
    r: &CoreReader,
    block: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let id = block_id(block)?;
    read_json(py, || r.receipts(id))
}

fn read_validators(py: Python<'_>, r: &CoreReader, height: Option<u64>) -> PyResult<Py<PyAny>> {
    read_json(py, || r.validators(height))
}

fn read_validator(py: Python<'_>, r: &CoreReader, address: &str) -> PyResult<Py<PyAny>> {
    let address = parse_address(address)?;
    read_json(py, || r.validator(&address))
}

fn read_delegations(py: Python<'_>, r: &CoreReader, delegator: &str) -> PyResult<Py<PyAny>> {
    let delegator = parse_address(delegator)?;
    read_json(py, || r.delegations(&delegator))
}

fn read_delegators(
    py: Python<'_>,
    r: &CoreReader,
    validator: &str,
    after: Option<&str>,
    limit: usize,
) -> PyResult<Py<PyAny>> {
    let validator = parse_address(validator)?;
    let after = after.map(parse_address).transpose()?;
    read_json(py, || r.delegators(&validator, after.as_ref(), limit))
}

fn read_votes(
    py: Python<'_>,
    r: &CoreReader,
    id: u64,
    after: Option<&str>,
    limit: usize,
) -> PyResult<Py<PyAny>> {
    let after = after.map(parse_address).transpose()?;
    read_json(py, || r.votes(id, after.as_ref(), limit))
}

fn read_rewards(py: Python<'_>, r: &CoreReader, delegator: &str) -> PyResult<Py<PyAny>> {
    let delegator = parse_address(delegator)?;
    read_json(py, || r.rewards(&delegator))
}

fn read_transaction(py: Python<'_>, r: &CoreReader, hash: &str) -> PyResult<Py<PyAny>> {
    let hash = parse_hash(hash)?;
    read_json(py, || r.transaction(&hash))
}

/// A node's chain opened read-only from its home directory, while that node may be running.
#[pyclass(frozen, module = "batara._native")]
struct ChainReader {
    /// Taken by `close()`. Calls clone the `Arc` and let go of the lock before they run (and
    /// release the GIL), so `close()` never waits for a call in flight while holding the GIL; the
    /// database closes when the last call in flight finishes.
    inner: Mutex<Option<Arc<CoreReader>>>,
}

impl ChainReader {
    fn with<T>(&self, f: impl FnOnce(&CoreReader) -> PyResult<T>) -> PyResult<T> {
        let reader = self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match reader {
            Some(r) => f(&r),
            None => Err(BataraError::new_err("the chain reader is closed")),
        }
    }
}

#[pymethods]
impl ChainReader {
    /// Opens the chain of the node home `home` (`config.toml`, `genesis.json`, `data/`) read-only.
    #[new]
    fn new(py: Python<'_>, home: PathBuf) -> PyResult<Self> {
        let r = py
            .detach(|| batara_core::node::home::open_reader(&home))
            .map_err(to_py)?;
        Ok(Self {
            inner: Mutex::new(Some(Arc::new(r))),
        })
    }

    /// The chain id.
    #[getter]
    fn chain_id(&self) -> PyResult<String> {
        self.with(|r| Ok(r.chain().spec().chain_id.clone()))
    }

    /// The head height as of the last `refresh()`.
    #[getter]
    fn height(&self) -> PyResult<u64> {
        self.with(|r| Ok(r.height()))
    }

    /// Catches up with the running node's newest blocks; returns the head height.
    fn refresh(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(|r| py.detach(|| r.refresh()).map_err(to_py))
    }

    /// An account at the head (or after block `height`).
    #[pyo3(signature = (address, height = None))]
    fn account(
        &self,
        py: Python<'_>,
        address: &str,
        #[pyo3(from_py_with = opt_uint)] height: Option<u64>,
    ) -> PyResult<Account> {
        self.with(|r| read_account(py, r, address, height))
    }

    /// The latest balance of an address, as `Node.balance`.
    fn balance(&self, address: &str) -> PyResult<u128> {
        self.with(|r| read_balance(r, address))
    }

    /// The latest balances of up to 10,000 addresses, as `Node.balances`.
    fn balances(&self, py: Python<'_>, addresses: Vec<String>) -> PyResult<Vec<u128>> {
        self.with(|r| read_balances(py, r, &addresses))
    }

    /// A page of accounts in address order, as `Node.account_page`.
    #[pyo3(signature = (after = None, limit = 1000))]
    fn account_page(
        &self,
        py: Python<'_>,
        after: Option<&str>,
        #[pyo3(from_py_with = uint)] limit: usize,
    ) -> PyResult<Py<PyAny>> {
        self.with(|r| read_accounts(py, r, after, limit))
    }

    /// A block (dict): by height, 0x hash, or the latest.
    #[pyo3(signature = (block = None))]
    fn block(&self, py: Python<'_>, block: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        self.with(|r| read_block(py, r, block))
    }

    /// The receipts of a block's transactions, in block order (list of dicts).
    #[pyo3(signature = (block = None))]
    fn receipts(&self, py: Python<'_>, block: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        self.with(|r| read_receipts(py, r, block))
    }

    /// A committed transaction with its receipt (dict).
    fn transaction(&self, py: Python<'_>, hash: &str) -> PyResult<Py<PyAny>> {
        self.with(|r| read_transaction(py, r, hash))
    }

    /// An account with a proof against a header's state root (dict), as `Node.proof`.
    #[pyo3(signature = (address, height = None))]
    fn proof(
        &self,
        py: Python<'_>,
        address: &str,
        #[pyo3(from_py_with = opt_uint)] height: Option<u64>,
    ) -> PyResult<Py<PyAny>> {
        let a = parse_address(address)?;
        self.with(|r| read_json(py, || r.proof(&a, height)))
    }

    /// The validator set of block `height`, or of the next block (list of dicts).
    #[pyo3(signature = (height = None))]
    fn validators(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = opt_uint)] height: Option<u64>,
    ) -> PyResult<Py<PyAny>> {
        self.with(|r| read_validators(py, r, height))
    }

    /// A validator's staking record, power and its operator's unbonding funds (dict).
    fn validator(&self, py: Python<'_>, address: &str) -> PyResult<Py<PyAny>> {
        self.with(|r| read_validator(py, r, address))
    }

    /// An account's delegations with their worth and pending rewards, and its unbonding funds
    /// (dict).
    fn delegations(&self, py: Python<'_>, delegator: &str) -> PyResult<Py<PyAny>> {
        self.with(|r| read_delegations(py, r, delegator))
    }

    /// A page of a validator's delegators (dict: validator, delegations, next).
    #[pyo3(signature = (validator, after = None, limit = 1000))]
    fn delegators(
        &self,
        py: Python<'_>,
        validator: &str,
        after: Option<&str>,
        limit: usize,
    ) -> PyResult<Py<PyAny>> {
        self.with(|r| read_delegators(py, r, validator, after, limit))
    }

    /// A delegator's pending rewards per validator (dict: delegator, rewards, total).
    fn rewards(&self, py: Python<'_>, delegator: &str) -> PyResult<Py<PyAny>> {
        self.with(|r| read_rewards(py, r, delegator))
    }

    /// The community pool, outstanding rewards and supply counters (dict).
    fn community_pool(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.with(|r| read_json(py, || r.community_pool()))
    }

    /// A governance proposal with its deposits and tally (dict; NotFound if none).
    fn proposal(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = uint)] id: u64,
    ) -> PyResult<Py<PyAny>> {
        self.with(|r| read_json(py, || r.proposal(id)))
    }

    /// A page of proposals by id (dict: proposals, next), of `status` if given.
    #[pyo3(signature = (status = None, after = None, limit = 100))]
    fn proposals(
        &self,
        py: Python<'_>,
        status: Option<&str>,
        #[pyo3(from_py_with = opt_uint)] after: Option<u64>,
        limit: usize,
    ) -> PyResult<Py<PyAny>> {
        self.with(|r| read_json(py, || r.proposals(status, after, limit)))
    }

    /// A page of a proposal's votes (dict: proposal, votes, next).
    #[pyo3(signature = (id, after = None, limit = 1000))]
    fn votes(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = uint)] id: u64,
        after: Option<&str>,
        limit: usize,
    ) -> PyResult<Py<PyAny>> {
        self.with(|r| read_votes(py, r, id, after, limit))
    }

    /// Governance parameters in force and the parameter sets proposals may change (dict).
    fn gov_params(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.with(|r| read_json(py, || r.gov_params()))
    }

    /// Closes the database. Idempotent; later calls raise `BataraError`.
    fn close(&self) {
        let closed = self.inner.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(closed);
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        _exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) {
        self.close();
    }

    fn __repr__(&self) -> String {
        match self.with(|r| Ok((r.chain().spec().chain_id.clone(), r.height()))) {
            Ok((id, h)) => format!("ChainReader(chain_id={id}, height={h})"),
            Err(_) => "ChainReader(closed)".into(),
        }
    }
}

/// Runs the `batara` command line with `argv` (argv[0] is the program name); returns the exit code.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<String>) -> i32 {
    py.detach(|| batara_core::cli::run(argv.into_iter().map(Into::into)))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Keypair>()?;
    m.add_class::<Transaction>()?;
    m.add_class::<SignedTransaction>()?;
    m.add_class::<Account>()?;
    m.add_class::<Node>()?;
    m.add_class::<BlockStream>()?;
    m.add_class::<ChainReader>()?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(address_of, m)?)?;
    m.add_function(wrap_pyfunction!(dev_account, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(error_table, m)?)?;
    m.add("BataraError", py.get_type::<BataraError>())?;
    m.add("TxRejected", py.get_type::<TxRejected>())?;
    m.add("NotFound", py.get_type::<NotFound>())?;
    m.add("InvalidInput", py.get_type::<InvalidInput>())?;
    m.add("Timeout", py.get_type::<Timeout>())?;
    m.add("NodeStopped", py.get_type::<NodeStopped>())?;
    m.add("NotDevChain", py.get_type::<NotDevChain>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("StorageError", py.get_type::<StorageError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
