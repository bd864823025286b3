//! `batara bench transfers` and `batara bench network`: the end-to-end throughput benchmarks;
//! `batara bench delegation` ([`delegation()`]): block cost with few and with many delegators;
//! `batara bench tally` ([`tally()`]): the block that ends a vote, with few and with many voters;
//! `batara bench flood` ([`flood()`], in `flood.rs`, with the raw HTTP client of `http.rs`): junk
//! and an RPC flood against a network of `batara start` processes.
//!
//! `network` runs N BFT validators in this process (RocksDB on disk, fsync per block, libp2p over
//! loopback TCP), submits the same kind of load to the nodes in turn, and measures at node 0:
//! finalized transfers/s, submit-to-finalized latency, and the time between blocks.
//!
//! Pre-signed transfers from many senders are submitted in batches to an embedded node (dev engine,
//! auto mode, RocksDB on disk in a temporary directory, fsync per block) and committed with state
//! roots. Reports committed tx/s, p50/p99 submit-to-commit latency, and — in the same run — what
//! batch signature verification alone reaches on this machine, with the ratio of the two.
//!
//! Must never: be run as a test (it measures); tests check behaviour, this checks speed.

mod contracts;
mod delegation;
mod flood;
mod http;
mod tally;

pub use contracts::{contracts, Calibration, ContractBench, ContractReport};
pub use delegation::{delegation, DelegationBench, DelegationReport, DelegationRow};
pub use flood::{flood, FloodBench, FloodReport, NodeFigures, PhaseFigures, Rng};
pub use tally::{tally, TallyBench, TallyReport, TallyRow};

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use tokio::sync::broadcast::error::RecvError;

use crate::api::{Error, NodeApi, Result};
use crate::app::genesis::{self, Genesis, GenesisAccount};
use crate::crypto::{self, BatchItem, Keypair};
use crate::mempool::Rejection;
use crate::node::NodeConfig;
use crate::node::{Node, NodeOptions};
use crate::types::{Hash, SignedTransaction, TxBody, TxKind};

/// Parameters of the transfer benchmark.
#[derive(Clone, Debug)]
pub struct TransferBench {
    /// Number of transfers.
    pub txs: usize,
    /// Number of sending accounts.
    pub senders: usize,
    /// Transactions per `submit_batch` call.
    pub batch: usize,
}

/// What the transfer benchmark measured.
#[derive(Clone, Debug)]
pub struct TransferReport {
    /// Parameters.
    pub params: TransferBench,
    /// Blocks it took.
    pub blocks: u64,
    /// First submit to last commit.
    pub elapsed: Duration,
    /// Committed transfers per second.
    pub tx_per_s: f64,
    /// Median submit-to-commit latency.
    pub p50: Duration,
    /// 99th percentile submit-to-commit latency.
    pub p99: Duration,
    /// Batch signature verification alone, signatures per second (all cores).
    pub verify_per_s: f64,
}

/// The first line of both reports: the load and how long it took.
fn write_load(
    f: &mut fmt::Formatter<'_>,
    txs: usize,
    senders: usize,
    blocks: u64,
    elapsed: Duration,
) -> fmt::Result {
    writeln!(
        f,
        "transfers: {txs} from {senders} senders in {blocks} blocks, {:.2} s",
        elapsed.as_secs_f64()
    )
}

impl fmt::Display for TransferReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_load(
            f,
            self.params.txs,
            self.params.senders,
            self.blocks,
            self.elapsed,
        )?;
        writeln!(f, "committed: {:.0} tx/s", self.tx_per_s)?;
        writeln!(
            f,
            "latency (submit to commit): p50 {:.1} ms, p99 {:.1} ms",
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3
        )?;
        writeln!(
            f,
            "batch signature verification alone: {:.0} sig/s",
            self.verify_per_s
        )?;
        write!(
            f,
            "ratio committed / verification: {:.2}",
            self.tx_per_s / self.verify_per_s
        )
    }
}

fn sender_key(i: usize) -> Keypair {
    Keypair::from_seed(
        &crypto::sha256_parts(&[b"batara bench sender", &(i as u64).to_le_bytes()]).0,
    )
}

/// Signed load: sender keys, transfers, their bytes and hash → position.
struct Load {
    keys: Vec<Keypair>,
    txs: Vec<SignedTransaction>,
    raw: Vec<Vec<u8>>,
    index: HashMap<Hash, usize>,
}

impl Load {
    /// `txs` transfers round-robin over `senders` accounts (nonce = round), signed in parallel.
    fn new(chain_id: &str, txs: usize, senders: usize) -> Load {
        eprintln!("preparing {senders} senders and signing {txs} transfers...");
        let keys: Vec<Keypair> = (0..senders).into_par_iter().map(sender_key).collect();
        let signed: Vec<SignedTransaction> = (0..txs)
            .into_par_iter()
            .map(|j| {
                let k = &keys[j % senders];
                TxBody {
                    chain_id: chain_id.into(),
                    signer: k.public_key(),
                    nonce: (j / senders) as u64,
                    fee: 1,
                    kind: TxKind::Transfer {
                        to: keys[(j + 1) % senders].address(),
                        amount: 1,
                    },
                }
                .sign(k)
            })
            .collect();
        Load::from_signed(keys, signed)
    }

    /// Load of already signed transactions from `keys`.
    fn from_signed(keys: Vec<Keypair>, txs: Vec<SignedTransaction>) -> Load {
        let raw: Vec<Vec<u8>> = txs.par_iter().map(|t| t.to_bytes()).collect();
        let index = raw
            .iter()
            .enumerate()
            .map(|(i, b)| (crypto::sha256(b), i))
            .collect();
        Load {
            keys,
            txs,
            raw,
            index,
        }
    }

    /// Genesis accounts funding every sender.
    fn accounts(&self) -> Vec<GenesisAccount> {
        self.keys
            .iter()
            .map(|k| GenesisAccount {
                address: k.address(),
                balance: genesis::DEV_BALANCE,
            })
            .collect()
    }
}

/// What one load run measured.
struct Measured {
    /// Submit-to-commit latencies, sorted.
    latencies: Vec<Duration>,
    elapsed: Duration,
    blocks: u64,
    /// Time between consecutive blocks, sorted.
    intervals: Vec<Duration>,
}

impl Measured {
    fn pct(v: &[Duration], q: f64) -> Duration {
        v.get(((v.len() as f64 * q) as usize).min(v.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    }
}

/// Submits `load` in batches through `submit(batch number, txs)` — as fast as the node takes
/// them, or paced at `rate` transactions per second — and follows commits on `blocks_rx` until
/// every transfer is committed (progress on stderr once a second).
fn run_load(
    load: &Load,
    batch: usize,
    rate: Option<f64>,
    mut blocks_rx: crate::node::BlockReceiver,
    submit: impl Fn(usize, &[&Vec<u8>]) -> Vec<crate::node::SubmitResult>,
) -> Result<Measured> {
    let n_batches = load.raw.len().div_ceil(batch);
    let batch_start: Arc<Vec<OnceLock<Instant>>> =
        Arc::new((0..n_batches).map(|_| OnceLock::new()).collect());
    let total = load.raw.len();
    let starts = batch_start.clone();
    let index = load.index.clone();
    type Collected = (Vec<Duration>, Option<Instant>, u64, Vec<Instant>);
    let collector = std::thread::spawn(move || -> Collected {
        let mut lat = Vec::with_capacity(total);
        let mut last = None;
        let mut blocks = 0;
        let mut times = Vec::new();
        let mut next_report = Instant::now() + Duration::from_secs(1);
        while lat.len() < total {
            match blocks_rx.blocking_recv() {
                Ok(cb) => {
                    let now = Instant::now();
                    for r in cb.receipts.iter() {
                        if let Some(i) = index.get(&r.tx_hash) {
                            if let Some(s) = starts[i / batch].get() {
                                lat.push(now - *s);
                            }
                        }
                    }
                    last = Some(now);
                    blocks += 1;
                    times.push(now);
                    if now >= next_report {
                        eprintln!(
                            "  committed {}/{} (height {})",
                            lat.len(),
                            total,
                            cb.block.header.height
                        );
                        next_report = now + Duration::from_secs(1);
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    eprintln!("benchmark collector lagged by {n} blocks; latencies incomplete");
                }
                Err(RecvError::Closed) => break,
            }
        }
        (lat, last, blocks, times)
    });
    eprintln!("submitting in batches of {batch}...");
    let t0 = Instant::now();
    for (b, chunk) in load.raw.chunks(batch).enumerate() {
        if let Some(r) = rate {
            let due = t0 + Duration::from_secs_f64((b * batch) as f64 / r);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let _ = batch_start[b].set(Instant::now());
        let mut pending: Vec<&Vec<u8>> = chunk.iter().collect();
        while !pending.is_empty() {
            let results = submit(b, &pending);
            let mut retry = Vec::new();
            for (tx, r) in pending.into_iter().zip(results) {
                match r {
                    Ok(_) => {}
                    Err(
                        Rejection::PoolFull(_)
                        | Rejection::SenderFull { .. }
                        | Rejection::FutureFull(_),
                    ) => retry.push(tx),
                    Err(e) => {
                        return Err(Error::InvalidInput(format!(
                            "benchmark transaction rejected: {e}"
                        )))
                    }
                }
            }
            if !retry.is_empty() {
                std::thread::sleep(Duration::from_millis(2));
            }
            pending = retry;
        }
    }
    let (mut latencies, last, blocks, times) = collector
        .join()
        .map_err(|_| Error::InvalidInput("benchmark collector panicked".into()))?;
    if latencies.len() < total {
        return Err(Error::Timeout(format!(
            "only {} of {total} transfers committed",
            latencies.len()
        )));
    }
    latencies.sort_unstable();
    let mut intervals: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    intervals.sort_unstable();
    Ok(Measured {
        latencies,
        elapsed: last.map_or(Duration::ZERO, |l| l - t0),
        blocks,
        intervals,
    })
}

/// An embedded dev node on RocksDB in `dir` (emptied first), without RPC, with a mempool large
/// enough for the benchmarks' batches.
fn bench_node(
    genesis: Genesis,
    validator: Keypair,
    dir: &std::path::Path,
) -> Result<crate::node::NodeHandle> {
    let _ = std::fs::remove_dir_all(dir);
    let mut config = NodeConfig {
        data_dir: Some(dir.to_path_buf()),
        ..Default::default()
    };
    config.rpc.enabled = false;
    config.mempool.max_txs = 100_000;
    config.mempool.max_bytes = 256 << 20;
    // Measured as a production node runs: no traces.
    config.consensus.keep_traces = false;
    Node::start(NodeOptions {
        config,
        genesis,
        validator_key: Some(validator),
    })
}

/// Runs the benchmark (progress on stderr).
pub fn transfers(p: &TransferBench) -> Result<TransferReport> {
    let chain_id = "batara-bench";
    let load = Load::new(chain_id, p.txs, p.senders);
    let validator = genesis::dev_validator_key();
    let mut genesis = Genesis::dev(chain_id, 0, validator.public_key(), 0);
    genesis.accounts = load.accounts();
    let dir = std::env::temp_dir().join(format!("batara-bench-{}", std::process::id()));
    let node = bench_node(genesis, validator, &dir)?;
    let m = run_load(&load, p.batch, None, node.subscribe_blocks(), |_, txs| {
        node.submit_slices(txs)
    });
    node.stop();
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
    let m = m?;

    eprintln!("measuring batch signature verification alone...");
    let messages: Vec<Vec<u8>> = load.txs.iter().map(|t| t.body.signing_message()).collect();
    let items: Vec<BatchItem> = load
        .txs
        .iter()
        .zip(&messages)
        .map(|(t, m)| t.batch_item(m))
        .collect();
    let tv = Instant::now();
    let ok = crypto::verify_batch(&items).iter().all(|r| r.is_ok());
    let verify_time = tv.elapsed();
    if !ok {
        return Err(Error::InvalidInput(
            "benchmark signatures failed to verify".into(),
        ));
    }
    Ok(TransferReport {
        params: p.clone(),
        blocks: m.blocks,
        elapsed: m.elapsed,
        tx_per_s: p.txs as f64 / m.elapsed.as_secs_f64(),
        p50: Measured::pct(&m.latencies, 0.50),
        p99: Measured::pct(&m.latencies, 0.99),
        verify_per_s: p.txs as f64 / verify_time.as_secs_f64(),
    })
}

/// Parameters of the network benchmark.
#[derive(Clone, Debug)]
pub struct NetworkBench {
    /// Validators (nodes in this process, talking over loopback TCP).
    pub validators: u8,
    /// Number of transfers.
    pub txs: usize,
    /// Number of sending accounts.
    pub senders: usize,
    /// Transactions per `submit_batch` call (batches go to the nodes in turn).
    pub batch: usize,
    /// The BFT commit wait (block interval of a healthy network), ms.
    pub block_time_ms: u64,
    /// Most transactions per block (genesis parameter).
    pub max_block_txs: u32,
    /// Offered load in transactions per second (`None`: as fast as the nodes take them).
    pub rate: Option<f64>,
}

/// What the network benchmark measured.
#[derive(Clone, Debug)]
pub struct NetworkReport {
    /// Parameters.
    pub params: NetworkBench,
    /// Blocks it took.
    pub blocks: u64,
    /// First submit to last commit (at node 0).
    pub elapsed: Duration,
    /// Finalized transfers per second.
    pub tx_per_s: f64,
    /// Median submit-to-finalization latency.
    pub p50: Duration,
    /// 99th percentile submit-to-finalization latency.
    pub p99: Duration,
    /// Median and largest time between blocks.
    pub interval_p50: Duration,
    /// Largest time between blocks.
    pub interval_max: Duration,
}

impl fmt::Display for NetworkReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        writeln!(
            f,
            "network: {} validators on loopback, commit wait {} ms, at most {} txs per block, load {}",
            self.params.validators,
            self.params.block_time_ms,
            self.params.max_block_txs,
            self.params
                .rate
                .map_or_else(|| "as fast as taken".to_owned(), |r| format!("{r:.0} tx/s"))
        )?;
        write_load(
            f,
            self.params.txs,
            self.params.senders,
            self.blocks,
            self.elapsed,
        )?;
        writeln!(f, "finalized: {:.0} tx/s", self.tx_per_s)?;
        writeln!(
            f,
            "latency (submit to finalized): p50 {:.0} ms, p99 {:.0} ms",
            ms(self.p50),
            ms(self.p99)
        )?;
        write!(
            f,
            "block interval: p50 {:.0} ms, max {:.0} ms",
            ms(self.interval_p50),
            ms(self.interval_max)
        )
    }
}

/// Validator `i` of the network benchmark.
fn bench_validator(i: u8) -> Keypair {
    Keypair::from_seed(&crypto::sha256_parts(&[b"batara bench validator", &[i]]).0)
}

/// Runs a network of `validators` BFT nodes in this process (RocksDB on disk, fsync per block,
/// libp2p over loopback TCP) and measures finalized transfers (progress on stderr).
pub fn network(p: &NetworkBench) -> Result<NetworkReport> {
    let chain_id = "batara-bench-net";
    let load = Load::new(chain_id, p.txs, p.senders);
    let genesis = Genesis {
        chain_id: chain_id.into(),
        genesis_time: 0,
        params: genesis::ChainParams {
            max_block_txs: p.max_block_txs,
            ..Default::default()
        },
        accounts: load.accounts(),
        validators: (0..p.validators)
            .map(|i| genesis::GenesisValidator {
                pubkey: bench_validator(i).public_key(),
                power: 100,
                name: format!("v{i}"),
            })
            .collect(),
        dev: false,
    };
    let root = std::env::temp_dir().join(format!("batara-bench-net-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let mut nodes = Vec::new();
    let mut boot: Vec<String> = vec![];
    for i in 0..p.validators {
        let mut config = NodeConfig {
            data_dir: Some(root.join(format!("node{i}"))),
            ..Default::default()
        };
        config.rpc.enabled = false;
        config.mempool.max_txs = 100_000;
        config.mempool.max_bytes = 256 << 20;
        config.p2p.enabled = true;
        config.p2p.listen = "127.0.0.1:0".parse().expect("address");
        config.p2p.bootnodes = boot.clone();
        config.consensus.bft.commit_ms = p.block_time_ms;
        let node = Node::start(NodeOptions {
            config,
            genesis: genesis.clone(),
            validator_key: Some(bench_validator(i)),
        })?;
        if i == 0 {
            let net = node.network().expect("p2p enabled");
            let deadline = Instant::now() + Duration::from_secs(10);
            while net.listen_addrs().is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            boot = net.listen_addrs().iter().map(|a| a.to_string()).collect();
        }
        nodes.push(node);
    }
    eprintln!("waiting for the network to make its first blocks...");
    let deadline = Instant::now() + Duration::from_secs(60);
    while nodes.iter().any(|n| n.info().height < 2) {
        if Instant::now() > deadline {
            return Err(Error::Timeout(
                "the benchmark network made no blocks".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let m = run_load(
        &load,
        p.batch,
        p.rate,
        nodes[0].subscribe_blocks(),
        |b, txs| nodes[b % nodes.len()].submit_slices(txs),
    );
    for n in &nodes {
        n.stop();
    }
    drop(nodes);
    let _ = std::fs::remove_dir_all(&root);
    let m = m?;
    Ok(NetworkReport {
        params: p.clone(),
        blocks: m.blocks,
        elapsed: m.elapsed,
        tx_per_s: p.txs as f64 / m.elapsed.as_secs_f64(),
        p50: Measured::pct(&m.latencies, 0.50),
        p99: Measured::pct(&m.latencies, 0.99),
        interval_p50: Measured::pct(&m.intervals, 0.50),
        interval_max: m.intervals.last().copied().unwrap_or_default(),
    })
}
