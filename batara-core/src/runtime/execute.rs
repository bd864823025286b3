//! Block execution: building a block from mempool candidates, and checking and executing a block
//! made elsewhere (or replayed).
//!
//! Rules of a transaction in a block: its fee must be at least the chain's `min_fee`, its nonce must
//! equal the sender's account nonce and the sender must be able to pay the fee — otherwise the
//! block is invalid (a builder leaves such transactions out). A metered kind (contracts,
//! [`TxKind::gas`](crate::types::TxKind::gas)) also needs a gas price of at least `min_gas_price`,
//! a gas limit that fits in what is left of the block's `max_block_gas`, and a balance for the fee
//! plus gas limit × gas price. The fee and that allowance are charged and the nonce consumed
//! whatever happens next; the module's effects apply only if it succeeds, else the receipt is
//! `failed` with the reason. Unused gas is refunded either way: the receipt's `fee` is the fee
//! plus gas used × gas price, and the block counts the gas used. Modules' `begin_block`
//! hooks run before the transactions and `end_block` hooks after them (fees of the block are
//! handed to `end_block`), in registry order.
//!
//! Must never: produce a different state root for the same block on two nodes (everything here
//! is deterministic: no clock, no randomness, modules in registry order, maps ordered).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::crypto::{self, BatchItem};
use crate::mempool::PoolTx;
use crate::state::Account;
use crate::types::{
    Address, Amount, Block, Commit, DuplicateVoteEvidence, Hash, Header, Receipt,
    SignedTransaction, TxStatus, ValidatorInfo,
};

use super::chain::{evidence_root, Chain, Executed, MAX_BLOCK_EVIDENCE};
use super::error::ChainError;
use super::module::{BlockInfo, BlockState, TxContext, TxFailure};
use super::params::{schedule_upgrade, upgrade_plan, ChainRules};

/// The validator sets a block is executed with.
struct Sets {
    /// The set of the block.
    current: Vec<ValidatorInfo>,
    /// The set of the previous block (none before block 2).
    last: Option<Vec<ValidatorInfo>>,
}

impl Sets {
    fn info<'a>(
        &'a self,
        height: u64,
        proposer: Address,
        last_commit: Option<&'a Commit>,
        evidence: &'a [DuplicateVoteEvidence],
        fees: Amount,
    ) -> BlockInfo<'a> {
        BlockInfo {
            height,
            proposer,
            last_commit,
            last_set: self.last.as_deref(),
            set: &self.current,
            evidence,
            fees,
        }
    }
}

impl Chain {
    /// Runs one transaction against `bs`. `Ok(Err(reason))` means it cannot be in a block at all
    /// (wrong nonce, cannot pay the fee, wrong chain); `Ok(Ok(receipt))` means it was applied or
    /// failed.
    fn execute_tx(
        &self,
        bs: &mut BlockState<'_>,
        tx: &SignedTransaction,
        hash: Hash,
    ) -> Result<Result<Receipt, String>, ChainError> {
        if tx.body.chain_id != self.spec.chain_id {
            return Ok(Err(format!("wrong chain id {}", tx.body.chain_id)));
        }
        if tx.body.fee < bs.rules.min_fee {
            return Ok(Err(format!(
                "fee {} below the chain's minimum {}",
                tx.body.fee, bs.rules.min_fee
            )));
        }
        let metered = tx.body.kind.gas();
        let (gas_limit, gas_price) = metered.unwrap_or((0, 0));
        if metered.is_some() {
            if gas_price < bs.rules.min_gas_price {
                return Ok(Err(format!(
                    "gas price {gas_price} below the chain's minimum {}",
                    bs.rules.min_gas_price
                )));
            }
            let room = bs.rules.max_block_gas.saturating_sub(bs.gas_used);
            if gas_limit > room {
                return Ok(Err(format!(
                    "gas limit {gas_limit} does not fit in the block ({room} of {} left)",
                    bs.rules.max_block_gas
                )));
            }
        }
        // The fee and the whole gas allowance are taken up front; unused gas is refunded below.
        let Some(upfront) = (gas_limit as u128)
            .checked_mul(gas_price)
            .and_then(|g| g.checked_add(tx.body.fee))
        else {
            return Ok(Err("fee plus gas limit × gas price overflows".into()));
        };
        let sender = tx.sender();
        let mut acct = bs.get(&sender)?;
        if tx.body.nonce != acct.nonce {
            return Ok(Err(format!(
                "nonce {} but account expects {}",
                tx.body.nonce, acct.nonce
            )));
        }
        if acct.balance < upfront {
            return Ok(Err(format!(
                "cannot pay fee and gas {upfront} with balance {}",
                acct.balance
            )));
        }
        acct.balance -= upfront;
        acct.nonce += 1;
        bs.changed.insert(sender, acct);
        let module = self.registry.module_for(&tx.body.kind);
        let mut ctx = TxContext::new(bs);
        let outcome = match module {
            Some(m) => m.apply(&mut ctx, tx),
            None => Err(TxFailure::Rule(
                "no module handles this transaction kind".into(),
            )),
        };
        let gas_used = ctx.gas_used.min(gas_limit);
        let (status, events, error, output) = match outcome {
            Ok(()) => {
                let output = std::mem::take(&mut ctx.output);
                let (accounts, objects, events) = ctx.into_writes();
                bs.changed.extend(accounts);
                bs.objects.extend(objects);
                (TxStatus::Success, events, None, output)
            }
            Err(TxFailure::Rule(reason)) => (TxStatus::Failed, vec![], Some(reason), vec![]),
            Err(TxFailure::State(e)) => return Err(e.into()),
        };
        let refund = (gas_limit - gas_used) as u128 * gas_price;
        if refund > 0 {
            let mut acct = bs.get(&sender)?;
            acct.balance += refund;
            bs.changed.insert(sender, acct);
        }
        bs.gas_used += gas_used;
        Ok(Ok(Receipt {
            tx_hash: hash,
            status,
            fee: upfront - refund,
            gas_used,
            events,
            error,
            output,
        }))
    }

    /// Starts executing block `height`: reads the validator sets it needs and runs the modules'
    /// `begin_block` hooks.
    fn start_block(
        &self,
        height: u64,
        time: u64,
        proposer: Address,
        last_commit: Option<&Commit>,
        evidence: &[DuplicateVoteEvidence],
    ) -> Result<(BlockState<'_>, Sets), ChainError> {
        let vs = self.registry.validator_sets();
        let sets = Sets {
            current: vs.next_set(&self.state)?,
            last: vs.set_for(&self.state, height - 1)?,
        };
        let rules = ChainRules::current(&self.state, &self.spec.rules)?;
        let mut bs = BlockState::new(&self.state, height, time, rules);
        if let Some(plan) = upgrade_plan(&self.state)? {
            if plan.height <= height {
                if !self.skip_upgrades.read().contains(&plan.height) {
                    let e = ChainError::UpgradeNeeded {
                        name: plan.name.clone(),
                        height: plan.height,
                        info: plan.info.clone(),
                    };
                    self.halt(plan);
                    return Err(e);
                }
                // Told to run past it: the plan is done, on every node told the same.
                let mut ctx = TxContext::new(&bs);
                schedule_upgrade(&mut ctx, None);
                let (_, objects, _) = ctx.into_writes();
                bs.objects.extend(objects);
                tracing::warn!(target: "batara::chain", name = %plan.name, height, "running past a scheduled upgrade (--unsafe-skip-upgrades)");
            }
        }
        let info = sets.info(height, proposer, last_commit, evidence, 0);
        self.run_hooks(&mut bs, &info, false)?;
        Ok((bs, sets))
    }

    fn run_hooks(
        &self,
        bs: &mut BlockState<'_>,
        info: &BlockInfo<'_>,
        end: bool,
    ) -> Result<(), ChainError> {
        for m in self.registry.modules() {
            let mut ctx = TxContext::new(bs);
            if end {
                m.end_block(&mut ctx, info)?;
            } else {
                m.begin_block(&mut ctx, info)?;
            }
            let (accounts, objects, events) = ctx.into_writes();
            bs.changed.extend(accounts);
            bs.objects.extend(objects);
            bs.events.extend(events);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        mut bs: BlockState<'_>,
        sets: &Sets,
        mut header: Header,
        txs: Vec<SignedTransaction>,
        receipts: Vec<Receipt>,
        last_commit: Option<Commit>,
        evidence: Vec<DuplicateVoteEvidence>,
        extra: Option<BTreeMap<Address, Account>>,
    ) -> Result<Executed, ChainError> {
        let fees = receipts.iter().fold(0u128, |s, r| s.saturating_add(r.fee));
        let info = sets.info(
            header.height,
            header.proposer,
            last_commit.as_ref(),
            &evidence,
            fees,
        );
        self.run_hooks(&mut bs, &info, true)?;
        if let Some(extra) = extra {
            bs.changed.extend(extra);
        }
        let up = self
            .state
            .stage(header.height, header.time, &bs.changed, &bs.objects)?;
        header.state_root = up.root;
        Ok(Executed {
            block: Block {
                header,
                txs,
                last_commit,
                evidence,
            },
            receipts,
            changed: bs.changed,
            events: bs.events,
            batch: up.batch,
        })
    }

    fn next_header(
        &self,
        proposer: Address,
        time: u64,
        set: &[ValidatorInfo],
        evidence: &[DuplicateVoteEvidence],
    ) -> (Header, Option<Commit>) {
        let head = self.head();
        let header = Header {
            chain_id: self.spec.chain_id.clone(),
            height: head.header.height + 1,
            time,
            parent: head.hash,
            proposer,
            txs_root: Hash::ZERO,
            state_root: Hash::ZERO,
            validator_set_hash: ValidatorInfo::set_hash(set),
            last_commit_hash: head.commit.as_ref().map_or(Hash::ZERO, |c| c.hash()),
            evidence_root: evidence_root(evidence),
        };
        (header, head.commit)
    }

    /// Runs `f` in a transaction context over the latest state, as in the next block, and keeps
    /// nothing it writes: read-only contract calls and gas estimates.
    pub fn simulate<R>(&self, f: impl FnOnce(&mut TxContext<'_, '_>) -> R) -> R {
        let _exec = self.exec.read();
        let head = self.head();
        // A simulation runs one module call, never the executor's fee and limit checks that
        // read the rules.
        let bs = BlockState::new(
            &self.state,
            head.header.height + 1,
            head.header.time.saturating_add(1),
            self.spec.rules.clone(),
        );
        let mut ctx = TxContext::new(&bs);
        f(&mut ctx)
    }

    /// Builds the next block from mempool candidates (already signature-checked), leaving out any
    /// that cannot be included. Returns the executed block and the hashes left out.
    pub fn build_block(
        &self,
        candidates: &[Arc<PoolTx>],
        proposer: Address,
        time: u64,
    ) -> Result<(Executed, Vec<Hash>), ChainError> {
        self.build_block_with(candidates, proposer, time, None)
    }

    /// [`Chain::build_block`] that also writes `overrides` into the state (dev chains'
    /// `dev_setBalance`: the change is in the block's state root but in none of its transactions,
    /// so replaying such a chain from its blocks alone fails at that block — dev chains only).
    pub fn build_block_with(
        &self,
        candidates: &[Arc<PoolTx>],
        proposer: Address,
        time: u64,
        overrides: Option<BTreeMap<Address, Account>>,
    ) -> Result<(Executed, Vec<Hash>), ChainError> {
        self.build(candidates, proposer, time, overrides, vec![])
    }

    /// [`Chain::build_block`] carrying `evidence` of double signing: the pieces that verify and
    /// were not punished yet go in the block (the rest is left out and logged).
    pub fn build_block_with_evidence(
        &self,
        candidates: &[Arc<PoolTx>],
        proposer: Address,
        time: u64,
        evidence: Vec<DuplicateVoteEvidence>,
    ) -> Result<(Executed, Vec<Hash>), ChainError> {
        let height = self.head().header.height + 1;
        let mut seen = std::collections::HashSet::new();
        let usable = evidence
            .into_iter()
            .filter(|e| match self.evidence_problem(height, e) {
                None => seen.len() < MAX_BLOCK_EVIDENCE && seen.insert(e.validator()),
                Some(why) => {
                    tracing::debug!(target: "batara::chain", evidence = %e.hash(), why, "left out of block");
                    false
                }
            })
            .collect();
        self.build(candidates, proposer, time, None, usable)
    }

    /// Why `e` cannot be in block `height`, if it cannot: from the future, or whatever the
    /// validator sets' owner says (too old, not verifying, already punished).
    pub fn evidence_problem(&self, height: u64, e: &DuplicateVoteEvidence) -> Option<String> {
        let eh = e.vote_a.height;
        if eh >= height {
            return Some(format!("evidence of height {eh} in block {height}"));
        }
        self.registry
            .validator_sets()
            .evidence_problem(&self.state, &self.spec.chain_id, height, e)
    }

    fn build(
        &self,
        candidates: &[Arc<PoolTx>],
        proposer: Address,
        time: u64,
        overrides: Option<BTreeMap<Address, Account>>,
        evidence: Vec<DuplicateVoteEvidence>,
    ) -> Result<(Executed, Vec<Hash>), ChainError> {
        let _exec = self.exec.read();
        let head = self.head();
        let time = time.max(head.header.time.saturating_add(1));
        let (mut bs, sets) = self.start_block(
            head.header.height + 1,
            time,
            proposer,
            head.commit.as_ref(),
            &evidence,
        )?;
        let (mut header, last_commit) = self.next_header(proposer, time, &sets.current, &evidence);
        let mut txs = Vec::with_capacity(candidates.len());
        let mut receipts = Vec::with_capacity(candidates.len());
        let mut left_out = Vec::new();
        let mut bytes = 0u64;
        for c in candidates {
            // Past the block's limits a candidate waits for a later block (it is not left out).
            let size = c.size as u64;
            if txs.len() >= bs.rules.max_block_txs as usize
                || bytes.saturating_add(size) > bs.rules.max_block_bytes
            {
                continue;
            }
            match self.execute_tx(&mut bs, &c.tx, c.hash)? {
                Ok(r) => {
                    receipts.push(r);
                    txs.push(c.tx.clone());
                    bytes += size;
                }
                Err(reason) => {
                    tracing::debug!(target: "batara::chain", tx = %c.hash, %reason, "left out of block");
                    left_out.push(c.hash);
                }
            }
        }
        let hashes: Vec<Hash> = receipts.iter().map(|r| r.tx_hash).collect();
        header.txs_root = crypto::merkle_root(&hashes);
        Ok((
            self.finish(
                bs,
                &sets,
                header,
                txs,
                receipts,
                last_commit,
                evidence,
                overrides,
            )?,
            left_out,
        ))
    }

    /// Checks and executes a block made elsewhere (or replayed): header links, limits,
    /// signatures (batch-verified), every transaction includable, transactions root and state root.
    pub fn execute_block(&self, block: &Block) -> Result<Executed, ChainError> {
        self.execute_block_trusting(block, |_| false)
    }

    /// [`Chain::execute_block`] that skips the signature check of transactions `verified` says
    /// were already verified (those in this node's mempool: checked when admitted).
    pub fn execute_block_trusting(
        &self,
        block: &Block,
        verified: impl Fn(&Hash) -> bool,
    ) -> Result<Executed, ChainError> {
        let _exec = self.exec.read();
        let h = &block.header;
        let invalid = |reason: String| ChainError::InvalidBlock {
            height: h.height,
            reason,
        };
        let head = self.head();
        if h.height != head.header.height + 1 {
            return Err(invalid(format!(
                "expected height {}",
                head.header.height + 1
            )));
        }
        if h.chain_id != self.spec.chain_id {
            return Err(invalid(format!("chain id {}", h.chain_id)));
        }
        if h.parent != head.hash {
            return Err(invalid(format!(
                "parent {} is not the head {}",
                h.parent, head.hash
            )));
        }
        if h.time <= head.header.time {
            return Err(invalid("time does not increase".into()));
        }
        if block.evidence.len() > MAX_BLOCK_EVIDENCE {
            return Err(invalid(format!(
                "{} pieces of evidence, limit {MAX_BLOCK_EVIDENCE}",
                block.evidence.len()
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for e in &block.evidence {
            if let Some(why) = self.evidence_problem(h.height, e) {
                return Err(invalid(format!("evidence {}: {why}", e.hash())));
            }
            if !seen.insert(e.validator()) {
                return Err(invalid(format!(
                    "two pieces of evidence against {}",
                    e.validator()
                )));
            }
        }
        if h.evidence_root != evidence_root(&block.evidence) {
            return Err(invalid("evidence root".into()));
        }
        let (mut bs, sets) = self.start_block(
            h.height,
            h.time,
            h.proposer,
            block.last_commit.as_ref(),
            &block.evidence,
        )?;
        if !sets.current.iter().any(|v| v.address == h.proposer) {
            return Err(invalid(format!(
                "proposer {} is not a validator",
                h.proposer
            )));
        }
        if h.validator_set_hash != ValidatorInfo::set_hash(&sets.current) {
            return Err(invalid("validator set hash".into()));
        }
        // The previous block's commit as the proposer saw it: any set of precommits with more
        // than 2/3 of the parent's validator power (nodes may hold different, equally valid ones).
        match (&block.last_commit, head.header.height) {
            (None, 0) => {}
            (Some(c), parent) if parent > 0 => {
                self.verify_commit(c, parent, &head.hash)
                    .map_err(|e| invalid(format!("last commit: {e}")))?;
            }
            _ => return Err(invalid("last commit missing or unexpected".into())),
        }
        if h.last_commit_hash != block.last_commit.as_ref().map_or(Hash::ZERO, |c| c.hash()) {
            return Err(invalid("last commit hash".into()));
        }
        let params = &bs.rules;
        if block.txs.len() > params.max_block_txs as usize {
            return Err(invalid(format!(
                "{} txs, limit {}",
                block.txs.len(),
                params.max_block_txs
            )));
        }
        let encoded: Vec<Vec<u8>> = block.txs.iter().map(|t| t.to_bytes()).collect();
        let bytes: u64 = encoded.iter().map(|b| b.len() as u64).sum();
        if bytes > params.max_block_bytes {
            return Err(invalid(format!(
                "{bytes} bytes of txs, limit {}",
                params.max_block_bytes
            )));
        }
        let hashes: Vec<Hash> = encoded.iter().map(|b| crypto::sha256(b)).collect();
        if crypto::merkle_root(&hashes) != h.txs_root {
            return Err(invalid("transactions root".into()));
        }
        let unverified: Vec<usize> = (0..block.txs.len())
            .filter(|i| !verified(&hashes[*i]))
            .collect();
        let messages: Vec<Vec<u8>> = unverified
            .iter()
            .map(|i| block.txs[*i].body.signing_message())
            .collect();
        let items: Vec<BatchItem> = unverified
            .iter()
            .zip(&messages)
            .map(|(i, m)| block.txs[*i].batch_item(m))
            .collect();
        if let Some(i) = crypto::verify_batch(&items).iter().position(|r| r.is_err()) {
            return Err(invalid(format!(
                "bad signature on tx {}",
                hashes[unverified[i]]
            )));
        }
        let mut receipts = Vec::with_capacity(block.txs.len());
        for (tx, hash) in block.txs.iter().zip(&hashes) {
            match self.execute_tx(&mut bs, tx, *hash)? {
                Ok(r) => receipts.push(r),
                Err(reason) => return Err(invalid(format!("tx {hash}: {reason}"))),
            }
        }
        let header = Header {
            state_root: Hash::ZERO,
            ..h.clone()
        };
        let ex = self.finish(
            bs,
            &sets,
            header,
            block.txs.clone(),
            receipts,
            block.last_commit.clone(),
            block.evidence.clone(),
            None,
        )?;
        if ex.block.header.state_root != h.state_root {
            return Err(invalid(format!(
                "state root {} but execution gives {}",
                h.state_root, ex.block.header.state_root
            )));
        }
        Ok(ex)
    }
}
