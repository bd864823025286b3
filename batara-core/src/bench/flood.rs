//! `batara bench flood`: junk transactions and an RPC request flood against a 4-validator network
//! of real `batara start` processes on loopback, while an honest sender keeps submitting.
//!
//! The network is the one `batara testnet` writes ([`crate::node::testnet::write_testnet`]), in a
//! temporary directory, with one bench-only addition to its genesis: funded spam accounts (and
//! funded accounts for far-future nonces). Phase 1 (unloaded, `baseline_secs`) measures the block
//! interval and the honest sender's commit latency; phase 2 (`duration_secs`) adds:
//!
//! - junk transactions (`junk`, by default 10 × the pool's `max_txs`), spread over the nodes: 60%
//!   funded spam paying exactly the minimum fee, sent in waves of 110% of a pool's capacity (from
//!   127.0.0.5) to fill the pools; the rest paced evenly (from 127.0.0.4): unfunded fresh keys at
//!   fee 0 and at the minimum fee, and funded accounts at far-future nonces;
//! - `rpc_connections` keep-alive HTTP connections (from 127.0.0.1) calling `node_info`,
//!   `chain_getBlock` and `state_getAccount` as fast as they are answered;
//! - `websockets` idle WebSocket connections (reopened when the server closes them).
//!
//! The honest sender (a funded dev account paying 2 × the minimum fee, one transfer every
//! `honest_interval_ms`, from 127.0.0.2: its own rate-limit bucket) submits to node 0 and polls
//! `chain_getTransaction` until each transaction is committed. Block times come from the
//! committed headers (polled from 127.0.0.3).
//!
//! Must never: leave a child running (a guard SIGKILLs them, on errors and panics too), or be run
//! as a test (it measures).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{json, Value};

use super::http::{self, Client};
use super::Measured;
use crate::api::{Error, Result};
use crate::app::genesis::{self, GenesisAccount};
use crate::crypto::{self, Keypair};
use crate::node::testnet::{write_testnet, TestnetSpec};
use crate::types::{Address, Amount, TxBody, TxKind};

/// Parameters of the flood benchmark.
#[derive(Clone, Debug, Serialize)]
pub struct FloodBench {
    /// Unloaded phase, seconds.
    pub baseline_secs: u64,
    /// Loaded phase, seconds.
    pub duration_secs: u64,
    /// Junk transactions sent over the loaded phase.
    pub junk: usize,
    /// Funded spam accounts (bench-only genesis accounts).
    pub spam_accounts: usize,
    /// Keep-alive HTTP connections of the RPC flood.
    pub rpc_connections: usize,
    /// Idle WebSocket connections.
    pub websockets: usize,
    /// Time between the honest sender's transfers, ms.
    pub honest_interval_ms: u64,
    /// The BFT commit wait (`batara testnet`'s default: 500 ms).
    pub block_time_ms: u64,
    /// The pool capacity (`mempool.max_txs` of the nodes), for the spam waves.
    pub pool_max_txs: usize,
    /// Keep the temporary directory (node homes and logs).
    pub keep: bool,
}

const VALIDATORS: usize = 4;
const FUTURE_ACCOUNTS: usize = 256;
const BATCH: usize = 100;
const CHAIN_ID: &str = "batara-flood";
const IP_FLOOD: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const IP_HONEST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const IP_WATCH: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const IP_JUNK: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 4);
const IP_SPAM: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 5);

/// Block interval and honest-sender figures of one phase.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PhaseFigures {
    /// Blocks committed in the phase.
    pub blocks: usize,
    /// Median time between consecutive blocks (header times), ms.
    pub interval_p50_ms: f64,
    /// Largest time between consecutive blocks, ms.
    pub interval_max_ms: f64,
    /// Mean time between consecutive blocks, ms.
    pub interval_mean_ms: f64,
    /// Honest transfers submitted and accepted.
    pub honest_sent: usize,
    /// Of those, seen committed.
    pub honest_committed: usize,
    /// Submit → seen committed, median, ms.
    pub honest_p50_ms: f64,
    /// 99th percentile, ms.
    pub honest_p99_ms: f64,
    /// Largest, ms.
    pub honest_max_ms: f64,
    /// Honest submissions refused, by reason.
    pub honest_refused: BTreeMap<String, u64>,
}

/// One node at the end of the run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NodeFigures {
    /// Peak resident set (VmHWM), MiB.
    pub peak_rss_mib: f64,
    /// Resident set at the end of the unloaded phase, MiB.
    pub baseline_rss_mib: f64,
    /// Resident set at the end, MiB.
    pub final_rss_mib: f64,
    /// CPU time used (user + system), seconds.
    pub cpu_secs: f64,
    /// Largest pool size seen (`node_info.mempool_txs`, sampled every few seconds).
    pub max_mempool_txs: u64,
    /// The process was still running at the end.
    pub alive: bool,
    /// It answered `node_info` at the end (within 5 s).
    pub answering: bool,
    /// How long that answer took, ms.
    pub node_info_ms: f64,
    /// Its height then.
    pub height: u64,
    /// WARN / ERROR lines in its log.
    pub log_warn: usize,
    /// ERROR lines in its log.
    pub log_error: usize,
}

/// What the flood benchmark measured.
#[derive(Clone, Debug, Serialize)]
pub struct FloodReport {
    /// Parameters.
    pub params: FloodBench,
    /// Whole run, seconds.
    pub elapsed_secs: f64,
    /// Per node.
    pub nodes: Vec<NodeFigures>,
    /// Phase 1.
    pub unloaded: PhaseFigures,
    /// Phase 2.
    pub loaded: PhaseFigures,
    /// Honest transfers accepted but not seen committed by the end (30 s after the flood).
    pub honest_not_committed: usize,
    /// Validators jailed at the end (addresses).
    pub jailed: Vec<String>,
    /// Junk by category: `accepted` and each refusal reason.
    pub junk: BTreeMap<String, BTreeMap<String, u64>>,
    /// Spam transactions committed (sum of the spam accounts' nonces).
    pub spam_committed: u64,
    /// Accounts on chain beyond the genesis ones (junk must create none; the honest sender pays
    /// an existing account).
    pub accounts_created: i64,
    /// RPC flood: calls answered with a result.
    pub rpc_answered: u64,
    /// RPC flood: calls refused by the rate limit (-32005).
    pub rpc_limited: u64,
    /// RPC flood: other error answers (by code) and transport failures (`io`).
    pub rpc_errors: BTreeMap<String, u64>,
    /// RPC flood: connections opened (64 at the start; more when the server closed some).
    pub rpc_connects: u64,
    /// WebSockets opened.
    pub ws_opened: u64,
    /// WebSockets the server closed (idle timeout, ping).
    pub ws_closed_by_server: u64,
    /// WebSocket handshakes or connects that failed.
    pub ws_failed: u64,
    /// CPU time of the benchmark process itself (signing, the flood clients), seconds.
    pub bench_cpu_secs: f64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

impl fmt::Display for FloodReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.params;
        writeln!(
            f,
            "flood: {VALIDATORS} validators (`batara start` processes) on loopback, commit wait {} ms; \
             unloaded {} s, loaded {} s; {} junk txs, {} RPC connections, {} idle WebSockets; {:.0} s in all",
            p.block_time_ms, p.baseline_secs, p.duration_secs, p.junk, p.rpc_connections,
            p.websockets, self.elapsed_secs
        )?;
        for (i, n) in self.nodes.iter().enumerate() {
            writeln!(
                f,
                "node{i}: peak RSS {:.0} MiB (after unloaded phase {:.0}, end {:.0}), CPU {:.0} s, \
                 max pool {} txs, {}, node_info {} at height {}, log {} warn / {} error",
                n.peak_rss_mib,
                n.baseline_rss_mib,
                n.final_rss_mib,
                n.cpu_secs,
                n.max_mempool_txs,
                if n.alive { "running" } else { "EXITED" },
                if n.answering {
                    format!("answered in {:.1} ms", n.node_info_ms)
                } else {
                    "NOT ANSWERED".to_owned()
                },
                n.height,
                n.log_warn,
                n.log_error
            )?;
        }
        for (name, ph) in [("unloaded", &self.unloaded), ("loaded", &self.loaded)] {
            writeln!(
                f,
                "{name:8}: block interval p50 {:.0} ms, mean {:.0} ms, max {:.0} ms ({} blocks); honest \
                 latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({}/{} committed); refused: {}",
                ph.interval_p50_ms,
                ph.interval_mean_ms,
                ph.interval_max_ms,
                ph.blocks,
                ph.honest_p50_ms,
                ph.honest_p99_ms,
                ph.honest_max_ms,
                ph.honest_committed,
                ph.honest_sent,
                counts(&ph.honest_refused)
            )?;
        }
        writeln!(
            f,
            "honest txs not committed by the end: {}",
            self.honest_not_committed
        )?;
        writeln!(
            f,
            "jailed validators at the end: {}",
            if self.jailed.is_empty() {
                "none".to_owned()
            } else {
                self.jailed.join(", ")
            }
        )?;
        for (cat, c) in &self.junk {
            writeln!(f, "junk {cat}: {}", counts(c))?;
        }
        writeln!(
            f,
            "spam committed: {}; accounts created: {}",
            self.spam_committed, self.accounts_created
        )?;
        writeln!(
            f,
            "RPC flood: {} answered, {} rate-limited, errors: {}; {} connections opened",
            self.rpc_answered,
            self.rpc_limited,
            counts(&self.rpc_errors),
            self.rpc_connects
        )?;
        writeln!(
            f,
            "WebSockets: {} opened, {} closed by the server, {} failed",
            self.ws_opened, self.ws_closed_by_server, self.ws_failed
        )?;
        write!(
            f,
            "benchmark process CPU: {:.0} s; every node answering at the end: {}",
            self.bench_cpu_secs,
            if self.nodes.iter().all(|n| n.answering) {
                "yes"
            } else {
                "NO"
            }
        )
    }
}

fn counts(m: &BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl FloodReport {
    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serializes")
    }
}

/// Times between consecutive blocks whose times (ms) both lie in `[from, to)`, sorted.
fn intervals_in(times: &[(u64, u64)], from: u64, to: u64) -> Vec<Duration> {
    let inside: Vec<u64> = times
        .iter()
        .map(|&(_, t)| t)
        .filter(|t| (from..to).contains(t))
        .collect();
    let mut v: Vec<Duration> = inside
        .windows(2)
        .map(|w| Duration::from_millis(w[1].saturating_sub(w[0])))
        .collect();
    v.sort_unstable();
    v
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn key(domain: &[u8], i: u64) -> Keypair {
    Keypair::from_seed(&crypto::sha256_parts(&[domain, &i.to_le_bytes()]).0)
}

fn spam_key(i: usize) -> Keypair {
    key(b"batara flood spam", i as u64)
}

fn future_key(i: usize) -> Keypair {
    key(b"batara flood future", i as u64)
}

/// A small deterministic generator (xorshift64*) for benchmarks and tests: the same seed gives
/// the same sequence on every machine. Not for keys or anything secret.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The child processes; SIGKILLed (and the directory removed unless kept) when dropped.
struct Children {
    procs: Vec<Child>,
    dir: PathBuf,
    keep: bool,
}

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.procs {
            let _ = c.kill();
            let _ = c.wait();
        }
        if self.keep {
            eprintln!("node homes and logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `/proc/<pid>/status` field in kB.
fn proc_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU seconds of `/proc/<pid or self>/stat` (clock ticks of 100 Hz, Linux's).
fn proc_cpu(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let u: f64 = f.get(11)?.parse().ok()?;
            let st: f64 = f.get(12)?.parse().ok()?;
            Some((u + st) / 100.0)
        })
        .unwrap_or(0.0)
}

/// A free run of `n` consecutive loopback ports, twice (p2p, RPC).
fn free_ports(n: u16) -> Result<(u16, u16)> {
    let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
    let mut base = 20_000 + (std::process::id() % 2_000) as u16 * 20;
    for _ in 0..200 {
        if (0..2 * n).all(|i| free(base + i)) {
            return Ok((base, base + n));
        }
        base = base.wrapping_add(37 * 20) % 40_000 + 20_000;
    }
    Err(Error::InvalidInput("no free loopback ports found".into()))
}

/// Shared counters: `(category, outcome)` → count.
#[derive(Default)]
struct Tally(Mutex<BTreeMap<String, BTreeMap<String, u64>>>);

impl Tally {
    fn add(&self, cat: &str, outcome: &str, n: u64) {
        *self
            .0
            .lock()
            .entry(cat.to_owned())
            .or_default()
            .entry(outcome.to_owned())
            .or_default() += n;
    }
    fn total(&self, outcome: Option<&str>) -> u64 {
        self.0
            .lock()
            .values()
            .flat_map(|m| m.iter())
            .filter(|(k, _)| outcome.is_none_or(|o| o == k.as_str()))
            .map(|(_, v)| v)
            .sum()
    }
}

const PHASE_BASELINE: u64 = 1;
const PHASE_LOADED: u64 = 2;
const PHASE_DRAIN: u64 = 3;

/// One honest transfer waiting to be seen committed.
struct Pending {
    hash: String,
    at: Instant,
    phase: u64,
}

/// State shared by the benchmark's threads.
struct Shared {
    rpc: Vec<SocketAddr>,
    phase: AtomicU64,
    /// Junk, flood and WebSockets stop.
    stop_load: AtomicBool,
    /// Everything stops.
    stop_all: AtomicBool,
    /// Honest transfers in flight, and (phase, latency) of committed ones.
    pending: Mutex<Vec<Pending>>,
    latencies: Mutex<Vec<(u64, Duration)>>,
    honest_sent: [AtomicU64; 4],
    honest_refused: Tally,
    /// Committed blocks (height, header time ms).
    blocks: Mutex<Vec<(u64, u64)>>,
    height: AtomicU64,
    junk: Tally,
    junk_sent: AtomicU64,
    rpc_answered: AtomicU64,
    rpc_limited: AtomicU64,
    rpc_errors: Tally,
    rpc_connects: AtomicU64,
    ws_opened: AtomicU64,
    ws_closed: AtomicU64,
    ws_failed: AtomicU64,
    max_pool: Vec<AtomicU64>,
}

impl Shared {
    fn sleep_until(&self, t: Instant, stop: &AtomicBool) {
        while Instant::now() < t && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(
                t.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(100)),
            );
        }
    }
}

fn transfer(
    k: &Keypair,
    nonce: u64,
    fee: Amount,
    to: Address,
    amount: Amount,
) -> crate::types::SignedTransaction {
    TxBody {
        chain_id: CHAIN_ID.into(),
        signer: k.public_key(),
        nonce,
        fee,
        kind: TxKind::Transfer { to, amount },
    }
    .sign(k)
}

fn hex_tx(t: &crate::types::SignedTransaction) -> String {
    format!("0x{}", hex::encode(t.to_bytes()))
}

/// Submits a batch; returns per entry `Ok(())` or the refusal reason (a whole failed call gives
/// every entry the call's failure: `rate_limited`, `rpc_error`, `io`).
fn submit_batch(c: &mut Client, txs: &[String]) -> Vec<std::result::Result<(), (String, String)>> {
    let fail = |r: &str, m: String| vec![Err((r.to_owned(), m)); txs.len()];
    match c.call("tx_submitBatch", json!([txs])) {
        Ok(Ok(Value::Array(rs))) if rs.len() == txs.len() => rs
            .iter()
            .map(|r| match r.get("reason").and_then(Value::as_str) {
                None => Ok(()),
                Some(reason) => Err((
                    reason.to_owned(),
                    r["error"].as_str().unwrap_or_default().to_owned(),
                )),
            })
            .collect(),
        Ok(Ok(v)) => fail("rpc_error", format!("unexpected answer {v}")),
        Ok(Err(e)) if e.code == -32005 => fail("rate_limited", e.message),
        Ok(Err(e)) => fail("rpc_error", e.message),
        Err(e) => fail("io", e.to_string()),
    }
}

/// The paced junk of one node: unfunded fresh keys at fee 0 and at the minimum fee, and funded
/// accounts at far-future nonces (3 : 3 : 2).
fn junk_thread(sh: &Shared, node: usize, total: usize, secs: u64, fresh: &AtomicU64) {
    let min_fee = genesis::DEFAULT_MIN_FEE;
    let mut c = Client::new(
        sh.rpc[node],
        Some(IpAddr::V4(IP_JUNK)),
        Duration::from_secs(10),
    );
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (node as u64 + 1));
    let future: Vec<Keypair> = (0..FUTURE_ACCOUNTS)
        .filter(|i| i % VALIDATORS == node)
        .map(future_key)
        .collect();
    let sink = genesis::dev_account_key(2).address();
    let t0 = Instant::now();
    let mut sent = 0usize;
    let mut k = 0u64;
    while sent < total && !sh.stop_load.load(Ordering::Relaxed) {
        let due = ((t0.elapsed().as_secs_f64() / secs.max(1) as f64) * total as f64) as usize;
        let n = due.min(total).saturating_sub(sent).min(BATCH);
        if n == 0 {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let mut cats = Vec::with_capacity(n);
        let mut txs = Vec::with_capacity(n);
        for _ in 0..n {
            k += 1;
            let (cat, tx) = match k % 8 {
                0..=2 => {
                    let key = key(b"batara flood fresh", fresh.fetch_add(1, Ordering::Relaxed));
                    ("unfunded_fee0", transfer(&key, 0, 0, sink, 0))
                }
                3..=5 => {
                    let key = key(b"batara flood fresh", fresh.fetch_add(1, Ordering::Relaxed));
                    ("unfunded_min_fee", transfer(&key, 0, min_fee, sink, 0))
                }
                _ => {
                    let key = &future[(rng.next() as usize) % future.len()];
                    let nonce = 2 + rng.next() % 1500;
                    ("future_nonce", transfer(key, nonce, min_fee, sink, 1))
                }
            };
            cats.push(cat);
            txs.push(hex_tx(&tx));
        }
        for (cat, r) in cats.iter().zip(submit_batch(&mut c, &txs)) {
            match r {
                Ok(()) => sh.junk.add(cat, "accepted", 1),
                Err((reason, _)) => sh.junk.add(cat, &reason, 1),
            }
        }
        sent += n;
        sh.junk_sent.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Funded spam at exactly the minimum fee, in waves (as fast as the node takes it), from the
/// accounts `i ≡ lane (mod lanes)`, to node `lane % 4`.
#[allow(clippy::too_many_arguments)]
fn spam_thread(
    sh: &Shared,
    lane: usize,
    lanes: usize,
    spam_accounts: usize,
    waves: usize,
    per_wave: usize,
    t0: Instant,
    secs: u64,
) {
    let node = lane % VALIDATORS;
    let min_fee = genesis::DEFAULT_MIN_FEE;
    let mut c = Client::new(
        sh.rpc[node],
        Some(IpAddr::V4(IP_SPAM)),
        Duration::from_secs(30),
    );
    let keys: Vec<(usize, Keypair)> = (0..spam_accounts)
        .filter(|i| i % lanes == lane)
        .map(|i| (i, spam_key(i)))
        .collect();
    if keys.is_empty() {
        return;
    }
    let mut nonces = vec![0u64; keys.len()];
    let mut resync = vec![false; keys.len()];
    let mut next = 0usize;
    let quota = per_wave / lanes + usize::from(lane < per_wave % lanes);
    for w in 0..waves {
        sh.sleep_until(
            t0 + Duration::from_secs_f64(secs as f64 * w as f64 / waves as f64),
            &sh.stop_load,
        );
        let mut sent = 0;
        while sent < quota && !sh.stop_load.load(Ordering::Relaxed) {
            let n = (quota - sent).min(BATCH).min(keys.len());
            let mut idx = Vec::with_capacity(n);
            let mut txs = Vec::with_capacity(n);
            for _ in 0..n {
                let a = next % keys.len();
                next += 1;
                if resync[a] {
                    let addr = keys[a].1.address();
                    if let Ok(Ok(v)) = c.call("tx_nextNonce", json!([addr])) {
                        if let Some(nn) = v.as_str().and_then(|s| s.parse().ok()) {
                            nonces[a] = nn;
                        }
                    }
                    resync[a] = false;
                }
                let (i, k) = &keys[a];
                let to = spam_key((i + 1) % spam_accounts).address();
                txs.push(hex_tx(&transfer(k, nonces[a], min_fee, to, 1)));
                idx.push((a, nonces[a]));
                nonces[a] += 1;
            }
            let results = submit_batch(&mut c, &txs);
            let mut full = false;
            for ((a, nonce), r) in idx.into_iter().zip(results) {
                match r {
                    Ok(()) => sh.junk.add("spam_min_fee", "accepted", 1),
                    Err((reason, msg)) => {
                        sh.junk.add("spam_min_fee", &reason, 1);
                        match reason.as_str() {
                            "nonce_too_low" => {
                                // "nonce too low: expected N, got M"
                                nonces[a] = msg
                                    .split("expected ")
                                    .nth(1)
                                    .and_then(|s| s.split(',').next())
                                    .and_then(|s| s.trim().parse().ok())
                                    .unwrap_or(nonces[a]);
                            }
                            "future_full" | "nonce_too_high" | "sender_full" => resync[a] = true,
                            _ => {
                                full |= reason == "pool_full";
                                nonces[a] = nonces[a].min(nonce);
                            }
                        }
                    }
                }
            }
            sent += n;
            sh.junk_sent.fetch_add(n as u64, Ordering::Relaxed);
            if full {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// One keep-alive connection hammering reads.
fn flood_thread(sh: &Shared, conn: usize, spam_accounts: usize) {
    let mut c = Client::new(
        sh.rpc[conn % VALIDATORS],
        Some(IpAddr::V4(IP_FLOOD)),
        Duration::from_secs(30),
    );
    let addrs: Vec<String> = (0..spam_accounts.clamp(1, 64))
        .map(|i| spam_key(i).address().to_string())
        .collect();
    let mut k = conn;
    while !sh.stop_load.load(Ordering::Relaxed) {
        k += 1;
        let body = match k % 3 {
            0 => r#"{"jsonrpc":"2.0","id":1,"method":"node_info","params":[]}"#.to_owned(),
            1 => r#"{"jsonrpc":"2.0","id":1,"method":"chain_getBlock","params":["latest"]}"#
                .to_owned(),
            _ => format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"state_getAccount","params":["{}"]}}"#,
                addrs[k % addrs.len()]
            ),
        };
        match c.post(body.as_bytes()) {
            Ok((200, b)) => {
                let head = &b[..b.len().min(64)];
                let has = |pat: &[u8]| head.windows(pat.len()).any(|w| w == pat);
                if has(b"\"result\"") {
                    sh.rpc_answered.fetch_add(1, Ordering::Relaxed);
                } else if has(b"-32005") {
                    sh.rpc_limited.fetch_add(1, Ordering::Relaxed);
                } else {
                    let code = serde_json::from_slice::<Value>(&b)
                        .ok()
                        .and_then(|v| v["error"]["code"].as_i64())
                        .unwrap_or(0);
                    sh.rpc_errors.add("rpc", &code.to_string(), 1);
                }
            }
            Ok((status, _)) => {
                sh.rpc_errors.add("rpc", &format!("http_{status}"), 1);
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => {
                sh.rpc_errors.add("rpc", "io", 1);
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    sh.rpc_connects.fetch_add(c.connects, Ordering::Relaxed);
}

/// One idle WebSocket, reopened when the server closes it.
fn ws_thread(sh: &Shared, i: usize) {
    let addr = sh.rpc[i % VALIDATORS];
    while !sh.stop_load.load(Ordering::Relaxed) {
        match http::websocket(addr, Some(IpAddr::V4(IP_FLOOD)), Duration::from_secs(10)) {
            Ok(mut s) => {
                sh.ws_opened.fetch_add(1, Ordering::Relaxed);
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buf = [0u8; 4096];
                loop {
                    if sh.stop_load.load(Ordering::Relaxed) {
                        return;
                    }
                    match s.read(&mut buf) {
                        Ok(0) => {
                            sh.ws_closed.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        // Pings and the close frame: read and ignored (an idle peer).
                        Ok(_) => {}
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(_) => {
                            sh.ws_closed.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
            }
            Err(_) => {
                sh.ws_failed.fetch_add(1, Ordering::Relaxed);
                sh.sleep_until(Instant::now() + Duration::from_secs(1), &sh.stop_load);
            }
        }
    }
}

/// The honest sender: a transfer every `interval` to node 0.
fn honest_thread(sh: &Shared, interval: Duration) {
    let me = genesis::dev_account_key(0);
    let to = genesis::dev_account_key(1).address();
    let fee = 2 * genesis::DEFAULT_MIN_FEE;
    let mut c = Client::new(
        sh.rpc[0],
        Some(IpAddr::V4(IP_HONEST)),
        Duration::from_secs(10),
    );
    let mut nonce: Option<u64> = None;
    let mut tick = Instant::now();
    while sh.phase.load(Ordering::Relaxed) < PHASE_DRAIN {
        let phase = sh.phase.load(Ordering::Relaxed);
        let n = match nonce {
            Some(n) => n,
            None => match c.call("tx_nextNonce", json!([me.address()])) {
                Ok(Ok(v)) if v.as_str().and_then(|s| s.parse::<u64>().ok()).is_some() => {
                    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_default()
                }
                Ok(Ok(_)) => {
                    sh.honest_refused
                        .add(&phase.to_string(), "nonce query: bad answer", 1);
                    tick += interval;
                    sh.sleep_until(tick, &sh.stop_all);
                    continue;
                }
                Ok(Err(e)) => {
                    sh.honest_refused.add(
                        &phase.to_string(),
                        &format!("nonce query: {}", e.code),
                        1,
                    );
                    tick += interval;
                    sh.sleep_until(tick, &sh.stop_all);
                    continue;
                }
                Err(_) => {
                    sh.honest_refused.add(&phase.to_string(), "io", 1);
                    tick += interval;
                    sh.sleep_until(tick, &sh.stop_all);
                    continue;
                }
            },
        };
        let tx = transfer(&me, n, fee, to, 1);
        let at = Instant::now();
        match c.call("tx_submit", json!([hex_tx(&tx)])) {
            Ok(Ok(h)) => {
                sh.pending.lock().push(Pending {
                    hash: h.as_str().unwrap_or_default().to_owned(),
                    at,
                    phase,
                });
                sh.honest_sent[phase as usize].fetch_add(1, Ordering::Relaxed);
                nonce = Some(n + 1);
            }
            Ok(Err(e)) => {
                let why = e.reason.unwrap_or_else(|| format!("code {}", e.code));
                if why.starts_with("nonce_") {
                    nonce = None;
                }
                sh.honest_refused.add(&phase.to_string(), &why, 1);
            }
            Err(e) => {
                // The submit may have gone through: ask for the nonce again.
                nonce = None;
                sh.honest_refused
                    .add(&phase.to_string(), &format!("io: {}", e.kind()), 1);
            }
        }
        tick += interval;
        if tick < Instant::now() {
            tick = Instant::now();
        }
        sh.sleep_until(tick, &sh.stop_all);
    }
}

/// Polls node 0 for the honest transfers in flight (every 50 ms).
fn commit_poller(sh: &Shared) {
    let mut c = Client::new(
        sh.rpc[0],
        Some(IpAddr::V4(IP_HONEST)),
        Duration::from_secs(10),
    );
    while !sh.stop_all.load(Ordering::Relaxed) {
        let hashes: Vec<String> = sh.pending.lock().iter().map(|p| p.hash.clone()).collect();
        for h in hashes {
            if let Ok(Ok(v)) = c.call("chain_getTransaction", json!([h])) {
                if !v.is_null() {
                    let now = Instant::now();
                    let mut pending = sh.pending.lock();
                    if let Some(i) = pending.iter().position(|p| p.hash == h) {
                        let p = pending.swap_remove(i);
                        sh.latencies.lock().push((p.phase, now - p.at));
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Follows node 0's committed headers (every 100 ms).
fn block_watcher(sh: &Shared) {
    let mut c = Client::new(
        sh.rpc[0],
        Some(IpAddr::V4(IP_WATCH)),
        Duration::from_secs(10),
    );
    let mut last = 0u64;
    while !sh.stop_all.load(Ordering::Relaxed) {
        if let Ok(Ok(info)) = c.call("node_info", json!([])) {
            let h: u64 = info["height"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .or_else(|| info["height"].as_u64())
                .unwrap_or(0);
            while last < h {
                match c.call("chain_getHeader", json!([last + 1])) {
                    Ok(Ok(v)) => {
                        let t = v["header"]["time"]
                            .as_str()
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(0);
                        last += 1;
                        sh.blocks.lock().push((last, t));
                        sh.height.store(last, Ordering::Relaxed);
                    }
                    _ => break,
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn info_u64(v: &Value, field: &str) -> u64 {
    v[field]
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v[field].as_u64())
        .unwrap_or(0)
}

fn pct_ms(v: &[Duration], q: f64) -> f64 {
    ms(Measured::pct(v, q))
}

fn count_log(path: &Path) -> (usize, usize) {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let warn = text.lines().filter(|l| l.contains(" WARN")).count();
    let error = text.lines().filter(|l| l.contains(" ERROR")).count();
    (warn + error, error)
}

/// Runs the benchmark (progress on stderr every 5 s).
pub fn flood(p: &FloodBench) -> Result<FloodReport> {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("batara-flood-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (p2p_port, rpc_port) = free_ports(VALIDATORS as u16)?;
    eprintln!(
        "writing a {VALIDATORS}-validator testnet in {} (+ {} funded spam and {FUTURE_ACCOUNTS} \
         far-future accounts in genesis)...",
        dir.display(),
        p.spam_accounts
    );
    let extra: Vec<GenesisAccount> = (0..p.spam_accounts)
        .map(spam_key)
        .chain((0..FUTURE_ACCOUNTS).map(future_key))
        .map(|k| GenesisAccount {
            address: k.address(),
            balance: genesis::DEV_BALANCE,
        })
        .collect();
    let dev_accounts = 10u32;
    let genesis_accounts = dev_accounts as usize + VALIDATORS + extra.len();
    let nodes = write_testnet(&TestnetSpec {
        validators: VALIDATORS as u8,
        out: dir.clone(),
        chain_id: CHAIN_ID.into(),
        p2p_port,
        rpc_port,
        accounts: dev_accounts,
        block_time_ms: p.block_time_ms,
        extra_accounts: extra,
    })?;
    let exe = std::env::current_exe().map_err(|e| Error::Io {
        context: "finding the batara executable".into(),
        source: e,
    })?;
    let mut children = Children {
        procs: Vec::new(),
        dir: dir.clone(),
        keep: p.keep,
    };
    for (i, n) in nodes.iter().enumerate() {
        let log =
            std::fs::File::create(dir.join(format!("node{i}.log"))).map_err(|e| Error::Io {
                context: "creating a node log".into(),
                source: e,
            })?;
        let log2 = log.try_clone().map_err(|e| Error::Io {
            context: "node log".into(),
            source: e,
        })?;
        let child = Command::new(&exe)
            .env("NO_COLOR", "1")
            .args(["--log-level", "info", "start", "--home"])
            .arg(&n.home)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| Error::Io {
                context: format!("starting {}", exe.display()),
                source: e,
            })?;
        children.procs.push(child);
    }
    let pids: Vec<u32> = children.procs.iter().map(Child::id).collect();
    let sh = Shared {
        rpc: nodes.iter().map(|n| n.rpc).collect(),
        phase: AtomicU64::new(PHASE_BASELINE),
        stop_load: AtomicBool::new(false),
        stop_all: AtomicBool::new(false),
        pending: Mutex::new(Vec::new()),
        latencies: Mutex::new(Vec::new()),
        honest_sent: Default::default(),
        honest_refused: Tally::default(),
        blocks: Mutex::new(Vec::new()),
        height: AtomicU64::new(0),
        junk: Tally::default(),
        junk_sent: AtomicU64::new(0),
        rpc_answered: AtomicU64::new(0),
        rpc_limited: AtomicU64::new(0),
        rpc_errors: Tally::default(),
        rpc_connects: AtomicU64::new(0),
        ws_opened: AtomicU64::new(0),
        ws_closed: AtomicU64::new(0),
        ws_failed: AtomicU64::new(0),
        max_pool: (0..VALIDATORS).map(|_| AtomicU64::new(0)).collect(),
    };

    eprintln!(
        "started {VALIDATORS} nodes (pids {pids:?}, RPC from port {rpc_port}); waiting for blocks..."
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut probes: Vec<Client> = sh
        .rpc
        .iter()
        .map(|a| Client::new(*a, Some(IpAddr::V4(IP_WATCH)), Duration::from_secs(5)))
        .collect();
    loop {
        let heights: Vec<u64> = probes
            .iter_mut()
            .map(|c| match c.call("node_info", json!([])) {
                Ok(Ok(v)) => info_u64(&v, "height"),
                _ => 0,
            })
            .collect();
        if heights.iter().all(|h| *h >= 2) {
            break;
        }
        for (i, c) in children.procs.iter_mut().enumerate() {
            if let Ok(Some(st)) = c.try_wait() {
                return Err(Error::InvalidInput(format!(
                    "node{i} exited at start ({st}); see {}",
                    dir.join(format!("node{i}.log")).display()
                )));
            }
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout(format!(
                "the network made no blocks in 120 s (heights {heights:?})"
            )));
        }
        std::thread::sleep(Duration::from_millis(250));
    }

    let spam_total = p.junk * 6 / 10;
    let paced_total = p.junk - spam_total;
    let wave_size = (p.pool_max_txs + p.pool_max_txs / 10).max(1);
    let waves = (spam_total / wave_size).max(1);
    let per_wave = spam_total / waves;
    let spam_lanes = 2 * VALIDATORS;
    let fresh = AtomicU64::new(0);
    let interval = Duration::from_millis(p.honest_interval_ms.max(1));
    let mut phase_ms = [0u64; 4];
    let mut baseline_rss = [0u64; VALIDATORS];

    std::thread::scope(|s| -> Result<()> {
        s.spawn(|| honest_thread(&sh, interval));
        s.spawn(|| commit_poller(&sh));
        s.spawn(|| block_watcher(&sh));
        let mut next_progress = Instant::now() + Duration::from_secs(5);
        let mut progress = |label: &str, phase_start: Instant, secs: u64| {
            let pools: Vec<String> = probes
                .iter_mut()
                .enumerate()
                .map(|(i, c)| match c.call("node_info", json!([])) {
                    Ok(Ok(v)) => {
                        let m = info_u64(&v, "mempool_txs");
                        sh.max_pool[i].fetch_max(m, Ordering::Relaxed);
                        m.to_string()
                    }
                    Ok(Err(e)) => format!("err {}", e.code),
                    Err(_) => "no answer".into(),
                })
                .collect();
            let rss: Vec<String> = pids
                .iter()
                .map(|p| format!("{:.0}", mib(proc_kb(*p, "VmRSS:"))))
                .collect();
            let lat = sh.latencies.lock();
            let mut cur: Vec<Duration> = lat
                .iter()
                .filter(|(ph, _)| *ph == sh.phase.load(Ordering::Relaxed))
                .map(|(_, d)| *d)
                .collect();
            drop(lat);
            cur.sort_unstable();
            eprintln!(
                "[{label} {:>3}/{secs} s] height {} | honest {} committed, p50 {:.0} ms, max {:.0} ms, {} in flight | \
                 junk {} sent, {} accepted | rpc {} answered, {} limited | pools {} | RSS MiB {}",
                phase_start.elapsed().as_secs(),
                sh.height.load(Ordering::Relaxed),
                cur.len(),
                pct_ms(&cur, 0.5),
                cur.last().map_or(0.0, |d| ms(*d)),
                sh.pending.lock().len(),
                sh.junk_sent.load(Ordering::Relaxed),
                sh.junk.total(Some("accepted")),
                sh.rpc_answered.load(Ordering::Relaxed),
                sh.rpc_limited.load(Ordering::Relaxed),
                pools.join("/"),
                rss.join("/"),
            );
        };
        let mut wait_phase = |label: &str, secs: u64| {
            let t0 = Instant::now();
            let end = t0 + Duration::from_secs(secs);
            while Instant::now() < end {
                std::thread::sleep(
                    end.saturating_duration_since(Instant::now())
                        .min(Duration::from_millis(200)),
                );
                if Instant::now() >= next_progress {
                    progress(label, t0, secs);
                    next_progress += Duration::from_secs(5);
                }
            }
        };

        eprintln!("phase 1: unloaded, {} s", p.baseline_secs);
        phase_ms[PHASE_BASELINE as usize] = unix_ms();
        wait_phase("unloaded", p.baseline_secs);
        for (i, pid) in pids.iter().enumerate() {
            baseline_rss[i] = proc_kb(*pid, "VmRSS:");
        }

        eprintln!(
            "phase 2: loaded, {} s: {} junk ({spam_total} funded spam at the min fee in {waves} waves of \
             {per_wave}, {paced_total} paced), {} RPC connections, {} idle WebSockets",
            p.duration_secs, p.junk, p.rpc_connections, p.websockets
        );
        phase_ms[PHASE_LOADED as usize] = unix_ms();
        sh.phase.store(PHASE_LOADED, Ordering::Relaxed);
        let t2 = Instant::now();
        let mut load = Vec::new();
        for node in 0..VALIDATORS {
            let total = paced_total / VALIDATORS + usize::from(node < paced_total % VALIDATORS);
            let (sh, fresh) = (&sh, &fresh);
            load.push(s.spawn(move || junk_thread(sh, node, total, p.duration_secs, fresh)));
        }
        for lane in 0..spam_lanes {
            let sh = &sh;
            load.push(s.spawn(move || {
                spam_thread(
                    sh,
                    lane,
                    spam_lanes,
                    p.spam_accounts,
                    waves,
                    per_wave,
                    t2,
                    p.duration_secs,
                )
            }));
        }
        for conn in 0..p.rpc_connections {
            let sh = &sh;
            load.push(s.spawn(move || flood_thread(sh, conn, p.spam_accounts)));
        }
        for i in 0..p.websockets {
            let sh = &sh;
            load.push(s.spawn(move || ws_thread(sh, i)));
        }
        wait_phase("loaded", p.duration_secs);
        phase_ms[PHASE_DRAIN as usize] = unix_ms();
        sh.phase.store(PHASE_DRAIN, Ordering::Relaxed);
        sh.stop_load.store(true, Ordering::Relaxed);
        eprintln!("flood stopped; waiting up to 30 s for honest transfers in flight...");
        for h in load {
            let _ = h.join();
        }
        let drain_end = Instant::now() + Duration::from_secs(30);
        while !sh.pending.lock().is_empty() && Instant::now() < drain_end {
            std::thread::sleep(Duration::from_millis(100));
        }
        sh.stop_all.store(true, Ordering::Relaxed);
        Ok(())
    })?;

    eprintln!("collecting the figures...");
    let mut node_figs = Vec::new();
    for (i, addr) in sh.rpc.iter().enumerate() {
        let mut c = Client::new(*addr, Some(IpAddr::V4(IP_HONEST)), Duration::from_secs(5));
        let t = Instant::now();
        let info = c.call("node_info", json!([]));
        let took = t.elapsed();
        let (answering, height) = match &info {
            Ok(Ok(v)) => (true, info_u64(v, "height")),
            _ => (false, 0),
        };
        let alive = matches!(children.procs[i].try_wait(), Ok(None));
        let (log_warn, log_error) = count_log(&dir.join(format!("node{i}.log")));
        node_figs.push(NodeFigures {
            peak_rss_mib: mib(proc_kb(pids[i], "VmHWM:")),
            baseline_rss_mib: mib(baseline_rss[i]),
            final_rss_mib: mib(proc_kb(pids[i], "VmRSS:")),
            cpu_secs: proc_cpu(&pids[i].to_string()),
            max_mempool_txs: sh.max_pool[i].load(Ordering::Relaxed),
            alive,
            answering,
            node_info_ms: ms(took),
            height,
            log_warn,
            log_error,
        });
    }
    // Jailed validators, and what the chain holds, from the first node that answers.
    let mut jailed = Vec::new();
    let mut spam_committed = 0u64;
    let mut accounts_total = 0usize;
    if let Some(i) = node_figs.iter().position(|n| n.answering) {
        let mut c = Client::new(
            sh.rpc[i],
            Some(IpAddr::V4(IP_HONEST)),
            Duration::from_secs(30),
        );
        for n in &nodes {
            match c.call("staking_getValidator", json!([n.validator])) {
                Ok(Ok(v)) if v["jailed"] == json!(true) || v["tombstoned"] == json!(true) => {
                    jailed.push(n.validator.to_string());
                }
                Ok(Ok(_)) => {}
                _ => jailed.push(format!("{} (no answer)", n.validator)),
            }
        }
        let spam: HashMap<String, ()> = (0..p.spam_accounts)
            .map(|i| (spam_key(i).address().to_string(), ()))
            .collect();
        let mut after: Option<String> = None;
        loop {
            let params = match &after {
                Some(a) => json!([a, 10_000]),
                None => json!([null, 10_000]),
            };
            let Ok(Ok(page)) = c.call("state_getAccounts", params) else {
                break;
            };
            for a in page["accounts"].as_array().into_iter().flatten() {
                accounts_total += 1;
                if spam.contains_key(a["address"].as_str().unwrap_or_default()) {
                    spam_committed += info_u64(a, "nonce");
                }
            }
            match page["next"].as_str() {
                Some(n) => after = Some(n.to_owned()),
                None => break,
            }
        }
    }

    let blocks = sh.blocks.lock().clone();
    let lat = sh.latencies.lock().clone();
    let refused = sh.honest_refused.0.lock().clone();
    let phase_fig = |ph: u64| {
        let iv = intervals_in(&blocks, phase_ms[ph as usize], phase_ms[ph as usize + 1]);
        let mut l: Vec<Duration> = lat
            .iter()
            .filter(|(p, _)| *p == ph)
            .map(|(_, d)| *d)
            .collect();
        l.sort_unstable();
        PhaseFigures {
            blocks: iv.len() + 1,
            interval_p50_ms: pct_ms(&iv, 0.5),
            interval_max_ms: iv.last().map_or(0.0, |d| ms(*d)),
            interval_mean_ms: if iv.is_empty() {
                0.0
            } else {
                ms(iv.iter().sum::<Duration>()) / iv.len() as f64
            },
            honest_sent: sh.honest_sent[ph as usize].load(Ordering::Relaxed) as usize,
            honest_committed: l.len(),
            honest_p50_ms: pct_ms(&l, 0.5),
            honest_p99_ms: pct_ms(&l, 0.99),
            honest_max_ms: l.last().map_or(0.0, |d| ms(*d)),
            honest_refused: refused.get(&ph.to_string()).cloned().unwrap_or_default(),
        }
    };
    let report = FloodReport {
        params: p.clone(),
        elapsed_secs: started.elapsed().as_secs_f64(),
        unloaded: phase_fig(PHASE_BASELINE),
        loaded: phase_fig(PHASE_LOADED),
        nodes: node_figs,
        honest_not_committed: sh.pending.lock().len(),
        jailed,
        junk: sh.junk.0.lock().clone(),
        spam_committed,
        accounts_created: accounts_total as i64 - genesis_accounts as i64,
        rpc_answered: sh.rpc_answered.load(Ordering::Relaxed),
        rpc_limited: sh.rpc_limited.load(Ordering::Relaxed),
        rpc_errors: sh
            .rpc_errors
            .0
            .lock()
            .get("rpc")
            .cloned()
            .unwrap_or_default(),
        rpc_connects: sh.rpc_connects.load(Ordering::Relaxed),
        ws_opened: sh.ws_opened.load(Ordering::Relaxed),
        ws_closed_by_server: sh.ws_closed.load(Ordering::Relaxed),
        ws_failed: sh.ws_failed.load(Ordering::Relaxed),
        bench_cpu_secs: proc_cpu("self"),
    };
    drop(children);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_only_inside_the_phase() {
        let blocks = [(1, 1_000), (2, 1_500), (3, 2_100), (4, 2_600), (5, 4_000)];
        let iv = intervals_in(&blocks, 1_500, 4_000);
        assert_eq!(
            iv,
            vec![Duration::from_millis(500), Duration::from_millis(600)]
        );
        assert!(intervals_in(&blocks, 5_000, 6_000).is_empty());
    }

    #[test]
    fn report_names_every_figure() {
        let mut junk = BTreeMap::new();
        junk.insert(
            "unfunded_fee0".to_owned(),
            BTreeMap::from([("fee_too_low".to_owned(), 3u64)]),
        );
        let r = FloodReport {
            params: FloodBench {
                baseline_secs: 1,
                duration_secs: 2,
                junk: 3,
                spam_accounts: 4,
                rpc_connections: 5,
                websockets: 6,
                honest_interval_ms: 200,
                block_time_ms: 500,
                pool_max_txs: 50_000,
                keep: false,
            },
            elapsed_secs: 9.0,
            nodes: vec![NodeFigures {
                answering: true,
                alive: true,
                peak_rss_mib: 123.0,
                ..Default::default()
            }],
            unloaded: PhaseFigures::default(),
            loaded: PhaseFigures {
                honest_refused: BTreeMap::from([("pool_full".to_owned(), 1u64)]),
                ..Default::default()
            },
            honest_not_committed: 0,
            jailed: vec![],
            junk,
            spam_committed: 0,
            accounts_created: 0,
            rpc_answered: 7,
            rpc_limited: 8,
            rpc_errors: BTreeMap::new(),
            rpc_connects: 5,
            ws_opened: 6,
            ws_closed_by_server: 0,
            ws_failed: 0,
            bench_cpu_secs: 1.0,
        };
        let text = r.to_string();
        for needle in [
            "node0: peak RSS 123 MiB",
            "jailed validators at the end: none",
            "junk unfunded_fee0: fee_too_low 3",
            "refused: pool_full 1",
            "7 answered, 8 rate-limited",
            "every node answering at the end: yes",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from\n{text}");
        }
        let v: Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["nodes"][0]["peak_rss_mib"], json!(123.0));
        assert_eq!(v["loaded"]["honest_refused"]["pool_full"], json!(1));
        assert_eq!(v["jailed"], json!([]));
    }
}
