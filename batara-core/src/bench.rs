//! `batara bench transfers`: the end-to-end throughput benchmark.
//!
//! Pre-signed transfers from many senders are submitted in batches to an embedded node (dev engine,
//! auto mode, RocksDB on disk in a temporary directory, fsync per block) and committed with state
//! roots. Reports committed tx/s, p50/p99 submit-to-commit latency, and — in the same run — what
//! batch signature verification alone reaches on this machine, with the ratio of the two.
//!
//! Must never: be run as a test (it measures); tests check behaviour, this checks speed.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use tokio::sync::broadcast::error::RecvError;

use crate::config::NodeConfig;
use crate::crypto::{self, BatchItem, Keypair};
use crate::error::{Error, Result};
use crate::genesis::{self, Genesis, GenesisAccount};
use crate::mempool::Rejection;
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

impl fmt::Display for TransferReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "transfers: {} from {} senders in {} blocks, {:.2} s",
            self.params.txs,
            self.params.senders,
            self.blocks,
            self.elapsed.as_secs_f64()
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

/// Runs the benchmark (progress on stderr).
pub fn transfers(p: &TransferBench) -> Result<TransferReport> {
    let chain_id = "batara-bench";
    eprintln!(
        "preparing {} senders and signing {} transfers...",
        p.senders, p.txs
    );
    let keys: Vec<Keypair> = (0..p.senders).into_par_iter().map(sender_key).collect();
    let validator = genesis::dev_validator_key();
    let mut genesis = Genesis::dev(chain_id, 0, validator.public_key(), 0);
    genesis.accounts = keys
        .iter()
        .map(|k| GenesisAccount {
            address: k.address(),
            balance: genesis::DEV_BALANCE,
        })
        .collect();
    let txs: Vec<SignedTransaction> = (0..p.txs)
        .into_par_iter()
        .map(|j| {
            let k = &keys[j % p.senders];
            TxBody {
                chain_id: chain_id.into(),
                signer: k.public_key(),
                nonce: (j / p.senders) as u64,
                fee: 1,
                kind: TxKind::Transfer {
                    to: keys[(j + 1) % p.senders].address(),
                    amount: 1,
                },
            }
            .sign(k)
        })
        .collect();
    let raw: Vec<Vec<u8>> = txs.par_iter().map(|t| t.to_bytes()).collect();
    let index: HashMap<Hash, usize> = raw
        .iter()
        .enumerate()
        .map(|(i, b)| (crypto::sha256(b), i))
        .collect();

    let dir = std::env::temp_dir().join(format!("batara-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = NodeConfig {
        data_dir: Some(dir.clone()),
        ..Default::default()
    };
    config.rpc.enabled = false;
    config.mempool.max_txs = 100_000;
    config.mempool.max_bytes = 256 << 20;
    let node = Node::start(NodeOptions {
        config,
        genesis,
        validator_key: Some(validator),
    })?;
    let start_height = node.info().height;
    let mut blocks_rx = node.subscribe_blocks();

    let n_batches = p.txs.div_ceil(p.batch);
    let batch_start: Arc<Vec<OnceLock<Instant>>> =
        Arc::new((0..n_batches).map(|_| OnceLock::new()).collect());
    let batch_size = p.batch;
    let total = p.txs;
    let starts = batch_start.clone();
    let collector = std::thread::spawn(move || -> (Vec<Duration>, Option<Instant>, u64) {
        let mut lat = Vec::with_capacity(total);
        let mut last = None;
        let mut last_height = 0;
        let mut next_report = Instant::now() + Duration::from_secs(1);
        while lat.len() < total {
            match blocks_rx.blocking_recv() {
                Ok(cb) => {
                    let now = Instant::now();
                    for r in cb.receipts.iter() {
                        if let Some(i) = index.get(&r.tx_hash) {
                            if let Some(s) = starts[i / batch_size].get() {
                                lat.push(now - *s);
                            }
                        }
                    }
                    last = Some(now);
                    last_height = cb.block.header.height;
                    if now >= next_report {
                        eprintln!(
                            "  committed {}/{} (height {})",
                            lat.len(),
                            total,
                            last_height
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
        (lat, last, last_height)
    });

    eprintln!("submitting in batches of {}...", p.batch);
    let t0 = Instant::now();
    for (b, chunk) in raw.chunks(p.batch).enumerate() {
        let _ = batch_start[b].set(Instant::now());
        let mut pending: Vec<&Vec<u8>> = chunk.iter().collect();
        while !pending.is_empty() {
            let results = node.submit_batch(&pending);
            let mut retry = Vec::new();
            for (tx, r) in pending.into_iter().zip(results) {
                match r {
                    Ok(_) => {}
                    Err(Rejection::PoolFull(_) | Rejection::SenderFull { .. }) => retry.push(tx),
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
    let (mut lat, last, last_height) = collector
        .join()
        .map_err(|_| Error::InvalidInput("benchmark collector panicked".into()))?;
    let elapsed = last.map_or(Duration::ZERO, |l| l - t0);
    node.stop();
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
    if lat.len() < total {
        return Err(Error::Timeout(format!(
            "only {} of {total} transfers committed",
            lat.len()
        )));
    }
    lat.sort_unstable();
    let pct = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];

    eprintln!("measuring batch signature verification alone...");
    let messages: Vec<Vec<u8>> = txs.iter().map(|t| t.body.signing_message()).collect();
    let items: Vec<BatchItem> = txs
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
        blocks: last_height - start_height,
        elapsed,
        tx_per_s: total as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        verify_per_s: total as f64 / verify_time.as_secs_f64(),
    })
}
