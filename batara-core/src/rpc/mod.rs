//! JSON-RPC 2.0 over HTTP POST and WebSocket on one address (jsonrpsee), safe to expose by
//! default.
//!
//! Owns: method names and parameter shapes (see `docs/API.md`), mapping [`Error`] to JSON-RPC error
//! codes (the table is `api::ERROR_TABLE`), the server's perimeter and limits ([`RpcConfig`]), and
//! its connections. Parameters may be a positional array or an object with the names below.
//! Files: `perimeter.rs` (Host/Origin allowlists, CORS), `limits.rs` (per-IP rate limit, the RPC
//! middleware), `conn.rs` (per-connection state, idle timeout, cutting stalled peers),
//! `blocks.rs` (the block feed and its subscriptions).
//!
//! Error codes: `-32700` parse error, `-32600` invalid request, `-32601` no such method, `-32602` bad
//! params (wrong type, bad address or hash, ...), `-32007` request body too large, `-32603` internal;
//! server limits: `-32005` limit exceeded (over `requests_per_sec_per_ip`; [`CODE_LIMIT_EXCEEDED`]),
//! `-32006` too many subscriptions on the connection, `-32010` batch too long (`max_batch_len`),
//! HTTP `403` for a host or origin not allowed, `429` when `max_connections` are in use;
//! node errors: `-32020` transaction rejected (`data.reason` is the stable reason code, e.g.
//! `nonce_too_low`), `-32021` not found, `-32022` not a dev chain, `-32023` timed out, `-32024` node
//! stopped. Every message names the cause, e.g. `nonce too low: expected 7, got 5`.
//!
//! Choices (what geth, reth and anvil do, and where this differs):
//! - Perimeter (`perimeter.rs`): `Origin` allowlist on HTTP *and* the WebSocket upgrade (`403`, not
//!   `101`); requests without `Origin` pass. Default on a dev chain (the node's engine has dev
//!   controls; `node` passes `dev` to [`RpcServer::start`]): local pages (`http(s)://localhost`,
//!   `127.0.0.1`, `[::1]`, any port) — not anvil's `*`, so a page on the internet cannot drive a
//!   dev node either; elsewhere no origin. `Host` allowlist against DNS rebinding: `localhost`
//!   and every IP literal by default (geth's `--http.vhosts` lists names; an IP literal cannot be
//!   rebound, so a node bound to `0.0.0.0` is reachable by IP without configuration).
//! - Limits: batches of at most `max_batch_len` (100) calls; `max_subscriptions_per_connection`
//!   (16); `max_connections` (256: open WebSockets plus HTTP requests in progress); a token bucket
//!   per client IP of `requests_per_sec_per_ip` (1,000; every call and batch entry takes one).
//!   Keyed by IP, not by connection (a client could open a connection per call); clients on one
//!   machine share a bucket unless they use different source addresses (e.g. `127.0.0.2`).
//! - Lockout: no per-IP connection cap (honest local clients and attackers on loopback would share
//!   it). Instead a connection with no call in flight, no subscription and no request for
//!   `idle_timeout_secs` (60) is closed, WebSocket pings every `ws_ping_interval_secs` (30) drop a
//!   peer that answers none for two intervals, and a closing connection whose peer does not read
//!   is cut after another `idle_timeout_secs` (`conn.rs`). Idle connections therefore free their
//!   slots; a client that keeps every slot busy with calls is held back by the rate limit.
//! - Notifications: each block is serialized once, on the blocking pool, for every subscriber; a
//!   subscriber whose connection queue (`ws_buffer_messages`, 64) is full is dropped with a final
//!   error notification and its connection closed (`blocks.rs`) — never buffered without bound.
//! - Threads: the server runs on the runtime `node` gives it, its own (`batara-rpc`, two workers),
//!   apart from p2p's (`batara-net`), so RPC load does not delay consensus messages; long calls
//!   (submission waits, dev controls) run on that runtime's blocking pool.
//!
//! Must never: keep the node alive (it holds a [`WeakNode`]) or name the node's wiring (it serves
//! [`NodeApi`], which `node::NodeHandle` implements), block an async worker on a long call or a
//! large serialization, buffer without bound for a client that does not read, or answer a
//! browser origin that is not allowed.

mod blocks;
mod conn;
mod limits;
mod perimeter;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use jsonrpsee::core::BoxError;
use jsonrpsee::server::middleware::rpc::RpcServiceBuilder;
use jsonrpsee::server::{
    serve_with_graceful_shutdown, stop_channel, BatchRequestConfig, HttpRequest, HttpResponse,
    Methods, PendingSubscriptionSink, PingConfig, RpcModule, Server, ServerConfig, ServerHandle,
    StopHandle, TowerService, TowerServiceBuilder,
};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tower::layer::util::{Identity, Stack};

use self::limits::{LimitsLayer, RateLimiter};
use self::perimeter::{Perimeter, Verdict};
use crate::api::{parse, BlockId, Error, EventFilter, NodeApi, SkipTarget, WeakNode};
use crate::modules::vm::Query;
use crate::types::{dec_u128, Address, Amount, Hash, SignedTransaction};
use serde::{Deserialize, Serialize};

/// JSON-RPC server settings (`[rpc]` in `config.toml`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RpcConfig {
    /// Serve JSON-RPC at all.
    pub enabled: bool,
    /// HTTP and WebSocket address (port 0 picks a free one).
    pub addr: SocketAddr,
    /// Largest request body, in bytes.
    pub max_request_bytes: u32,
    /// Largest response body, in bytes.
    pub max_response_bytes: u32,
    /// Most concurrent connections: open WebSockets plus HTTP requests being answered.
    pub max_connections: u32,
    /// Browser origins allowed (`https://app.example`, `http://localhost:*`, or `"*"`). Unset:
    /// on a dev chain the local pages (`http(s)://localhost`, `127.0.0.1`, `[::1]`, any port),
    /// elsewhere none. Requests without an `Origin` header are always allowed.
    pub allowed_origins: Option<Vec<String>>,
    /// `Host` names allowed (against DNS rebinding), or `"*"`. Unset: `localhost` and every IP
    /// literal.
    pub allowed_hosts: Option<Vec<String>>,
    /// Most calls in one JSON-RPC batch.
    pub max_batch_len: u32,
    /// Most subscriptions open on one WebSocket connection.
    pub max_subscriptions_per_connection: u32,
    /// Calls per second per client IP address (each batch entry counts; bursts of one second's
    /// worth); 0: unlimited.
    pub requests_per_sec_per_ip: u32,
    /// A connection with no call in flight, no subscription and no request for this long is
    /// closed; a closing connection whose peer does not read is cut after as long again.
    pub idle_timeout_secs: u64,
    /// WebSocket ping interval; a peer that answers no ping for two intervals is dropped. 0: no
    /// pings.
    pub ws_ping_interval_secs: u64,
    /// Messages queued per WebSocket connection; a block subscriber that finds the queue full is
    /// dropped with a notice.
    pub ws_buffer_messages: u32,
    /// Most gas one `vm_query` or `vm_estimateGas` may burn (geth's `--rpc.gascap`, 50M by
    /// default), below the chain's `max_tx_gas` when that is higher: a client's calls cost the
    /// node at most this much execution each.
    pub max_query_gas: u64,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            addr: SocketAddr::from(([127, 0, 0, 1], 8545)),
            max_request_bytes: 4 << 20,
            max_response_bytes: 32 << 20,
            max_connections: 256,
            allowed_origins: None,
            allowed_hosts: None,
            max_batch_len: 100,
            max_subscriptions_per_connection: 16,
            requests_per_sec_per_ip: 1_000,
            idle_timeout_secs: 60,
            ws_ping_interval_secs: 30,
            ws_buffer_messages: 64,
            max_query_gas: 50_000_000,
        }
    }
}

pub use self::limits::CODE_LIMIT_EXCEEDED;
pub use crate::api::error::{
    CODE_INTERNAL, CODE_INVALID_PARAMS, CODE_NOT_DEV, CODE_NOT_FOUND, CODE_REJECTED, CODE_STOPPED,
    CODE_TIMEOUT,
};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

fn to_rpc(e: Error) -> ErrorObjectOwned {
    let code = e.kind().rpc_code();
    let data = match &e {
        Error::Rejected(r) => Some(json!({ "reason": r.code() })),
        _ => None,
    };
    ErrorObjectOwned::owned(code, e.to_string(), data)
}

fn bad_params(msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(CODE_INVALID_PARAMS, msg.into(), None::<()>)
}

/// Positional or named parameters, read by name and position.
struct Args(Vec<Option<Value>>);

impl Args {
    fn parse(params: &Params, names: &[&str]) -> RpcResult<Self> {
        let v: Option<Value> = if params.as_str().is_none() {
            None
        } else {
            Some(
                params
                    .parse::<Value>()
                    .map_err(|e| bad_params(e.message().to_owned()))?,
            )
        };
        let slots = match v {
            None | Some(Value::Null) => vec![None; names.len()],
            Some(Value::Array(a)) => {
                if a.len() > names.len() {
                    return Err(bad_params(format!(
                        "expected at most {} params, got {}",
                        names.len(),
                        a.len()
                    )));
                }
                let mut s: Vec<Option<Value>> = a.into_iter().map(Some).collect();
                s.resize(names.len(), None);
                s
            }
            Some(Value::Object(mut o)) => {
                let s = names.iter().map(|n| o.remove(*n)).collect();
                if let Some(k) = o.keys().next() {
                    return Err(bad_params(format!(
                        "unknown param {k:?}; expected {names:?}"
                    )));
                }
                s
            }
            Some(other) => {
                return Err(bad_params(format!(
                    "params must be an array or object, got {other}"
                )))
            }
        };
        Ok(Args(
            slots
                .into_iter()
                .map(|v| v.filter(|v| !v.is_null()))
                .collect(),
        ))
    }

    fn opt<T: DeserializeOwned>(&self, i: usize, name: &str) -> RpcResult<Option<T>> {
        match &self.0[i] {
            None => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| bad_params(format!("invalid {name}: {e}"))),
        }
    }

    fn req<T: DeserializeOwned>(&self, i: usize, name: &str) -> RpcResult<T> {
        self.opt(i, name)?
            .ok_or_else(|| bad_params(format!("missing param {name}")))
    }
}

/// Reads a u64 given as a JSON number or a decimal string.
fn opt_u64(args: &Args, i: usize, name: &str) -> RpcResult<Option<u64>> {
    #[derive(serde::Deserialize)]
    struct W(#[serde(with = "crate::types::dec_u64")] u64);
    Ok(args.opt::<W>(i, name)?.map(|w| w.0))
}

/// Parses a block id: a height (number or decimal string), a 0x-hash, or "latest".
fn block_id(args: &Args, i: usize) -> RpcResult<BlockId> {
    match &args.0[i] {
        None => Ok(BlockId::Latest),
        Some(Value::String(s)) if s == "latest" => Ok(BlockId::Latest),
        Some(Value::String(s)) if s.starts_with("0x") => s
            .parse::<Hash>()
            .map(BlockId::Hash)
            .map_err(|e| bad_params(e.to_string())),
        Some(_) => Ok(BlockId::Height(
            opt_u64(args, i, "height")?.expect("present"),
        )),
    }
}

fn node<W: WeakNode>(ctx: &W) -> RpcResult<W::Node> {
    ctx.upgrade().ok_or_else(|| to_rpc(Error::Stopped))
}

fn hex_param(s: &str, what: &str) -> RpcResult<Vec<u8>> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s))
        .map_err(|e| bad_params(format!("{what} must be 0x-hex: {e}")))
}

/// A call's input: `args` (any JSON value, sent as its compact text: the calling convention) or
/// `raw_args` (0x-hex bytes), not both; none is empty input.
fn call_args(a: &Args, json_at: usize, raw_at: usize) -> RpcResult<Vec<u8>> {
    match (&a.0[json_at], a.opt::<String>(raw_at, "raw_args")?) {
        (Some(_), Some(_)) => Err(bad_params("give args or raw_args, not both")),
        (Some(v), None) => Ok(v.to_string().into_bytes()),
        (None, Some(h)) => hex_param(&h, "raw_args"),
        (None, None) => Ok(vec![]),
    }
}

/// `v` with `result`: the output read as JSON, when it is JSON (the calling convention).
fn with_result(mut v: Value, output: &[u8]) -> Value {
    if let Ok(r) = serde_json::from_slice::<Value>(output) {
        v["result"] = r;
    }
    v
}

fn decode_tx_hex(s: &str) -> RpcResult<Vec<u8>> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    hex::decode(h).map_err(|e| bad_params(format!("transaction must be 0x-hex: {e}")))
}

fn build_module<W: WeakNode>(
    ctx: W,
    feed: Option<blocks::Feed>,
    max_query_gas: u64,
) -> Result<RpcModule<W>, jsonrpsee::core::RegisterMethodError> {
    let mut m = RpcModule::new(ctx);
    m.register_method("node_info", |p, ctx, _| -> RpcResult<Value> {
        Args::parse(&p, &[])?;
        Ok(json!(node(ctx)?.info()))
    })?;
    m.register_method("chain_getBlock", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["block"])?;
        Ok(json!(node(ctx)?.block(block_id(&a, 0)?).map_err(to_rpc)?))
    })?;
    m.register_method("chain_getHeader", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["block"])?;
        let n = node(ctx)?;
        let id = block_id(&a, 0)?;
        let header = n.header(id).map_err(to_rpc)?;
        Ok(json!({ "hash": header.hash(), "header": header }))
    })?;
    m.register_method("chain_getTransaction", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["hash"])?;
        let hash: Hash = a.req(0, "hash")?;
        Ok(json!(node(ctx)?.transaction(&hash).map_err(to_rpc)?))
    })?;
    m.register_method("state_getAccount", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["address", "height"])?;
        let addr: Address = a.req(0, "address")?;
        let h = opt_u64(&a, 1, "height")?;
        Ok(json!(node(ctx)?.account(&addr, h).map_err(to_rpc)?))
    })?;
    m.register_method("state_getProof", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["address", "height"])?;
        let addr: Address = a.req(0, "address")?;
        let h = opt_u64(&a, 1, "height")?;
        let proof = node(ctx)?.proof(&addr, h).map_err(to_rpc)?;
        let mut v = json!(proof);
        v["address"] = json!(addr);
        Ok(v)
    })?;
    m.register_method("tx_nextNonce", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["address"])?;
        let addr: Address = a.req(0, "address")?;
        Ok(json!(node(ctx)?
            .next_nonce(&addr)
            .map_err(to_rpc)?
            .to_string()))
    })?;
    m.register_method("staking_getValidators", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["height"])?;
        let h = opt_u64(&a, 0, "height")?;
        Ok(json!(node(ctx)?.validators(h).map_err(to_rpc)?))
    })?;
    m.register_method("staking_getValidator", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["address"])?;
        let addr: Address = a.req(0, "address")?;
        Ok(json!(node(ctx)?.validator(&addr).map_err(to_rpc)?))
    })?;
    m.register_method("staking_getDelegations", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["delegator"])?;
        let addr: Address = a.req(0, "delegator")?;
        Ok(json!(node(ctx)?.delegations(&addr).map_err(to_rpc)?))
    })?;
    m.register_method("staking_getDelegators", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["validator", "after", "limit"])?;
        let addr: Address = a.req(0, "validator")?;
        let after: Option<Address> = a.opt(1, "after")?;
        let limit = opt_u64(&a, 2, "limit")?.unwrap_or(1_000);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(json!(node(ctx)?
            .delegators(&addr, after.as_ref(), limit)
            .map_err(to_rpc)?))
    })?;
    m.register_method("distribution_getRewards", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["delegator"])?;
        let addr: Address = a.req(0, "delegator")?;
        Ok(json!(node(ctx)?.rewards(&addr).map_err(to_rpc)?))
    })?;
    m.register_method(
        "distribution_getCommunityPool",
        |p, ctx, _| -> RpcResult<Value> {
            Args::parse(&p, &[])?;
            Ok(json!(node(ctx)?.community_pool().map_err(to_rpc)?))
        },
    )?;
    m.register_method("gov_getProposal", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["id"])?;
        let id = opt_u64(&a, 0, "id")?.ok_or_else(|| bad_params("missing param id"))?;
        Ok(json!(node(ctx)?.proposal(id).map_err(to_rpc)?))
    })?;
    m.register_method("gov_listProposals", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["status", "after", "limit"])?;
        let status: Option<String> = a.opt(0, "status")?;
        let after = opt_u64(&a, 1, "after")?;
        let limit = opt_u64(&a, 2, "limit")?.unwrap_or(100);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(json!(node(ctx)?
            .proposals(status.as_deref(), after, limit)
            .map_err(to_rpc)?))
    })?;
    m.register_method("gov_getVotes", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["id", "after", "limit"])?;
        let id = opt_u64(&a, 0, "id")?.ok_or_else(|| bad_params("missing param id"))?;
        let after: Option<Address> = a.opt(1, "after")?;
        let limit = opt_u64(&a, 2, "limit")?.unwrap_or(1_000);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(json!(node(ctx)?
            .votes(id, after.as_ref(), limit)
            .map_err(to_rpc)?))
    })?;
    m.register_method("gov_getParams", |p, ctx, _| -> RpcResult<Value> {
        Args::parse(&p, &[])?;
        Ok(json!(node(ctx)?.gov_params().map_err(to_rpc)?))
    })?;
    m.register_method("chain_getBlockReceipts", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["block"])?;
        Ok(json!(node(ctx)?
            .receipts(block_id(&a, 0)?)
            .map_err(to_rpc)?))
    })?;
    m.register_method("vm_getContract", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["address", "height"])?;
        let addr: Address = a.req(0, "address")?;
        let h = opt_u64(&a, 1, "height")?;
        Ok(json!(node(ctx)?.contract(&addr, h).map_err(to_rpc)?))
    })?;
    m.register_method("vm_getCode", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["code_hash"])?;
        let h: Hash = a.req(0, "code_hash")?;
        Ok(json!(node(ctx)?.code(&h).map_err(to_rpc)?))
    })?;
    m.register_method("vm_traceTransaction", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["hash"])?;
        let hash: Hash = a.req(0, "hash")?;
        Ok(json!(node(ctx)?.trace(&hash).map_err(to_rpc)?))
    })?;
    m.register_method("vm_getStorage", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["contract", "slot", "height", "prove"])?;
        let contract: Address = a.req(0, "contract")?;
        let slot = hex_param(&a.req::<String>(1, "slot")?, "slot")?;
        let h = opt_u64(&a, 2, "height")?;
        let prove = a.opt::<bool>(3, "prove")?.unwrap_or(false);
        Ok(json!(node(ctx)?
            .storage(&contract, &slot, h, prove)
            .map_err(to_rpc)?))
    })?;
    // Contract execution (up to the chain's max_tx_gas) runs on the blocking pool, never on the
    // server's async workers.
    m.register_blocking_method("vm_query", move |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(
            &p,
            &[
                "contract", "method", "args", "height", "caller", "gas", "raw_args",
            ],
        )?;
        let contract: Address = a.req(0, "contract")?;
        let method: String = a.req(1, "method")?;
        let args = call_args(&a, 2, 6)?;
        let h = opt_u64(&a, 3, "height")?;
        let caller: Option<Address> = a.opt(4, "caller")?;
        let gas = match opt_u64(&a, 5, "gas")?.unwrap_or(0) {
            0 => max_query_gas,
            g => g.min(max_query_gas),
        };
        let q = Query {
            caller: caller.unwrap_or(Address([0; 20])),
            contract,
            method: &method,
            args: &args,
            gas,
        };
        let view = node(&*ctx)?.query_contract(&q, h).map_err(to_rpc)?;
        Ok(with_result(json!(view), &view.output))
    })?;
    m.register_blocking_method("vm_estimateGas", move |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["tx"])?;
        let tx: Value = a.req(0, "tx")?;
        let (sender, kind) = match &tx {
            Value::String(s) => {
                let t = SignedTransaction::from_bytes(&decode_tx_hex(s)?)
                    .map_err(|e| bad_params(format!("invalid transaction: {e}")))?;
                (t.sender(), t.body.kind)
            }
            Value::Object(o) => {
                let from: Address =
                    serde_json::from_value(o.get("from").cloned().unwrap_or_default())
                        .map_err(|e| bad_params(format!("tx.from: {e}")))?;
                let kind = o.get("kind").ok_or_else(|| bad_params("missing tx.kind"))?;
                let kind =
                    parse::tx_kind(&kind.to_string()).map_err(|e| bad_params(e.to_string()))?;
                (from, kind)
            }
            _ => {
                return Err(bad_params(
                    "tx must be signed 0x-hex or {\"from\": address, \"kind\": {...}}",
                ))
            }
        };
        Ok(json!(node(&*ctx)?
            .estimate_gas(&sender, &kind, Some(max_query_gas))
            .map_err(to_rpc)?))
    })?;
    m.register_method("state_getAccounts", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["after", "limit"])?;
        let after: Option<Address> = a.opt(0, "after")?;
        let limit = opt_u64(&a, 1, "limit")?.unwrap_or(1_000);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(json!(node(ctx)?
            .accounts(after.as_ref(), limit)
            .map_err(to_rpc)?))
    })?;
    m.register_method("state_getBalances", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["addresses"])?;
        let addresses: Vec<Address> = a.req(0, "addresses")?;
        let balances = node(ctx)?.balances(&addresses).map_err(to_rpc)?;
        Ok(json!(balances
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()))
    })?;
    m.register_blocking_method("tx_submit", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["tx"])?;
        let raw = decode_tx_hex(&a.req::<String>(0, "tx")?)?;
        Ok(json!(node(ctx.as_ref())?.submit(&raw).map_err(to_rpc)?))
    })?;
    m.register_blocking_method("tx_submitBatch", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["txs"])?;
        let hexes: Vec<String> = a.req(0, "txs")?;
        let raws = hexes
            .iter()
            .map(|h| decode_tx_hex(h))
            .collect::<RpcResult<Vec<_>>>()?;
        let results = node(ctx.as_ref())?.submit_batch(&raws);
        Ok(Value::Array(
            results
                .into_iter()
                .map(|r| match r {
                    Ok(h) => json!({ "hash": h }),
                    Err(e) => json!({ "error": e.to_string(), "reason": e.code() }),
                })
                .collect(),
        ))
    })?;
    m.register_blocking_method("dev_mine", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["blocks"])?;
        let count = opt_u64(&a, 0, "blocks")?.unwrap_or(1);
        // NodeApi::mine checks the range; a count beyond u32 is out of it as well.
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        let blocks = node(ctx.as_ref())?.mine(count).map_err(to_rpc)?;
        Ok(Value::Array(
            blocks
                .iter()
                .map(|b| json!({ "height": b.header.height.to_string(), "hash": b.hash, "txs": b.txs.len() }))
                .collect(),
        ))
    })?;
    m.register_blocking_method("evidence_submit", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["evidence"])?;
        let raw = a.0[0]
            .clone()
            .ok_or_else(|| bad_params("missing param evidence"))?;
        let e: crate::types::DuplicateVoteEvidence = serde_json::from_value(raw)
            .map_err(|e| bad_params(format!("evidence must be {{vote_a, vote_b}}: {e}")))?;
        Ok(json!(node(ctx.as_ref())?
            .submit_evidence(e)
            .map_err(to_rpc)?))
    })?;
    // A checkpoint flushes memtables and links (or copies) files: the blocking pool.
    m.register_blocking_method("node_backup", |p, ctx, _| -> RpcResult<Value> {
        Args::parse(&p, &[])?;
        Ok(json!(node(ctx.as_ref())?.backup(None).map_err(to_rpc)?))
    })?;
    m.register_blocking_method("dev_skipTo", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["target"])?;
        let t: Value = a.req(0, "target")?;
        let usage =
            "target must be {voting_end: proposal id}, {unbonding_end: true} or {height: N}";
        let obj = t
            .as_object()
            .filter(|o| o.len() == 1)
            .ok_or_else(|| bad_params(usage))?;
        let num = |v: &Value| -> RpcResult<u64> {
            #[derive(serde::Deserialize)]
            struct W(#[serde(with = "crate::types::dec_u64")] u64);
            serde_json::from_value::<W>(v.clone())
                .map(|w| w.0)
                .map_err(|e| bad_params(format!("{usage}: {e}")))
        };
        let target = match obj.iter().next().expect("one entry") {
            (k, v) if k == "voting_end" => SkipTarget::VotingEnd(num(v)?),
            (k, Value::Bool(true)) if k == "unbonding_end" => SkipTarget::UnbondingEnd,
            (k, v) if k == "height" => SkipTarget::Height(num(v)?),
            _ => return Err(bad_params(usage)),
        };
        Ok(json!(node(ctx.as_ref())?
            .skip_to(target)
            .map_err(to_rpc)?))
    })?;
    m.register_blocking_method("dev_snapshot", |p, ctx, _| -> RpcResult<Value> {
        Args::parse(&p, &[])?;
        Ok(json!(node(ctx.as_ref())?
            .snapshot()
            .map_err(to_rpc)?
            .to_string()))
    })?;
    m.register_blocking_method("dev_revert", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["snapshot"])?;
        let id = opt_u64(&a, 0, "snapshot")?.ok_or_else(|| bad_params("missing param snapshot"))?;
        node(ctx.as_ref())?.revert(id).map_err(to_rpc)?;
        Ok(json!(true))
    })?;
    m.register_blocking_method("dev_setBalance", |p, ctx, _| -> RpcResult<Value> {
        #[derive(serde::Deserialize)]
        struct Amt(#[serde(with = "dec_u128")] Amount);
        let a = Args::parse(&p, &["address", "amount"])?;
        let addr: Address = a.req(0, "address")?;
        let amount: Amt = a.req(1, "amount")?;
        let b = node(ctx.as_ref())?
            .set_balance(&addr, amount.0)
            .map_err(to_rpc)?;
        Ok(json!({ "height": b.header.height.to_string(), "hash": b.hash }))
    })?;
    m.register_blocking_method("dev_increaseTime", |p, ctx, _| -> RpcResult<Value> {
        let a = Args::parse(&p, &["ms"])?;
        let ms = opt_u64(&a, 0, "ms")?.ok_or_else(|| bad_params("missing param ms"))?;
        Ok(json!(node(ctx.as_ref())?
            .increase_time(ms)
            .map_err(to_rpc)?
            .to_string()))
    })?;
    m.register_subscription(
        "chain_subscribeBlocks",
        "chain_block",
        "chain_unsubscribeBlocks",
        move |_p, pending: PendingSubscriptionSink, _ctx, ext| {
            let feed = feed.clone();
            async move {
                let conn = ext.get::<Arc<conn::Conn>>().cloned();
                match feed {
                    Some(feed) => blocks::subscription(pending, &feed, conn).await,
                    None => {
                        pending.reject(to_rpc(Error::Stopped)).await;
                        Ok(())
                    }
                }
            }
        },
    )?;
    m.register_subscription(
        "chain_subscribeEvents",
        "chain_event",
        "chain_unsubscribeEvents",
        move |p, pending: PendingSubscriptionSink, ctx, ext| async move {
            let conn = ext.get::<Arc<conn::Conn>>().cloned();
            let filter =
                Args::parse(&p, &["filter"]).and_then(|a| a.opt::<EventFilter>(0, "filter"));
            match (filter, node(ctx.as_ref())) {
                (Ok(f), Ok(n)) => {
                    let f = f.unwrap_or_default().matcher();
                    blocks::events_subscription(pending, n.subscribe_blocks(), f, conn).await
                }
                (Err(e), _) | (_, Err(e)) => {
                    pending.reject(e).await;
                    Ok(())
                }
            }
        },
    )?;
    Ok(m)
}

/// The RPC middleware stack of every connection.
type Middleware = Stack<LimitsLayer, Identity>;

/// A running JSON-RPC server.
pub struct RpcServer {
    handle: ServerHandle,
    feed: Option<tokio::task::JoinHandle<()>>,
}

impl RpcServer {
    /// Binds `cfg.addr` and serves the node on the runtime `rt` (the RPC's own). `dev` says the
    /// node runs a dev chain: unless `cfg.allowed_origins` is set, local pages may then call it.
    /// Returns the bound address.
    pub fn start<W: WeakNode>(
        rt: &tokio::runtime::Handle,
        cfg: &RpcConfig,
        node: W,
        dev: bool,
    ) -> Result<(Self, SocketAddr), Error> {
        let io = |context: String| move |source| Error::Io { context, source };
        let perimeter = Perimeter::new(
            cfg.allowed_hosts.as_deref(),
            cfg.allowed_origins.as_deref(),
            dev,
        )
        .map_err(Error::InvalidInput)?;
        let listener = std::net::TcpListener::bind(cfg.addr)
            .map_err(io(format!("cannot bind JSON-RPC to {}", cfg.addr)))?;
        listener
            .set_nonblocking(true)
            .map_err(io("configuring the JSON-RPC socket".into()))?;
        let addr = listener
            .local_addr()
            .map_err(io("reading the JSON-RPC address".into()))?;
        let (feed, feed_task) = match blocks::start_feed(rt, &node) {
            Some((feed, task)) => (Some(feed), Some(task)),
            None => (None, None),
        };
        let methods: Methods = build_module(node, feed, cfg.max_query_gas)
            .map_err(|e| Error::InvalidInput(e.to_string()))?
            .into();
        let mut config = ServerConfig::builder()
            .max_request_body_size(cfg.max_request_bytes)
            .max_response_body_size(cfg.max_response_bytes)
            .max_connections(cfg.max_connections)
            .max_subscriptions_per_connection(cfg.max_subscriptions_per_connection)
            .set_batch_request_config(BatchRequestConfig::Limit(cfg.max_batch_len))
            .set_message_buffer_capacity(cfg.ws_buffer_messages.max(2));
        if cfg.ws_ping_interval_secs > 0 {
            let every = Duration::from_secs(cfg.ws_ping_interval_secs);
            config = config.enable_ws_ping(
                PingConfig::new()
                    .ping_interval(every)
                    .inactive_limit(every * 2),
            );
        }
        let rate = (cfg.requests_per_sec_per_ip > 0)
            .then(|| Arc::new(RateLimiter::new(cfg.requests_per_sec_per_ip)));
        let services = Server::builder()
            .set_config(config.build())
            .set_rpc_middleware(RpcServiceBuilder::new().layer(LimitsLayer { rate }))
            .to_service_builder();
        let idle = Duration::from_secs(cfg.idle_timeout_secs.max(1));
        let (stop, handle) = stop_channel();
        let listener = {
            let _guard = rt.enter();
            tokio::net::TcpListener::from_std(listener)
                .map_err(io("starting the JSON-RPC server".into()))?
        };
        rt.spawn(accept_loop(
            listener,
            services,
            methods,
            Arc::new(perimeter),
            stop,
            idle,
        ));
        Ok((
            Self {
                handle,
                feed: feed_task,
            },
            addr,
        ))
    }

    /// Stops serving; open connections are closed.
    pub fn stop(self) {
        let _ = self.handle.stop();
        if let Some(feed) = self.feed {
            feed.abort();
        }
        // Give in-flight calls a moment to finish so clients see answers, not resets.
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Accepts connections until `stop`; each gets the perimeter, jsonrpsee's service (stopped by its
/// own handle) and a watchdog (`conn`).
async fn accept_loop(
    listener: tokio::net::TcpListener,
    services: TowerServiceBuilder<Middleware, Identity>,
    methods: Methods,
    perimeter: Arc<Perimeter>,
    stop: StopHandle,
    idle: Duration,
) {
    let stopped = stop.clone().shutdown();
    tokio::pin!(stopped);
    loop {
        let (socket, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors, usually: let connections close.
                    tracing::warn!(target: "batara::rpc", "cannot accept a JSON-RPC connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stopped => break,
        };
        let _ = socket.set_nodelay(true);
        let (conn, io, gone) = conn::accept(socket, peer.ip());
        let (conn_stop, conn_handle) = stop_channel();
        let gate = Gate {
            inner: services.clone().build(methods.clone(), conn_stop.clone()),
            perimeter: perimeter.clone(),
            conn: conn.clone(),
        };
        tokio::spawn(conn::watch(conn, idle, gone, stop.clone(), conn_handle));
        tokio::spawn(async move {
            if let Err(e) = serve_with_graceful_shutdown(io, gate, conn_stop.shutdown()).await {
                tracing::debug!(target: "batara::rpc", "JSON-RPC connection ended: {e}");
            }
        });
    }
}

/// The perimeter in front of jsonrpsee: refuses or answers (preflight) what it must, hands the
/// connection's state to the calls through the request's extensions, adds CORS headers.
#[derive(Clone)]
struct Gate {
    inner: TowerService<Middleware, Identity>,
    perimeter: Arc<Perimeter>,
    conn: Arc<conn::Conn>,
}

impl tower::Service<HttpRequest<hyper::body::Incoming>> for Gate {
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: HttpRequest<hyper::body::Incoming>) -> Self::Future {
        self.conn.touch();
        let verdict = self.perimeter.check(
            req.method(),
            req.uri().authority().map(|a| a.as_str()),
            req.headers(),
        );
        let allow = match verdict {
            Verdict::Refuse(r) | Verdict::Preflight(r) => return Box::pin(async { Ok(r) }),
            Verdict::Pass(allow) => allow,
        };
        req.extensions_mut().insert(self.conn.clone());
        let answer = self.inner.call(req);
        Box::pin(async move {
            let mut r = answer.await?;
            if let Some(origin) = allow {
                perimeter::add_cors(r.headers_mut(), origin);
            }
            Ok(r)
        })
    }
}
