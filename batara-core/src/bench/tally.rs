//! `batara bench tally`: the time of the block that ends a vote, with few and with many voters.
//! Every voter delegates to the one validator and votes on each of three proposals; the blocks
//! whose time reaches each proposal's end are measured beside empty blocks of the same chain.
//! The tally reads each vote and its voter's delegations once (bounded by the votes, never by
//! every account), so the ending block's extra cost grows with the voters and nothing else.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rayon::prelude::*;

use super::delegation::{block_at, delegate_all, funded, sign_on};
use super::sender_key;
use crate::api::{Error, Result};
use crate::app::genesis::Genesis;
use crate::app::open_chain;
use crate::modules::gov::{GovModule, ProposalStatus};
use crate::runtime::Chain;
use crate::storage::{RocksStore, StorageConfig};
use crate::types::{Amount, ProposalContent, SignedTransaction, TxKind, VoteOption, WeightedVote};
use crate::validator::LocalSigner;

const COIN: Amount = 1_000_000_000_000_000_000;
const CHAIN_ID: &str = "bench-tally";
/// Proposals voted on, each ending in a block of its own.
const PROPOSALS: u64 = 3;
/// A vote lasts an hour of block time (the benchmark's blocks are a second apart).
const VOTING_MS: u64 = 3_600_000;

/// Parameters of the tally benchmark.
#[derive(Clone, Debug)]
pub struct TallyBench {
    /// Numbers of voters to compare (each a chain of its own).
    pub voters: Vec<usize>,
}

/// One chain's figures.
#[derive(Clone, Debug)]
pub struct TallyRow {
    /// Voters on each proposal.
    pub voters: usize,
    /// Mean time of a block that ends a vote (tally, decision, refunds, commit).
    pub ending: Duration,
    /// Mean time of an empty block of the same chain.
    pub empty: Duration,
}

/// What the tally benchmark measured.
#[derive(Clone, Debug)]
pub struct TallyReport {
    /// One row per number of voters.
    pub rows: Vec<TallyRow>,
}

impl fmt::Display for TallyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "the block that ends a vote ({PROPOSALS} proposals, each voter delegating and voting on all):"
        )?;
        for r in &self.rows {
            let extra = r.ending.saturating_sub(r.empty);
            writeln!(
                f,
                "  {:>7} voters: {:.2} ms (an empty block {:.2} ms; the tally {:.2} ms, {:.2} µs per voter)",
                r.voters,
                r.ending.as_secs_f64() * 1e3,
                r.empty.as_secs_f64() * 1e3,
                extra.as_secs_f64() * 1e3,
                extra.as_secs_f64() * 1e6 / r.voters.max(1) as f64
            )?;
        }
        Ok(())
    }
}

fn sign(i: usize, nonce: u64, kind: TxKind) -> SignedTransaction {
    sign_on(CHAIN_ID, i, nonce, kind)
}

fn run_one(n: usize) -> Result<TallyRow> {
    let dir = std::env::temp_dir().join(format!("batara-bench-tally-{}-{n}", std::process::id()));
    let row = measure(n, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    row
}

fn in_blocks(chain: &Chain, signer: &LocalSigner, txs: &[SignedTransaction]) -> Result<()> {
    for chunk in txs.chunks(4_000) {
        block_at(chain, signer, chunk, chain.head().header.time + 1_000)?;
    }
    Ok(())
}

fn measure(n: usize, dir: &std::path::Path) -> Result<TallyRow> {
    let store = Arc::new(RocksStore::open(dir, &StorageConfig::default())?);
    let validator = sender_key(usize::MAX);
    let mut g = Genesis::dev(CHAIN_ID, 0, validator.public_key(), 1_000);
    g.dev = false;
    g.params.gov.voting_period_ms = VOTING_MS;
    g.params.gov.expedited_voting_period_ms = VOTING_MS / 2;
    g.params.gov.min_deposit = COIN;
    g.params.max_block_txs = 4_000;
    // Voters are accounts 1..=n; account 0 proposes.
    g.accounts = funded(0..=n);
    let chain = open_chain(store, &g)?;
    let signer = LocalSigner(validator.clone());
    eprintln!("{n} voters: delegating...");
    let delegations = delegate_all(CHAIN_ID, 1..=n, validator.address(), |_| COIN);
    in_blocks(&chain, &signer, &delegations)?;
    // The proposals, a block apart, so each ends in a block of its own.
    let mut ends = vec![];
    for id in 1..=PROPOSALS {
        let kind = TxKind::Propose {
            title: format!("proposal {id}"),
            summary: String::new(),
            content: ProposalContent::Text,
            deposit: COIN,
            expedited: false,
        };
        in_blocks(&chain, &signer, &[sign(0, id - 1, kind)])?;
        ends.push(chain.head().header.time + VOTING_MS);
    }
    eprintln!("{n} voters: voting...");
    for id in 1..=PROPOSALS {
        let votes: Vec<SignedTransaction> = (1..=n)
            .into_par_iter()
            .map(|i| {
                let option = [VoteOption::Yes, VoteOption::No, VoteOption::Abstain][i % 3];
                let kind = TxKind::Vote {
                    proposal: id,
                    options: vec![WeightedVote {
                        option,
                        weight_ppm: 1_000_000,
                    }],
                };
                sign(i, id, kind)
            })
            .collect();
        in_blocks(&chain, &signer, &votes)?;
    }
    eprintln!("{n} voters: measuring...");
    let mut empty = Duration::ZERO;
    let mut ending = Duration::ZERO;
    for end in &ends {
        empty += block_at(&chain, &signer, &[], chain.head().header.time + 1)?;
        ending += block_at(&chain, &signer, &[], *end)?;
    }
    let gov = chain
        .registry()
        .module::<GovModule>()
        .ok_or_else(|| Error::NotFound("governance".into()))?;
    for id in 1..=PROPOSALS {
        let p = chain
            .simulate(|ctx| gov.proposal(ctx, id))?
            .ok_or_else(|| Error::NotFound(format!("proposal {id}")))?;
        if p.status == ProposalStatus::VotingPeriod {
            return Err(Error::InvalidInput(format!("proposal {id} did not end")));
        }
    }
    Ok(TallyRow {
        voters: n,
        ending: ending / PROPOSALS as u32,
        empty: empty / PROPOSALS as u32,
    })
}

/// Runs the benchmark (progress on stderr).
pub fn tally(p: &TallyBench) -> Result<TallyReport> {
    let rows = p
        .voters
        .iter()
        .map(|&n| run_one(n))
        .collect::<Result<_>>()?;
    Ok(TallyReport { rows })
}
