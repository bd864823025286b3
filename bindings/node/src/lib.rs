//! The internal Node.js addon behind `@batara/node` (napi-rs). The public, typed API is written by
//! hand in `node-js/index.js` / `index.d.ts` over these functions; nothing here is public API.
//!
//! Host contract:
//! * Every call that reads storage, takes a node lock or waits (start, every read, submit,
//!   transfer, wait, the dev controls, next block, stop) returns a Promise and runs off the JS
//!   thread: on the blocking pool, or (the block stream) as a task awaiting the block channel.
//!   Only pure computations (keys, signing, address parsing, the error table) and in-memory
//!   getters (chain id, RPC URL, head height) are synchronous.
//! * A `NativeNode` garbage-collected without `stop()` hands its handle to a background thread
//!   ([`Owned`]), so the finalizer never waits for the node to stop on the JS thread; when the
//!   JS environment exits, those threads are joined (a cleanup hook), so the process exits after
//!   the nodes stopped cleanly.
//! * A node start in progress when the process exits (`process.exit()` or an uncaught exception
//!   right after `Node.dev()`) is waited for ([`Starts`]) and the node it made is stopped, so no
//!   start runs while the process tears down its native libraries.
//! * Errors are JS `Error`s whose message is `CODE: text` with a stable code (`TX_REJECTED`,
//!   `NOT_FOUND`, `INVALID_INPUT`, `TIMEOUT`, `NODE_STOPPED`, `NOT_DEV_CHAIN`, `CONFIG`, `IO`,
//!   `INTERNAL`); for rejected transactions the text starts with `[reason] `. `index.js` turns them
//!   into `BataraError`. The mapping is in one place: [`to_js`].
//! * Amounts cross as decimal strings (JS `bigint` in the public API); bytes as `Buffer`.
//!
//! Must never: hold node logic, or block the event loop.

use std::cell::Cell;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use batara_core::api::{self, NodeApi, SkipTarget, WeakNode};
use batara_core::app::genesis;
use batara_core::app::genesis::Genesis;
use batara_core::consensus::DevMode;
use batara_core::crypto;
use batara_core::node::NodeConfig;
use batara_core::node::{
    BlockId, BlockReceiver, BlockView, DevOptions, Node, NodeHandle, NodeOptions, RecvError,
    WeakNodeHandle,
};
use batara_core::types::{Address, Hash, PublicKey, Signature};
use batara_core::Error;
use napi::bindgen_prelude::{BigInt, Buffer, Object};
use napi::Env;
use napi_derive::napi;
use tokio::sync::watch;

type Result<T> = napi::Result<T>;

/// An error whose message is `CODE: text` (`index.js` splits it into `BataraError.code`).
fn err(code: &str, msg: impl Into<String>) -> napi::Error {
    napi::Error::new(
        napi::Status::GenericFailure,
        format!("{code}: {}", msg.into()),
    )
}

/// The one mapping from core errors to JS error codes: the kind's `js` name in
/// `api::ERROR_TABLE`.
fn to_js(e: Error) -> napi::Error {
    let code = e.kind().code().js;
    match &e {
        Error::Rejected(r) => err(code, format!("[{}] {e}", r.code())),
        _ => err(code, e.to_string()),
    }
}

fn invalid(msg: impl Into<String>) -> napi::Error {
    err("INVALID_INPUT", msg)
}

/// A block id: null or "latest", a 0x hash, or a decimal height.
fn block_id(id: Option<&str>) -> Result<BlockId> {
    id.map_or(Ok(BlockId::Latest), |s| {
        api::parse::block_id(s).map_err(|e| invalid(e.to_string()))
    })
}

fn address(s: &str) -> Result<Address> {
    api::parse::address(s).map_err(|e| invalid(e.to_string()))
}

fn hash(s: &str) -> Result<Hash> {
    api::parse::hash(s).map_err(|e| invalid(e.to_string()))
}

fn amount(s: &str, what: &str) -> Result<u128> {
    api::parse::amount(s, what).map_err(|e| invalid(e.to_string()))
}

fn fixed<const N: usize>(b: &[u8], what: &str) -> Result<[u8; N]> {
    api::parse::bytes(b, what).map_err(|e| invalid(e.to_string()))
}

/// One row of the error table (this binding's codes are its `js` names: see `to_js`).
#[napi(object)]
pub struct ErrorRow {
    /// The kind (`snake_case`).
    pub kind: String,
    /// Its JSON-RPC code.
    pub rpc_code: i32,
    /// The Python exception class.
    pub python: String,
    /// The `BataraError.code` this binding gives it.
    pub js: String,
    /// The C result.
    pub c: u32,
}

/// The error table (`api::ERROR_TABLE`): `index.js` maps JSON-RPC codes with it, and the tests
/// check it against `tests/vectors/errors.json`.
#[napi]
pub fn error_table() -> Vec<ErrorRow> {
    api::ERROR_TABLE
        .iter()
        .map(|row| ErrorRow {
            kind: row.kind.name().to_owned(),
            rpc_code: row.rpc_code,
            python: row.python.to_owned(),
            js: row.js.to_owned(),
            c: row.c,
        })
        .collect()
}

/// An optional block height from JS (a number; negative is invalid input).
fn height_arg(height: Option<i64>) -> Result<Option<u64>> {
    height
        .map(|h| u64::try_from(h).map_err(|_| invalid("height must not be negative")))
        .transpose()
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| err("INTERNAL", e.to_string()))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| err("INTERNAL", e.to_string()))?
}

/// An ed25519 key pair.
#[napi]
pub struct NativeKeypair {
    inner: crypto::Keypair,
}

#[napi]
impl NativeKeypair {
    /// A random key.
    #[napi(factory)]
    pub fn generate() -> Result<Self> {
        crypto::Keypair::generate()
            .map(|inner| Self { inner })
            .map_err(|e| err("INTERNAL", e.to_string()))
    }

    /// From a 32-byte seed.
    #[napi(factory)]
    pub fn from_seed(seed: Buffer) -> Result<Self> {
        Ok(Self {
            inner: crypto::Keypair::from_seed(&fixed::<32>(&seed, "seed")?),
        })
    }

    /// From a key file.
    #[napi(factory)]
    pub fn from_file(path: String) -> Result<Self> {
        batara_core::validator::read_key_file(std::path::Path::new(&path))
            .map(|inner| Self { inner })
            .map_err(|e| to_js(e.into()))
    }

    /// Dev account `index`.
    #[napi(factory)]
    pub fn dev_account(index: u32) -> Self {
        Self {
            inner: genesis::dev_account_key(index),
        }
    }

    /// bech32 address.
    #[napi(getter)]
    pub fn address(&self) -> String {
        self.inner.address().to_string()
    }

    /// 32-byte secret seed (the JS wrapper passes it back for signing in the node).
    #[napi(getter)]
    pub fn seed(&self) -> Buffer {
        self.inner.seed().to_vec().into()
    }

    /// 32-byte public key.
    #[napi(getter)]
    pub fn public_key(&self) -> Buffer {
        self.inner.public_key().0.to_vec().into()
    }

    /// Signs a message (64 bytes).
    #[napi]
    pub fn sign(&self, message: Buffer) -> Buffer {
        self.inner.sign(&message).0.to_vec().into()
    }

    /// Signs a transaction whose kind is given as its JSON (`{"type": "transfer", ...}`, the
    /// shape JSON-RPC reports); returns the signed bytes and hash.
    #[napi]
    pub fn sign_tx(
        &self,
        chain_id: String,
        nonce: i64,
        fee_dec: String,
        kind_json: String,
    ) -> Result<SignedTx> {
        let nonce =
            u64::try_from(nonce).map_err(|_| invalid("nonce must be a non-negative integer"))?;
        let kind = api::parse::tx_kind(&kind_json).map_err(|e| invalid(e.to_string()))?;
        let tx = api::parse::sign(
            kind,
            amount(&fee_dec, "fee")?,
            nonce,
            &chain_id,
            &self.inner,
        );
        Ok(SignedTx {
            raw: tx.to_bytes().into(),
            hash: tx.hash().to_string(),
        })
    }
}

/// A signed transaction.
#[napi(object)]
pub struct SignedTx {
    /// Canonical bytes.
    pub raw: Buffer,
    /// 0x-hex hash.
    pub hash: String,
}

/// Verifies a signature with the node's rule.
#[napi]
pub fn verify(public_key: Buffer, message: Buffer, signature: Buffer) -> bool {
    match (
        <[u8; 32]>::try_from(&public_key[..]),
        <[u8; 64]>::try_from(&signature[..]),
    ) {
        (Ok(pk), Ok(s)) => crypto::verify(&PublicKey(pk), &message, &Signature(s)).is_ok(),
        _ => false,
    }
}

/// The address of a 32-byte public key.
#[napi]
pub fn address_of(public_key: Buffer) -> Result<String> {
    Ok(PublicKey(fixed::<32>(&public_key, "publicKey")?)
        .address()
        .to_string())
}

/// Options of `startDev`.
#[napi(object)]
pub struct DevOpts {
    /// Funded dev accounts.
    pub accounts: Option<u32>,
    /// "auto" | "interval" | "manual".
    pub mode: Option<String>,
    /// Interval in ms.
    pub block_time_ms: Option<u32>,
    /// Data directory (in memory when absent).
    pub data_dir: Option<String>,
    /// JSON-RPC address such as "127.0.0.1:0".
    pub rpc_addr: Option<String>,
    /// Chain id.
    pub chain_id: Option<String>,
}

/// Starts a dev chain.
#[napi]
pub async fn start_dev(opts: DevOpts) -> Result<NativeNode> {
    let mode: DevMode = opts
        .mode
        .as_deref()
        .unwrap_or("auto")
        .parse()
        .map_err(invalid)?;
    let rpc_addr = opts
        .rpc_addr
        .map(|a| {
            a.parse()
                .map_err(|e| invalid(format!("rpcAddr {a:?}: {e}")))
        })
        .transpose()?;
    let o = DevOptions {
        chain_id: opts.chain_id.unwrap_or_else(|| "batara-dev".into()),
        accounts: opts.accounts.unwrap_or(10),
        mode,
        block_time_ms: opts.block_time_ms.unwrap_or(1000) as u64,
        data_dir: opts.data_dir.map(Into::into),
        rpc_addr,
    };
    blocking(move || STARTS.run(|| Node::dev(o))).await
}

/// Options of `startNode`: config and genesis each as JSON text or a file path.
#[napi(object)]
pub struct StartOpts {
    /// Config as JSON (the fields of config.toml).
    pub config_json: Option<String>,
    /// Path of a config.toml.
    pub config_path: Option<String>,
    /// Genesis as JSON.
    pub genesis_json: Option<String>,
    /// Path of a genesis.json.
    pub genesis_path: Option<String>,
    /// The validator key's 32-byte seed.
    pub validator_seed: Option<Buffer>,
}

/// Starts a node from a config and a genesis.
#[napi]
pub async fn start_node(opts: StartOpts) -> Result<NativeNode> {
    let config = match (opts.config_json, opts.config_path) {
        (Some(j), _) => NodeConfig::from_json(&j).map_err(|e| to_js(e.into()))?,
        (None, Some(p)) => {
            NodeConfig::load(std::path::Path::new(&p)).map_err(|e| to_js(e.into()))?
        }
        (None, None) => NodeConfig::default(),
    };
    let genesis = match (opts.genesis_json, opts.genesis_path) {
        (Some(j), _) => Genesis::from_json(&j).map_err(|e| to_js(e.into()))?,
        (None, Some(p)) => Genesis::load(std::path::Path::new(&p)).map_err(|e| to_js(e.into()))?,
        (None, None) => return Err(invalid("a genesis (object or path) is required")),
    };
    let validator_key = match opts.validator_seed {
        Some(s) => Some(crypto::Keypair::from_seed(&fixed::<32>(
            &s,
            "validator seed",
        )?)),
        None => None,
    };
    blocking(move || {
        STARTS.run(|| {
            Node::start(NodeOptions {
                config,
                genesis,
                validator_key,
            })
        })
    })
    .await
}

/// How long an exiting process waits for node starts still running.
const EXIT_WAIT: Duration = Duration::from_secs(30);

/// Node starts running on the blocking pool. A process that exits during one (`process.exit()`,
/// an uncaught exception right after `Node.dev()` without `await`) would destroy RocksDB's and
/// the runtime's static objects under the starting thread, which crashed natively ("pthread
/// lock: Invalid argument", exit 134/139). The main thread's exit ([`prepare_exit`]) marks the
/// process exiting and waits for the running starts; a start that finishes after that stops its
/// node and reports `NODE_STOPPED`.
struct Starts {
    running: Mutex<usize>,
    done: Condvar,
    exiting: AtomicBool,
}

static STARTS: Starts = Starts {
    running: Mutex::new(0),
    done: Condvar::new(),
    exiting: AtomicBool::new(false),
};

impl Starts {
    /// Runs one start (on a blocking thread).
    fn run(&self, start: impl FnOnce() -> batara_core::Result<NodeHandle>) -> Result<NativeNode> {
        let exiting = || err("NODE_STOPPED", "the process is exiting");
        {
            let mut n = self.running.lock().unwrap_or_else(|e| e.into_inner());
            if self.exiting.load(Ordering::SeqCst) {
                return Err(exiting());
            }
            *n += 1;
        }
        let started = start();
        let out = match started {
            Ok(h) if self.exiting.load(Ordering::SeqCst) => {
                h.stop();
                Err(exiting())
            }
            Ok(h) => Ok(NativeNode::new(h)),
            Err(e) => Err(to_js(e)),
        };
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.done.notify_all();
        out
    }

    /// Marks the process exiting and waits (up to [`EXIT_WAIT`]) for the running starts.
    fn wait_for_exit(&self) {
        let n = self.running.lock().unwrap_or_else(|e| e.into_inner());
        self.exiting.store(true, Ordering::SeqCst);
        let _ = self
            .done
            .wait_timeout_while(n, EXIT_WAIT, |n| *n > 0)
            .map_err(|e| e.into_inner());
    }
}

/// Called by `index.js` from the main thread's `process.on('exit')` (which `process.exit()`, an
/// uncaught exception and a natural exit all emit; the environment's cleanup hooks do not run on
/// `process.exit()`): waits for node starts still running and makes them stop their nodes.
#[napi]
pub fn prepare_exit() {
    STARTS.wait_for_exit();
}

/// How often a waiting block stream also checks whether the node stopped by a path that did not
/// go through this binding's `stop()` (the stop signal covers the others).
const STOP_CHECK: Duration = Duration::from_secs(1);

/// Background threads stopping nodes that were garbage-collected without `stop()`; the cleanup
/// hook of the JS environment joins them.
static STOPPING: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

thread_local! {
    /// Set on a JS thread once its environment is exiting: finalizers that run after the cleanup
    /// hook (the environment's teardown) stop their node inline, as nothing waits for the event
    /// loop any more and a thread started now might outlive the process.
    static EXITING: Cell<bool> = const { Cell::new(false) };
}

/// Registers the environment cleanup hook that joins [`STOPPING`].
#[napi(module_exports)]
pub fn init(_exports: Object, env: Env) -> Result<()> {
    env.add_env_cleanup_hook((), |()| {
        EXITING.with(|e| e.set(true));
        let pending = std::mem::take(&mut *STOPPING.lock().unwrap_or_else(|e| e.into_inner()));
        for t in pending {
            let _ = t.join();
        }
    })?;
    Ok(())
}

/// The node handle a `NativeNode` owns. Dropping it (the JS object was garbage-collected) drops
/// the handle — which stops the node when it is the last one — on a background thread, so the
/// finalizer returns at once.
struct Owned(Option<NodeHandle>);

impl Deref for Owned {
    type Target = NodeHandle;

    fn deref(&self) -> &NodeHandle {
        self.0.as_ref().expect("the handle is taken only by drop")
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let Some(handle) = self.0.take() else { return };
        if EXITING.with(Cell::get) {
            return drop(handle);
        }
        let mut stopping = STOPPING.lock().unwrap_or_else(|e| e.into_inner());
        stopping.retain(|t| !t.is_finished());
        // A thread that cannot be started leaves the drop (and the stop) to this thread.
        if let Ok(t) = std::thread::Builder::new()
            .name("batara-node-drop".into())
            .spawn(move || drop(handle))
        {
            stopping.push(t);
        }
    }
}

/// A running node.
#[napi]
pub struct NativeNode {
    handle: Owned,
    /// Set to true by `stop()`; dropped with the node: either ends its block streams.
    stopped: watch::Sender<bool>,
}

impl NativeNode {
    fn new(handle: NodeHandle) -> Self {
        Self {
            handle: Owned(Some(handle)),
            stopped: watch::channel(false).0,
        }
    }

    /// Runs `f` with a clone of the handle on the blocking pool (for reads and waits).
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(NodeHandle) -> std::result::Result<T, Error> + Send + 'static,
    ) -> Result<T> {
        let h = (*self.handle).clone();
        blocking(move || f(h).map_err(to_js)).await
    }
}

/// Resolves once `stopped` says true or its sender (the `NativeNode`) is gone.
async fn stop_signal(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

/// A stream of committed blocks.
#[napi]
pub struct NativeBlocks {
    rx: Arc<tokio::sync::Mutex<BlockReceiver>>,
    stopped: watch::Receiver<bool>,
    node: WeakNodeHandle,
    missed: Arc<AtomicU64>,
}

#[napi]
impl NativeBlocks {
    /// The next block as JSON, or null once the node has stopped. Awaits the node's block
    /// channel (no polling); a stream more than the channel's capacity (1024 blocks) behind skips
    /// the oldest blocks and counts them in `missed`.
    #[napi]
    pub async fn next(&self) -> Result<Option<String>> {
        let (rx, node, missed) = (self.rx.clone(), self.node.clone(), self.missed.clone());
        let stopped = self.stopped.clone();
        let mut rx = rx.lock().await;
        let stop = stop_signal(stopped.clone());
        tokio::pin!(stop);
        loop {
            if *stopped.borrow() || node.upgrade().is_none() {
                return Ok(None);
            }
            tokio::select! {
                r = rx.recv() => match r {
                    Ok(b) => return json(&BlockView::from_committed(&b)).map(Some),
                    Err(RecvError::Lagged(n)) => {
                        missed.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(RecvError::Closed) => return Ok(None),
                },
                () = &mut stop => return Ok(None),
                () = tokio::time::sleep(STOP_CHECK) => {}
            }
        }
    }

    /// Blocks this stream skipped because it fell more than 1024 blocks behind.
    #[napi(getter)]
    pub fn missed(&self) -> i64 {
        self.missed.load(Ordering::Relaxed) as i64
    }
}

#[napi]
impl NativeNode {
    /// Chain id.
    #[napi(getter)]
    pub fn chain_id(&self) -> String {
        self.handle.chain_id().to_owned()
    }

    /// Number of funded dev accounts (their keys: `NativeKeypair.devAccount(i)`).
    #[napi(getter)]
    pub fn dev_accounts(&self) -> u32 {
        let g = self.handle.genesis();
        g.accounts
            .iter()
            .enumerate()
            .take_while(|(i, a)| genesis::dev_account_key(*i as u32).address() == a.address)
            .count() as u32
    }

    /// JSON-RPC URL, if served.
    #[napi(getter)]
    pub fn rpc_url(&self) -> Option<String> {
        self.handle.rpc_addr().map(|a| format!("http://{a}"))
    }

    /// Head height (in memory).
    #[napi(getter)]
    pub fn height(&self) -> i64 {
        self.handle.chain().head().header.height as i64
    }

    /// Node status, JSON.
    #[napi]
    pub async fn info(&self) -> Result<String> {
        let h = (*self.handle).clone();
        blocking(move || json(&h.info())).await
    }

    /// Submits signed bytes; resolves to the hash (after the commit with `wait`).
    #[napi]
    pub async fn submit(&self, tx: Buffer, wait: bool) -> Result<String> {
        let tx = tx.to_vec();
        self.run(move |h| {
            let hash = h.submit(&tx)?;
            if wait {
                h.wait_for_tx(&hash, Duration::from_secs(60))?;
            }
            Ok(hash.to_string())
        })
        .await
    }

    /// Submits many; resolves to one JSON item per tx: `{"hash"}` or `{"error","reason"}`.
    #[napi]
    pub async fn submit_batch(&self, txs: Vec<Buffer>) -> Result<String> {
        let h = (*self.handle).clone();
        let txs: Vec<Vec<u8>> = txs.into_iter().map(|b| b.to_vec()).collect();
        blocking(move || {
            let out: Vec<serde_json::Value> = h
                .submit_batch(&txs)
                .into_iter()
                .map(|r| match r {
                    Ok(hash) => serde_json::json!({ "hash": hash }),
                    Err(e) => serde_json::json!({ "error": format!("transaction rejected: {e}"), "reason": e.code() }),
                })
                .collect();
            json(&out)
        })
        .await
    }

    /// Waits for a transaction; resolves to it with its receipt (JSON).
    #[napi]
    pub async fn wait(&self, tx_hash: String, timeout_ms: u32) -> Result<String> {
        let tx_hash = hash(&tx_hash)?;
        let t = self
            .run(move |h| h.wait_for_tx(&tx_hash, Duration::from_millis(timeout_ms as u64)))
            .await?;
        json(&t)
    }

    /// Transfers with the next nonce; resolves to the hash (after the commit with `wait`). No
    /// fee: the node's minimum.
    #[napi]
    pub async fn transfer(
        &self,
        seed: Buffer,
        to: String,
        amount_dec: String,
        fee_dec: Option<String>,
        wait: bool,
    ) -> Result<String> {
        let key = crypto::Keypair::from_seed(&fixed::<32>(&seed, "seed")?);
        let to = address(&to)?;
        let value = amount(&amount_dec, "amount")?;
        let fee = fee_dec.map(|f| amount(&f, "fee")).transpose()?;
        self.run(move |h| {
            let fee = fee.unwrap_or_else(|| h.min_fee());
            h.transfer(&key, to, value, fee, wait)
                .map(|x| x.to_string())
        })
        .await
    }

    /// Next nonce of an address (counting pending transactions).
    #[napi]
    pub async fn next_nonce(&self, addr: String) -> Result<i64> {
        let a = address(&addr)?;
        self.run(move |h| h.next_nonce(&a).map(|n| n as i64)).await
    }

    /// An account: JSON with decimal strings.
    #[napi]
    pub async fn account(&self, addr: String, height: Option<i64>) -> Result<String> {
        let (a, height) = (address(&addr)?, height_arg(height)?);
        json(&self.run(move |h| h.account(&a, height)).await?)
    }

    /// An account with a proof against the state root of block `height` (default: head); JSON
    /// (`state_getProof`'s shape without its echo of the address).
    #[napi]
    pub async fn proof(&self, addr: String, height: Option<i64>) -> Result<String> {
        let (a, height) = (address(&addr)?, height_arg(height)?);
        json(&self.run(move |h| h.proof(&a, height)).await?)
    }

    /// Balance of an address, decimal (the fast path of `account`).
    #[napi]
    pub async fn balance(&self, addr: String) -> Result<String> {
        let a = address(&addr)?;
        self.run(move |h| h.balance(&a).map(|b| b.to_string()))
            .await
    }

    /// Balance of an address, on the calling thread: one read of the latest state, from memory
    /// while the account is hot, so shorter than a hop to another thread and back.
    #[napi]
    pub fn balance_sync(&self, addr: String) -> Result<BigInt> {
        let a = address(&addr)?;
        self.handle.balance(&a).map(BigInt::from).map_err(to_js)
    }

    /// Balances of up to 10,000 addresses, decimal, in order, all after one block.
    #[napi]
    pub async fn balances(&self, addrs: Vec<String>) -> Result<Vec<String>> {
        let a = addrs
            .iter()
            .map(|s| address(s))
            .collect::<Result<Vec<_>>>()?;
        self.run(move |h| {
            h.balances(&a)
                .map(|v| v.iter().map(ToString::to_string).collect())
        })
        .await
    }

    /// A block by height ("123"), hash ("0x…") or latest (null); JSON.
    #[napi]
    pub async fn block(&self, id: Option<String>) -> Result<String> {
        let id = block_id(id.as_deref())?;
        json(&self.run(move |h| h.block(id)).await?)
    }

    /// The receipts of a block's transactions, in block order; JSON.
    #[napi]
    pub async fn receipts(&self, id: Option<String>) -> Result<String> {
        let id = block_id(id.as_deref())?;
        json(&self.run(move |h| h.receipts(id)).await?)
    }

    /// Up to `limit` accounts with addresses after `after`, in address order; JSON
    /// `{accounts, next}`.
    #[napi]
    pub async fn account_page(&self, after: Option<String>, limit: u32) -> Result<String> {
        let after = after.as_deref().map(address).transpose()?;
        json(
            &self
                .run(move |h| h.accounts(after.as_ref(), limit as usize))
                .await?,
        )
    }

    /// A committed transaction with its receipt; JSON.
    #[napi]
    pub async fn transaction(&self, tx_hash: String) -> Result<String> {
        let tx_hash = hash(&tx_hash)?;
        json(&self.run(move |h| h.transaction(&tx_hash)).await?)
    }

    /// The validator set; JSON.
    #[napi]
    pub async fn validators(&self, height: Option<i64>) -> Result<String> {
        let height = height_arg(height)?;
        json(&self.run(move |h| h.validators(height)).await?)
    }

    /// A validator's staking record, power and unbonding funds; JSON.
    #[napi]
    pub async fn validator(&self, address_: String) -> Result<String> {
        let a = address(&address_)?;
        json(&self.run(move |h| h.validator(&a)).await?)
    }

    /// An account's delegations, their totals and its unbonding funds; JSON.
    #[napi]
    pub async fn delegations(&self, delegator: String) -> Result<String> {
        let a = address(&delegator)?;
        json(&self.run(move |h| h.delegations(&a)).await?)
    }

    /// A page of a validator's delegators; JSON.
    #[napi]
    pub async fn delegators(
        &self,
        validator: String,
        after: Option<String>,
        limit: u32,
    ) -> Result<String> {
        let v = address(&validator)?;
        let after = after.as_deref().map(address).transpose()?;
        json(
            &self
                .run(move |h| h.delegators(&v, after.as_ref(), limit as usize))
                .await?,
        )
    }

    /// A delegator's pending rewards per validator; JSON.
    #[napi]
    pub async fn rewards(&self, delegator: String) -> Result<String> {
        let a = address(&delegator)?;
        json(&self.run(move |h| h.rewards(&a)).await?)
    }

    /// The community pool, outstanding rewards and supply counters; JSON.
    #[napi]
    pub async fn community_pool(&self) -> Result<String> {
        json(&self.run(move |h| h.community_pool()).await?)
    }

    /// A governance proposal with its deposits and tally; JSON.
    #[napi]
    pub async fn proposal(&self, id: i64) -> Result<String> {
        let id = u64::try_from(id).map_err(|_| invalid("id must be non-negative"))?;
        json(&self.run(move |h| h.proposal(id)).await?)
    }

    /// A page of proposals by id, of `status` if given; JSON.
    #[napi]
    pub async fn proposals(
        &self,
        status: Option<String>,
        after: Option<i64>,
        limit: u32,
    ) -> Result<String> {
        let after = after
            .map(|a| u64::try_from(a).map_err(|_| invalid("after must be non-negative")))
            .transpose()?;
        json(
            &self
                .run(move |h| h.proposals(status.as_deref(), after, limit as usize))
                .await?,
        )
    }

    /// A page of a proposal's votes; JSON.
    #[napi]
    pub async fn votes(&self, id: i64, after: Option<String>, limit: u32) -> Result<String> {
        let id = u64::try_from(id).map_err(|_| invalid("id must be non-negative"))?;
        let after = after.as_deref().map(address).transpose()?;
        json(
            &self
                .run(move |h| h.votes(id, after.as_ref(), limit as usize))
                .await?,
        )
    }

    /// Governance parameters and the parameter sets proposals may change; JSON.
    #[napi]
    pub async fn gov_params(&self) -> Result<String> {
        json(&self.run(move |h| h.gov_params()).await?)
    }

    /// A contract's record (code hash, creator, height, balance); JSON.
    #[napi]
    pub async fn contract(&self, address_: String, height: Option<i64>) -> Result<String> {
        let (a, height) = (address(&address_)?, height_arg(height)?);
        json(&self.run(move |h| h.contract(&a, height)).await?)
    }

    /// Stored contract code (uploader, size, deposit, height, the module as 0x-hex); JSON.
    #[napi]
    pub async fn code(&self, code_hash: String) -> Result<String> {
        let c = hash(&code_hash)?;
        json(&self.run(move |h| h.code(&c)).await?)
    }

    /// Submits evidence (JSON `{vote_a, vote_b}`, the shape blocks carry) that a validator signed
    /// two conflicting votes to this BFT node; its hash.
    #[napi]
    pub async fn submit_evidence(&self, evidence_json: String) -> Result<String> {
        let e: batara_core::types::DuplicateVoteEvidence = serde_json::from_str(&evidence_json)
            .map_err(|e| {
                err(
                    "INVALID_INPUT",
                    format!("evidence must be {{vote_a, vote_b}}: {e}"),
                )
            })?;
        self.run(move |h| h.submit_evidence(e).map(|h| h.to_string()))
            .await
    }

    /// Writes a consistent backup of the chain into the new directory `dir` while the node runs
    /// (none: a new directory in the node's `backup_dir`); the backup's JSON (dir, chain_id,
    /// height, hash, state_root, bytes, created_ms).
    #[napi]
    pub async fn backup(&self, dir: Option<String>) -> Result<String> {
        json(
            &self
                .run(move |h| h.backup(dir.as_deref().map(std::path::Path::new)))
                .await?,
        )
    }

    /// Every host call of contract transaction `tx_hash` (as JSON-RPC `vm_traceTransaction`;
    /// dev nodes keep them); JSON.
    #[napi]
    pub async fn trace(&self, tx_hash: String) -> Result<String> {
        let t = hash(&tx_hash)?;
        json(&self.run(move |h| h.trace(&t)).await?)
    }

    /// A contract's storage slot (value 0x-hex or null, height, proof if `prove`); JSON.
    #[napi]
    pub async fn storage(
        &self,
        contract: String,
        slot: Buffer,
        height: Option<i64>,
        prove: bool,
    ) -> Result<String> {
        let (c, height, slot) = (address(&contract)?, height_arg(height)?, slot.to_vec());
        json(
            &self
                .run(move |h| h.storage(&c, &slot, height, prove))
                .await?,
        )
    }

    /// A read-only call of `method` with input `args`, nothing written (output 0x-hex,
    /// gas_used, events, error); JSON. `gas` 0 or null is the chain's transaction limit.
    #[napi]
    pub async fn query_raw(
        &self,
        contract: String,
        method: String,
        args: Buffer,
        caller: Option<String>,
        gas: Option<i64>,
    ) -> Result<String> {
        let c = address(&contract)?;
        let caller = caller.as_deref().map(address).transpose()?;
        let gas =
            u64::try_from(gas.unwrap_or(0)).map_err(|_| invalid("gas must not be negative"))?;
        let args = args.to_vec();
        json(
            &self
                .run(move |h| {
                    let q = batara_core::modules::vm::Query {
                        caller: caller.unwrap_or(Address([0; 20])),
                        contract: c,
                        method: &method,
                        args: &args,
                        gas,
                    };
                    h.query_contract(&q, None)
                })
                .await?,
        )
    }

    /// The gas a contract transaction of `kind` (JSON text) sent by `sender` would use
    /// (gas_used, error); JSON.
    #[napi]
    pub async fn estimate_gas(&self, sender: String, kind: String) -> Result<String> {
        let s = address(&sender)?;
        let k = api::parse::tx_kind(&kind).map_err(|e| invalid(e.to_string()))?;
        json(&self.run(move |h| h.estimate_gas(&s, &k, None)).await?)
    }

    /// A stream of committed blocks from now on (subscribed at this call).
    #[napi]
    pub fn blocks(&self) -> NativeBlocks {
        NativeBlocks {
            rx: Arc::new(tokio::sync::Mutex::new(self.handle.subscribe_blocks())),
            stopped: self.stopped.subscribe(),
            node: self.handle.downgrade(),
            missed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Makes blocks now (dev chains); resolves to their JSON.
    #[napi]
    pub async fn mine(&self, count: u32) -> Result<String> {
        json(&self.run(move |h| h.mine(count)).await?)
    }

    /// Snapshot id (dev chains; waits for a block being made).
    #[napi]
    pub async fn snapshot(&self) -> Result<i64> {
        self.run(|h| h.snapshot().map(|s| s as i64)).await
    }

    /// Reverts to a snapshot (dev chains).
    #[napi]
    pub async fn revert(&self, id: i64) -> Result<()> {
        let id = u64::try_from(id).map_err(|_| invalid("snapshot id must be non-negative"))?;
        self.run(move |h| h.revert(id)).await
    }

    /// Sets a balance (dev chains).
    #[napi]
    pub async fn set_balance(&self, addr: String, amount_dec: String) -> Result<()> {
        let a = address(&addr)?;
        let v = amount(&amount_dec, "amount")?;
        self.run(move |h| h.set_balance(&a, v).map(|_| ())).await
    }

    /// Moves block time forward (dev chains); the total offset in ms.
    #[napi]
    pub async fn increase_time(&self, ms: i64) -> Result<i64> {
        let ms = u64::try_from(ms).map_err(|_| invalid("ms must be non-negative"))?;
        self.run(move |h| h.increase_time(ms).map(|t| t as i64))
            .await
    }

    /// Fast-forwards a dev chain so a period ends in the next block: `kind` is `voting_end`
    /// (`value`: a proposal id), `unbonding_end` or `height` (`value`: the height); JSON.
    #[napi]
    pub async fn skip_to(&self, kind: String, value: Option<i64>) -> Result<String> {
        let v = || {
            value
                .and_then(|v| u64::try_from(v).ok())
                .ok_or_else(|| invalid(format!("{kind} needs a non-negative value")))
        };
        let target = match kind.as_str() {
            "voting_end" => SkipTarget::VotingEnd(v()?),
            "unbonding_end" => SkipTarget::UnbondingEnd,
            "height" => SkipTarget::Height(v()?),
            _ => return Err(invalid("give one of votingEnd, unbondingEnd or height")),
        };
        json(&self.run(move |h| h.skip_to(target)).await?)
    }

    /// Stops the node (and ends its block streams).
    #[napi]
    pub async fn stop(&self) -> Result<()> {
        let h = (*self.handle).clone();
        blocking(move || {
            h.stop();
            Ok(())
        })
        .await?;
        self.stopped.send_replace(true);
        Ok(())
    }
}

/// Runs the `batara` command line (argv[0] is the program name); returns the exit code.
/// Blocks the calling thread: it is the whole program of `npx batara`.
#[napi]
pub fn run_cli(argv: Vec<String>) -> i32 {
    batara_core::cli::run(argv.into_iter().map(Into::into))
}
