//! `batara bench delegation`: the time to execute and commit a block (state root, RocksDB write
//! with fsync) on a chain whose validator has few delegators and on one where it has many, with
//! the same load — transfers, a few withdrawals of rewards, and a block reward to distribute.
//! Distribution keeps one reward index per validator (F1), so the two figures should match: the
//! benchmark shows that the cost of a block does not grow with the number of delegators. After
//! each measured block an empty one is measured too: the block reward's distribution, the state
//! root and the write alone, without the hundreds of tree updates of a loaded block (whose cost
//! grows with the tree's depth, whatever writes them).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::sender_key;
use crate::api::{Error, Result};
use crate::app::genesis::{Genesis, GenesisAccount};
use crate::app::open_chain;
use crate::mempool::PoolTx;
use crate::runtime::Chain;
use crate::storage::{RocksStore, StorageConfig};
use crate::types::{Amount, SignedTransaction, TxBody, TxKind};
use crate::validator::LocalSigner;

const COIN: Amount = 1_000_000_000_000_000_000;
const CHAIN_ID: &str = "bench-delegation";

/// Parameters of the delegation benchmark.
#[derive(Clone, Debug)]
pub struct DelegationBench {
    /// Numbers of delegators to compare (each a chain of its own).
    pub delegators: Vec<usize>,
    /// Blocks measured on each chain.
    pub blocks: usize,
    /// Transfers in each measured block.
    pub transfers: usize,
    /// Withdrawals of rewards in each measured block.
    pub withdrawals: usize,
}

/// One chain's figures.
#[derive(Clone, Debug)]
pub struct DelegationRow {
    /// Delegators of its validator.
    pub delegators: usize,
    /// Mean time to build, execute and commit a measured block.
    pub mean: Duration,
    /// Slowest measured block.
    pub max: Duration,
    /// Mean time of the empty blocks between them (the block reward distributed, nothing else).
    pub empty: Duration,
}

/// What the delegation benchmark measured.
#[derive(Clone, Debug)]
pub struct DelegationReport {
    /// Parameters.
    pub params: DelegationBench,
    /// One row per number of delegators.
    pub rows: Vec<DelegationRow>,
}

impl fmt::Display for DelegationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.params;
        writeln!(
            f,
            "blocks of {} transfers and {} reward withdrawals, block reward on, {} blocks each:",
            p.transfers, p.withdrawals, p.blocks
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "  {:>7} delegators: {:.2} ms per block (slowest {:.2} ms), {:.2} ms per empty block",
                r.delegators,
                r.mean.as_secs_f64() * 1e3,
                r.max.as_secs_f64() * 1e3,
                r.empty.as_secs_f64() * 1e3
            )?;
        }
        if let (Some(first), Some(last)) = (self.rows.first(), self.rows.last()) {
            write!(
                f,
                "ratio {} / {} delegators: {:.2} (empty blocks {:.2})",
                last.delegators,
                first.delegators,
                last.mean.as_secs_f64() / first.mean.as_secs_f64(),
                last.empty.as_secs_f64() / first.empty.as_secs_f64()
            )?;
        }
        Ok(())
    }
}

/// Bench account `i`'s transaction with `nonce` on chain `chain_id` (fee 1).
pub(super) fn sign_on(chain_id: &str, i: usize, nonce: u64, kind: TxKind) -> SignedTransaction {
    let k = sender_key(i);
    TxBody {
        chain_id: chain_id.into(),
        signer: k.public_key(),
        nonce,
        fee: 1,
        kind,
    }
    .sign(&k)
}

fn sign(i: usize, nonce: u64, kind: TxKind) -> SignedTransaction {
    sign_on(CHAIN_ID, i, nonce, kind)
}

/// Genesis accounts `range` with 1,000 coins each.
pub(super) fn funded(range: std::ops::RangeInclusive<usize>) -> Vec<GenesisAccount> {
    range
        .into_par_iter()
        .map(|i| GenesisAccount {
            address: sender_key(i).address(),
            balance: 1_000 * COIN,
        })
        .collect()
}

/// Each account of `range` delegates `amount(i)` to `validator` (its first transaction).
pub(super) fn delegate_all(
    chain_id: &str,
    range: std::ops::RangeInclusive<usize>,
    validator: crate::types::Address,
    amount: impl Fn(usize) -> Amount + Sync,
) -> Vec<SignedTransaction> {
    range
        .into_par_iter()
        .map(|i| {
            let kind = TxKind::Delegate {
                validator,
                amount: amount(i),
            };
            sign_on(chain_id, i, 0, kind)
        })
        .collect()
}

/// Builds, executes and commits one block of `txs` a second after the head; returns how long it
/// took.
fn block(chain: &Chain, signer: &LocalSigner, txs: &[SignedTransaction]) -> Result<Duration> {
    block_at(chain, signer, txs, chain.head().header.time + 1_000)
}

/// [`block`] with block time `time`.
pub(super) fn block_at(
    chain: &Chain,
    signer: &LocalSigner,
    txs: &[SignedTransaction],
    time: u64,
) -> Result<Duration> {
    let cands: Vec<Arc<PoolTx>> = txs
        .iter()
        .map(|t| {
            let len = t.to_bytes().len();
            PoolTx::new(t.clone(), t.hash(), len, chain.registry())
                .map(Arc::new)
                .ok_or_else(|| Error::InvalidInput("a bench transaction's cost overflows".into()))
        })
        .collect::<Result<_>>()?;
    let start = Instant::now();
    let (ex, left_out) = chain.build_block(&cands, signer.0.address(), time)?;
    if !left_out.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{} bench transactions were left out",
            left_out.len()
        )));
    }
    let commit = chain.sign_commit(&ex, signer);
    chain.commit(ex, commit)?;
    Ok(start.elapsed())
}

/// One chain: a validator with `n` delegators (accounts `1..=n`), then the measured blocks.
/// Every chain funds the same accounts (as many as the most delegators compared), so the state
/// trees differ only by the delegation records.
fn run_one(p: &DelegationBench, n: usize) -> Result<DelegationRow> {
    let dir = std::env::temp_dir().join(format!("batara-bench-del-{}-{n}", std::process::id()));
    let row = measure(p, n, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    row
}

fn measure(p: &DelegationBench, n: usize, dir: &std::path::Path) -> Result<DelegationRow> {
    let store = Arc::new(RocksStore::open(dir, &StorageConfig::default())?);
    let validator = sender_key(usize::MAX);
    let most = p.delegators.iter().copied().max().unwrap_or(n);
    let senders = p.transfers.max(1);
    // Delegators are accounts 1..=n, senders follow the most delegators of any chain.
    let first_sender = most + 1;
    let accounts = most + senders + 1;
    let mut g = Genesis::dev(CHAIN_ID, 0, validator.public_key(), 1_000);
    g.dev = false;
    g.params.staking.block_reward = COIN;
    g.accounts = funded(1..=accounts);
    let chain = open_chain(store, &g)?;
    let signer = LocalSigner(validator.clone());
    let to = validator.address();
    eprintln!("{n} delegators: delegating...");
    let delegations = delegate_all(CHAIN_ID, 1..=n, to, |i| COIN + i as Amount);
    for chunk in delegations.chunks(2_000) {
        block(&chain, &signer, chunk)?;
    }
    eprintln!("{n} delegators: measuring {} blocks...", p.blocks);
    let (mut times, mut empty) = (Vec::with_capacity(p.blocks), Duration::ZERO);
    for round in 0..p.blocks {
        let mut txs: Vec<SignedTransaction> = (0..p.transfers)
            .into_par_iter()
            .map(|j| {
                sign(
                    first_sender + j,
                    round as u64,
                    TxKind::Transfer {
                        to: sender_key(accounts).address(),
                        amount: 1,
                    },
                )
            })
            .collect();
        // Withdrawals by delegators spread over the whole set (each one once).
        for w in 0..p.withdrawals.min(n) {
            let i = 1 + (round * p.withdrawals + w) % n;
            let nonce = 1 + ((round * p.withdrawals + w) / n) as u64;
            txs.push(sign(i, nonce, TxKind::WithdrawRewards { validator: None }));
        }
        times.push(block(&chain, &signer, &txs)?);
        empty += block(&chain, &signer, &[])?;
    }
    let total: Duration = times.iter().sum();
    let blocks = p.blocks.max(1) as u32;
    Ok(DelegationRow {
        delegators: n,
        mean: total / blocks,
        max: times.iter().copied().max().unwrap_or_default(),
        empty: empty / blocks,
    })
}

/// Runs the benchmark (progress on stderr).
pub fn delegation(p: &DelegationBench) -> Result<DelegationReport> {
    let rows = p
        .delegators
        .iter()
        .map(|&n| run_one(p, n))
        .collect::<Result<_>>()?;
    Ok(DelegationReport {
        params: p.clone(),
        rows,
    })
}
