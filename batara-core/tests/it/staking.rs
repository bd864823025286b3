//! Staking on a multi-validator chain driven block by block: the test holds every validator key,
//! builds each block with the chain's own builder, signs its commit with the validators it chooses,
//! and imports every block into a second chain (on RocksDB) that must reach the same state root —
//! so commit checks against a changing validator set are exercised too.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use batara_core::api::ChainReader;
use batara_core::app::genesis::{ChainParams, Genesis, GenesisAccount, GenesisValidator};
use batara_core::app::open_chain;
use batara_core::crypto::Keypair;
use batara_core::mempool::PoolTx;
use batara_core::modules::staking::{StakingParams, StakingReader};
use batara_core::runtime::{Chain, CommittedBlock};
use batara_core::storage::RocksStore;
use batara_core::types::{
    Address, Amount, Commit, CommitSig, PublicKey, SignedTransaction, TxBody, TxKind, TxStatus,
};

pub(crate) const COIN: Amount = 1_000_000_000_000_000_000;

pub(crate) fn key(i: u8) -> Keypair {
    Keypair::from_seed(&[i; 32])
}

pub(crate) struct Net {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    pub(crate) chain: Arc<Chain>,
    pub(crate) replica: Chain,
    keys: BTreeMap<Address, Keypair>,
    pub(crate) offline: HashSet<Address>,
    nonces: BTreeMap<Address, u64>,
    pub(crate) time: u64,
}

impl Net {
    /// Validators with consensus keys 1..=n (power 10 each); operators = the validators' own
    /// addresses; accounts 100..=103 funded with 1000 coins.
    fn new(validators: u8, params: StakingParams) -> Self {
        Self::with_params(
            validators,
            ChainParams {
                staking: params,
                ..Default::default()
            },
        )
    }

    /// [`Net::new`] with every chain parameter given.
    pub(crate) fn with_params(validators: u8, params: ChainParams) -> Self {
        let g = Genesis {
            chain_id: "stake-test".into(),
            genesis_time: 1_000,
            params,
            accounts: (100..104)
                .map(|i| GenesisAccount {
                    address: key(i).address(),
                    balance: 1_000 * COIN,
                })
                .collect(),
            validators: (1..=validators)
                .map(|i| GenesisValidator {
                    pubkey: key(i).public_key(),
                    power: 10,
                    name: format!("v{i}"),
                })
                .collect(),
            dev: false,
        };
        g.validate().unwrap();
        let open = |d: &tempfile::TempDir| {
            open_chain(
                Arc::new(RocksStore::open(d.path(), &Default::default()).unwrap()),
                &g,
            )
            .unwrap()
        };
        let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (chain, replica) = (Arc::new(open(&dirs.0)), open(&dirs.1));
        let keys = (1..=20u8)
            .chain(100..104)
            .map(|i| (key(i).address(), key(i)))
            .collect();
        Self {
            _dirs: dirs,
            chain,
            replica,
            keys,
            offline: HashSet::new(),
            nonces: BTreeMap::new(),
            time: 1_000,
        }
    }

    pub(crate) fn tx(&mut self, signer: u8, kind: TxKind) -> SignedTransaction {
        self.tx_by(&key(signer), kind)
    }

    pub(crate) fn tx_by(&mut self, k: &Keypair, kind: TxKind) -> SignedTransaction {
        let nonce = self.nonces.entry(k.address()).or_default();
        let t = TxBody {
            chain_id: "stake-test".into(),
            signer: k.public_key(),
            nonce: *nonce,
            fee: 7,
            kind,
        }
        .sign(k);
        *nonce += 1;
        t
    }

    pub(crate) fn height(&self) -> u64 {
        self.chain.head().header.height
    }

    /// Builds the next block with `txs` (all must be includable), proposed by the first online
    /// member of the set after rotating by height, and committed by every online member.
    pub(crate) fn block(&mut self, txs: Vec<SignedTransaction>) -> Vec<TxStatus> {
        self.commit_block(txs)
            .receipts
            .iter()
            .map(|r| r.status)
            .collect()
    }

    /// [`Net::block`], returning the committed block (receipts and block events).
    pub(crate) fn commit_block(&mut self, txs: Vec<SignedTransaction>) -> CommittedBlock {
        let cands = txs.into_iter().map(|t| self.pool_tx(t)).collect();
        self.commit_pooled(cands)
    }

    /// `t` as a block candidate.
    pub(crate) fn pool_tx(&self, t: SignedTransaction) -> Arc<PoolTx> {
        let len = t.to_bytes().len();
        Arc::new(PoolTx::new(t.clone(), t.hash(), len, self.chain.registry()).unwrap())
    }

    /// The next block with `cands` (made earlier, as a pool holds them).
    pub(crate) fn commit_pooled(&mut self, cands: Vec<Arc<PoolTx>>) -> CommittedBlock {
        let set = self.chain.validators().unwrap();
        let h = self.height() + 1;
        let proposer = (0..set.len())
            .map(|i| set[(h as usize + i) % set.len()].address)
            .find(|a| !self.offline.contains(a))
            .expect("an online validator");
        self.time += 1_000;
        let (ex, left_out) = self.chain.build_block(&cands, proposer, self.time).unwrap();
        assert!(left_out.is_empty(), "every test tx is includable");
        let block = ex.block.clone();
        let hash = block.hash();
        let msg = Commit::sign_message("stake-test", h, 0, &hash);
        let commit = Commit {
            height: h,
            round: 0,
            block_hash: hash,
            signatures: set
                .iter()
                .filter(|v| !self.offline.contains(&v.address))
                .map(|v| CommitSig {
                    validator: v.address,
                    signature: self.keys[&v.address].sign(&msg),
                })
                .collect(),
        };
        let cb = self.chain.commit(ex, commit.clone()).unwrap();
        let replayed = self.replica.import(&block, commit).unwrap();
        assert_eq!(replayed.block.header.state_root, block.header.state_root);
        cb
    }

    pub(crate) fn blocks_until(&mut self, height: u64) {
        while self.height() < height {
            self.block(vec![]);
        }
    }

    pub(crate) fn balance(&self, a: &Address) -> Amount {
        self.chain.state().account(a).unwrap().balance
    }

    /// Σ balances + Σ stake + Σ unbonding + community pool + outstanding rewards.
    pub(crate) fn supply(&self) -> Amount {
        let r = ChainReader::new(self.chain.clone());
        let mut total = 0;
        let mut after = None;
        loop {
            let page = r.accounts(after.as_ref(), 1000).unwrap();
            total += page.accounts.iter().map(|a| a.balance).sum::<Amount>();
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let staking = StakingReader(self.chain.state());
        for k in self.keys.values() {
            if let Some(v) = staking.validator(&k.address()).unwrap() {
                total += v.stake;
            }
        }
        total
            + staking.total_unbonding().unwrap()
            + staking.community_pool().unwrap()
            + staking.outstanding_rewards().unwrap()
    }

    /// Pending rewards of `delegator`'s delegation to `validator`.
    fn pending(&self, delegator: &Address, validator: &Address) -> Amount {
        StakingReader(self.chain.state())
            .delegations(delegator)
            .unwrap()
            .iter()
            .find(|d| d.validator == *validator)
            .map_or(0, |d| d.pending_rewards)
    }
}

fn params() -> StakingParams {
    StakingParams {
        epoch_length: 5,
        unbonding_blocks: 5,
        min_self_stake: 5 * COIN,
        ..Default::default()
    }
}

#[test]
fn stake_moves_the_set_at_the_next_epoch_and_unbonding_returns_funds() {
    let mut net = Net::new(3, params());
    let supply = net.supply();
    let op = key(100).address();
    let v4 = key(4);
    let stake = net.tx(
        100,
        TxKind::Stake {
            validator_key: v4.public_key(),
            amount: 30 * COIN,
        },
    );
    assert_eq!(net.block(vec![stake]), vec![TxStatus::Success]);
    assert_eq!(net.balance(&op), 1_000 * COIN - 30 * COIN - 7);
    let reader = ChainReader::new(net.chain.clone());
    assert_eq!(reader.account(&op, None).unwrap().staked, 30 * COIN);
    // Not before the epoch boundary: blocks 2..=5 keep the genesis set.
    assert_eq!(net.chain.validators().unwrap().len(), 3);
    net.blocks_until(4);
    assert_eq!(net.chain.validators().unwrap().len(), 3);
    net.block(vec![]); // block 5 ends the epoch
    let set = net.chain.validators().unwrap();
    assert_eq!(set.len(), 4);
    assert_eq!(set[0].address, v4.address(), "largest stake first");
    assert_eq!(set[0].power, 30);
    // Block 6 is validated by the new set: V4 must sign (30 of 60 power) and does.
    net.block(vec![]);
    let header6 = net.chain.header(6).unwrap().unwrap();
    assert_eq!(
        header6.validator_set_hash,
        batara_core::types::ValidatorInfo::set_hash(&set)
    );
    let views = reader.validators(Some(6)).unwrap();
    assert_eq!(views[0].operator, op);
    assert_eq!(views[0].stake, 30 * COIN);

    // Unstake everything at block 7: funds return at 7 + 5 = 12; the set drops V4 after block 10.
    let unstake = net.tx(
        100,
        TxKind::Unstake {
            validator: v4.address(),
            amount: 30 * COIN,
        },
    );
    assert_eq!(net.block(vec![unstake]), vec![TxStatus::Success]);
    let detail = reader.validator(&v4.address()).unwrap();
    assert_eq!(detail.record.stake, 0);
    assert_eq!(detail.unbonding.len(), 1);
    assert_eq!(detail.unbonding[0].height, 12);
    assert_eq!(reader.account(&op, None).unwrap().staked, 0);
    let before = net.balance(&op);
    net.blocks_until(9);
    assert_eq!(
        net.chain.validators().unwrap().len(),
        4,
        "V4 stays until the epoch ends"
    );
    net.block(vec![]); // 10
    assert_eq!(net.chain.validators().unwrap().len(), 3);
    net.block(vec![]); // 11
    assert_eq!(net.balance(&op), before);
    net.block(vec![]); // 12: unbonded
    assert_eq!(net.balance(&op), before + 30 * COIN);
    assert!(reader
        .validator(&v4.address())
        .unwrap()
        .unbonding
        .is_empty());
    // No reward configured: supply is exactly conserved (fees only move).
    assert_eq!(net.supply(), supply);
}

#[test]
fn staking_rules_give_failed_receipts_that_still_pay_the_fee() {
    let mut net = Net::new(3, params());
    let op = key(101).address();
    let v5 = key(5);
    let txs = vec![
        // Below the minimum self-stake.
        net.tx(
            101,
            TxKind::Stake {
                validator_key: v5.public_key(),
                amount: COIN,
            },
        ),
        // Not a valid ed25519 key.
        net.tx(
            101,
            TxKind::Stake {
                validator_key: PublicKey([0; 32]),
                amount: 10 * COIN,
            },
        ),
        // Registers.
        net.tx(
            101,
            TxKind::Stake {
                validator_key: v5.public_key(),
                amount: 10 * COIN,
            },
        ),
        // Someone else adds to it: refused.
        net.tx(
            102,
            TxKind::Stake {
                validator_key: v5.public_key(),
                amount: 10 * COIN,
            },
        ),
        // Would leave 6 coins... fine; 7 would leave 3 < 5: refused.
        net.tx(
            101,
            TxKind::Unstake {
                validator: v5.address(),
                amount: 7 * COIN,
            },
        ),
        // More than staked.
        net.tx(
            101,
            TxKind::Unstake {
                validator: v5.address(),
                amount: 11 * COIN,
            },
        ),
        // Not jailed.
        net.tx(
            101,
            TxKind::Unjail {
                validator: v5.address(),
            },
        ),
        // A genesis validator operated by someone else.
        net.tx(
            101,
            TxKind::Unstake {
                validator: key(1).address(),
                amount: COIN,
            },
        ),
        // More than the balance.
        net.tx(
            103,
            TxKind::Stake {
                validator_key: key(6).public_key(),
                amount: 2_000 * COIN,
            },
        ),
    ];
    let statuses = net.block(txs);
    use TxStatus::{Failed as F, Success as S};
    assert_eq!(statuses, vec![F, F, S, F, F, F, F, F, F]);
    let receipts = net.chain.receipts(1).unwrap();
    let reasons: Vec<String> = receipts.iter().filter_map(|r| r.error.clone()).collect();
    for (reason, expected) in reasons.iter().zip([
        "at least",
        "not a valid ed25519 key",
        "operated by",
        "below the minimum",
        "is worth 10000000000000000000",
        "is not jailed",
        "operated by",
        "insufficient balance",
    ]) {
        assert!(
            reason.contains(expected),
            "{reason:?} should say {expected:?}"
        );
    }
    // 7 fees of 7 paid by the operator, 10 coins staked.
    assert_eq!(net.balance(&op), 1_000 * COIN - 10 * COIN - 7 * 7);
}

#[test]
fn rewards_follow_power_and_mint_exactly_the_block_reward() {
    let mut p = params();
    p.block_reward = 1_000_003;
    p.proposer_reward_percent = 10;
    let mut net = Net::new(3, p);
    // Give V3 double power: its operator (itself) stakes 10 more coins... it has no balance, so
    // fund it first from account 100.
    let fund = net.tx(
        100,
        TxKind::Transfer {
            to: key(3).address(),
            amount: 20 * COIN,
        },
    );
    net.block(vec![fund]);
    let more = net.tx(
        3,
        TxKind::Stake {
            validator_key: key(3).public_key(),
            amount: 10 * COIN,
        },
    );
    net.block(vec![more]);
    net.blocks_until(5); // the epoch applies the new power: 10, 10, 20
    let set = net.chain.validators().unwrap();
    assert_eq!(set[0].address, key(3).address());
    assert_eq!(set[0].power, 20);
    let supply = net.supply();
    let pool = StakingReader(net.chain.state()).community_pool().unwrap();
    let pending = |net: &Net| -> Vec<Amount> {
        (1..=3)
            .map(|i| net.pending(&key(i).address(), &key(i).address()))
            .collect()
    };
    let before = pending(&net);
    let tx = net.tx(
        100,
        TxKind::Transfer {
            to: key(101).address(),
            amount: 1,
        },
    );
    net.block(vec![tx]); // block 6, fee 7
    let proposer = net.chain.header(6).unwrap().unwrap().proposer;
    let after = pending(&net);
    // 1,000,003 minted + 7 of fees: 2 % (20,000) to the pool; of the 980,010 left 10 % (98,001)
    // to the proposer, 882,009 split 1:1:2 → 220,502 / 220,502 / 441,004, and the remainder 1
    // to the proposer. No commission: all of it accrues to the self-delegations (each share's
    // part rounded down, so at most one unit is left in the outstanding rewards).
    assert_eq!(
        StakingReader(net.chain.state()).community_pool().unwrap() - pool,
        20_000
    );
    let share = |a: &Address| -> Amount {
        if *a == key(3).address() {
            441_004
        } else {
            220_502
        }
    };
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let addr = key(i as u8 + 1).address();
        let mut expected = share(&addr);
        if addr == proposer {
            expected += 98_001 + 1;
        }
        let got = a - b;
        assert!(
            got == expected || got + 1 == expected,
            "validator {}: {got}, expected {expected}",
            i + 1
        );
    }
    assert_eq!(net.supply(), supply + 1_000_003);
    // Withdrawing pays exactly the pending rewards and zeroes them.
    let v3 = key(3).address();
    let due = net.pending(&v3, &v3);
    let bal = net.balance(&v3);
    let w = net.tx(3, TxKind::WithdrawRewards { validator: None });
    assert_eq!(net.block(vec![w]), vec![TxStatus::Success]);
    let earned_in_7 = net.pending(&v3, &v3);
    assert!(earned_in_7 > 0, "block 7's rewards accrue again");
    assert_eq!(net.balance(&v3), bal + due - 7);
    assert_eq!(net.supply(), supply + 2 * 1_000_003);
}

#[test]
fn downtime_jails_slashes_and_unjail_brings_it_back() {
    let mut p = params();
    p.downtime_window = 10;
    p.downtime_max_missed = 3;
    p.downtime_jail_blocks = 5;
    p.downtime_slash_ppm = 10_000; // 1%
    let mut net = Net::new(4, p);
    let v4 = key(4).address();
    net.offline.insert(v4); // 30 of 40 power still commits
                            // V4 misses blocks 1, 2, 3, 4; block 5 counts the 4th miss (of block 4) and jails it.
    net.blocks_until(4);
    let reader = ChainReader::new(net.chain.clone());
    assert!(!reader.validator(&v4).unwrap().record.jailed);
    net.block(vec![]); // 5
    let rec = reader.validator(&v4).unwrap().record;
    assert!(rec.jailed);
    assert_eq!(rec.stake, 10 * COIN - COIN / 10);
    assert_eq!(rec.jailed_until, 10);
    assert_eq!(
        reader.validators(None).unwrap().len(),
        3,
        "out of the set at once"
    );
    assert_eq!(
        StakingReader(net.chain.state()).bonded(&v4, None).unwrap(),
        rec.stake
    );
    // A block proposed by the jailed validator is refused by every node.
    net.offline.clear();
    let set = net.chain.validators().unwrap();
    assert!(set.iter().all(|v| v.address != v4));
    let (ex, _) = net.chain.build_block(&[], v4, net.time + 10_000).unwrap();
    let err = net
        .replica
        .execute_block(&ex.block)
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not a validator"), "{err}");
    // Unjail is refused until height 10, then accepted; V4 returns at the next epoch (after 10).
    let early = net.tx(4, TxKind::Unjail { validator: v4 });
    let fund = net.tx(
        100,
        TxKind::Transfer {
            to: v4,
            amount: COIN,
        },
    );
    assert_eq!(net.block(vec![fund]), vec![TxStatus::Success]); // 6
    assert_eq!(net.block(vec![early]), vec![TxStatus::Failed]); // 7
    net.blocks_until(9);
    let unjail = net.tx(4, TxKind::Unjail { validator: v4 });
    assert_eq!(net.block(vec![unjail]), vec![TxStatus::Success]); // 10 (epoch)
    assert!(!reader.validator(&v4).unwrap().record.jailed);
    assert_eq!(net.chain.validators().unwrap().len(), 4);
}

/// The set comes from the power index (the first `max_validators` eligible validators by stake,
/// ties by lower address) and follows every stake change; unbonding funds are found per operator
/// and paid to any operator — also one whose address starts with 0xff, which a range end made by
/// appending 0xff to the key prefix used to miss.
#[test]
fn the_set_follows_stake_through_the_power_index_and_every_operator_is_unbonded() {
    let params = StakingParams {
        max_validators: 4,
        ..params()
    };
    let mut net = Net::new(3, params);
    // Twelve more validators operated by account 100 (keys 4..=15; the harness signs commits
    // with keys 1..=20), stakes 5..=15 coins, the two largest equal.
    let mut stakes: BTreeMap<Address, Amount> =
        (1..=3u8).map(|i| (key(i).address(), 10 * COIN)).collect();
    let mut txs = vec![];
    for (n, i) in (4..16u8).enumerate() {
        let amount = (5 + n.min(10) as u128) * COIN;
        stakes.insert(key(i).address(), amount);
        txs.push(net.tx(
            100,
            TxKind::Stake {
                validator_key: key(i).public_key(),
                amount,
            },
        ));
    }
    // An operator whose address starts with 0xff, funded by account 100.
    let far = (0u32..)
        .map(|n| {
            let mut seed = [7u8; 32];
            seed[..4].copy_from_slice(&n.to_le_bytes());
            Keypair::from_seed(&seed)
        })
        .find(|k| k.address().0[0] == 0xff)
        .unwrap();
    txs.push(net.tx(
        100,
        TxKind::Transfer {
            to: far.address(),
            amount: 20 * COIN,
        },
    ));
    assert!(net.block(txs).iter().all(|s| *s == TxStatus::Success));
    let far_val = key(16);
    let stake = net.tx_by(
        &far,
        TxKind::Stake {
            validator_key: far_val.public_key(),
            amount: 6 * COIN,
        },
    );
    assert_eq!(net.block(vec![stake]), vec![TxStatus::Success]);
    stakes.insert(far_val.address(), 6 * COIN);

    let expected = |stakes: &BTreeMap<Address, Amount>| -> Vec<(Address, u64)> {
        let mut v: Vec<_> = stakes
            .iter()
            .filter(|(_, s)| **s >= 5 * COIN)
            .map(|(a, s)| (*a, *s))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.into_iter()
            .take(4)
            .map(|(a, s)| (a, (s / COIN) as u64))
            .collect()
    };
    let actual = |net: &Net| -> Vec<(Address, u64)> {
        net.chain
            .validators()
            .unwrap()
            .iter()
            .map(|v| (v.address, v.power))
            .collect()
    };
    net.blocks_until(5);
    let first = expected(&stakes);
    assert_eq!(
        first[0].1, 15,
        "the two validators of 15 coins lead, lower address first"
    );
    assert_eq!(first[1].1, 15);
    assert_eq!(actual(&net), first);

    // The top validator drops to 5 coins, the next one leaves entirely, the 0xff operator's
    // validator leaves too: the next epoch's set follows.
    let (top, second) = (first[0].0, first[1].0);
    let txs = vec![
        net.tx(
            100,
            TxKind::Unstake {
                validator: top,
                amount: 10 * COIN,
            },
        ),
        net.tx(
            100,
            TxKind::Unstake {
                validator: second,
                amount: 15 * COIN,
            },
        ),
    ];
    let unstake_far = net.tx_by(
        &far,
        TxKind::Unstake {
            validator: far_val.address(),
            amount: 6 * COIN,
        },
    );
    let txs = [txs, vec![unstake_far]].concat();
    assert!(net.block(txs).iter().all(|s| *s == TxStatus::Success)); // block 6: due at 11
    *stakes.get_mut(&top).unwrap() = 5 * COIN;
    stakes.remove(&second);
    stakes.remove(&far_val.address());
    net.blocks_until(10);
    assert_eq!(actual(&net), expected(&stakes));

    // Each operator sees its own unbonding entries only.
    let staking = StakingReader(net.chain.state());
    let far_unbonding = staking.unbonding(&far.address()).unwrap();
    assert_eq!(far_unbonding.len(), 1);
    assert_eq!(
        (far_unbonding[0].height, far_unbonding[0].amount),
        (11, 6 * COIN)
    );
    let op_unbonding = staking.unbonding(&key(100).address()).unwrap();
    assert_eq!(op_unbonding.len(), 2, "one entry per validator left");
    assert!(op_unbonding.iter().all(|u| u.height == 11));
    assert_eq!(
        op_unbonding.iter().map(|u| u.amount).sum::<Amount>(),
        25 * COIN
    );
    let before = net.balance(&far.address());
    net.block(vec![]); // 11: both paid
    assert_eq!(net.balance(&far.address()), before + 6 * COIN);
    let staking = StakingReader(net.chain.state());
    assert!(staking.unbonding(&far.address()).unwrap().is_empty());
    assert!(staking.unbonding(&key(100).address()).unwrap().is_empty());
}

fn commission(validator: Address, rate: u32, max: u32, change: u32) -> TxKind {
    TxKind::EditCommission {
        validator,
        rate_ppm: rate,
        max_rate_ppm: max,
        max_change_ppm: change,
    }
}

/// Delegators earn by shares, the operator takes its commission at once; commission changes are
/// free until someone delegates, then bounded; redelegation moves stake one hop at a time and
/// undelegation leaves the delegator list.
#[test]
fn delegators_earn_by_shares_commission_is_bounded_and_redelegation_is_one_hop() {
    let mut p = params();
    p.block_reward = 10_000_000;
    p.community_tax_ppm = 0;
    p.proposer_reward_percent = 0;
    let mut net = Net::new(3, p);
    let (v1, v2, v3) = (key(1).address(), key(2).address(), key(3).address());
    let fund = net.tx(
        100,
        TxKind::Transfer {
            to: v1,
            amount: 10 * COIN,
        },
    );
    net.block(vec![fund]); // 1
    let txs = vec![
        net.tx(1, commission(v1, 100_000, 200_000, 10_000)),
        net.tx(
            101,
            TxKind::Delegate {
                validator: v1,
                amount: 30 * COIN,
            },
        ),
        net.tx(
            102,
            TxKind::Delegate {
                validator: v1,
                amount: 10 * COIN,
            },
        ),
        // Nothing to delegate to, and nothing worth a share.
        net.tx(
            103,
            TxKind::Delegate {
                validator: key(9).address(),
                amount: COIN,
            },
        ),
    ];
    use TxStatus::{Failed as F, Success as S};
    assert_eq!(net.block(txs), vec![S, S, S, F]); // 2
    let chain = net.chain.clone();
    let staking = StakingReader(chain.state());
    let rec = staking.validator(&v1).unwrap().unwrap();
    assert_eq!(
        (rec.stake, rec.shares, rec.delegators),
        (50 * COIN, 50 * COIN, 3)
    );
    assert_eq!(rec.commission.rate_ppm, 100_000);
    assert_eq!(
        staking.bonded(&key(101).address(), None).unwrap(),
        30 * COIN
    );
    // Now that others delegate: more than the daily change, a higher maximum, and a second
    // change within 24 hours are each refused.
    let txs = vec![
        net.tx(1, commission(v1, 150_000, 200_000, 10_000)),
        net.tx(1, commission(v1, 100_000, 300_000, 10_000)),
        net.tx(1, commission(v1, 105_000, 200_000, 10_000)),
    ];
    assert_eq!(net.block(txs), vec![F, F, F]); // 3
    let reasons: Vec<String> = net
        .chain
        .receipts(3)
        .unwrap()
        .into_iter()
        .filter_map(|r| r.error)
        .collect();
    assert!(
        reasons[0].contains("at most 10000 ppm a day"),
        "{}",
        reasons[0]
    );
    assert!(reasons[1].contains("may only go down"), "{}", reasons[1]);
    assert!(
        reasons[2].contains("less than 24 hours ago"),
        "{}",
        reasons[2]
    );

    net.blocks_until(5); // the epoch: V1 has power 50 of 70
    let op_before = net.balance(&v1);
    let (d1, d2) = (key(101).address(), key(102).address());
    let before = [
        net.pending(&v1, &v1),
        net.pending(&d1, &v1),
        net.pending(&d2, &v1),
    ];
    net.block(vec![]); // 6
                       // V1's part: 10,000,000 × 50/70 = 7,142,857; commission 10 % = 714,285 to the operator;
                       // 6,428,572 over 50 coins of shares: 10 : 30 : 10.
    assert_eq!(net.balance(&v1) - op_before, 714_285);
    let got = [
        net.pending(&v1, &v1) - before[0],
        net.pending(&d1, &v1) - before[1],
        net.pending(&d2, &v1) - before[2],
    ];
    let expect = [1_285_714u128, 3_857_143, 1_285_714];
    for (g, e) in got.iter().zip(expect) {
        assert!(*g == e || *g + 1 == e, "{got:?} vs {expect:?}");
    }
    let (page, more) = staking.delegators(&v1, None, 2).unwrap();
    assert!(more);
    let (rest, more) = staking
        .delegators(&v1, Some(&page[1].delegator), 2)
        .unwrap();
    assert!(!more);
    let mut all: Vec<Address> = page.iter().chain(&rest).map(|d| d.delegator).collect();
    all.sort();
    let mut want = vec![v1, d1, d2];
    want.sort();
    assert_eq!(all, want);

    // Redelegate 10 coins V1 → V2 (rewards of V1 paid on the way); moving them on to V3 is
    // refused until the entry matures; undelegating all of 102's stake leaves the list.
    let bal = net.balance(&d1);
    let owed = net.pending(&d1, &v1);
    let txs = vec![
        net.tx(
            101,
            TxKind::Redelegate {
                src_validator: v1,
                dst_validator: v2,
                amount: 10 * COIN,
            },
        ),
        net.tx(
            101,
            TxKind::Redelegate {
                src_validator: v2,
                dst_validator: v3,
                amount: COIN,
            },
        ),
        net.tx(
            102,
            TxKind::Undelegate {
                validator: v1,
                amount: 10 * COIN,
            },
        ),
    ];
    assert_eq!(net.block(txs), vec![S, F, S]); // 7
    let err = net.chain.receipts(7).unwrap()[1].error.clone().unwrap();
    assert!(
        err.contains("one hop at a time") && err.contains("height 12"),
        "{err}"
    );
    assert!(
        net.balance(&d1) >= bal + owed - 14,
        "rewards paid on redelegation"
    );
    let ds = staking.delegations(&d1).unwrap();
    assert_eq!(
        ds.iter()
            .map(|d| (d.validator, d.amount))
            .collect::<Vec<_>>(),
        vec![(v1, 20 * COIN), (v2, 10 * COIN)]
    );
    let rec = staking.validator(&v1).unwrap().unwrap();
    assert_eq!((rec.stake, rec.delegators), (30 * COIN, 2));
    assert!(staking.delegations(&d2).unwrap().is_empty());
    assert_eq!(staking.unbonding(&d2).unwrap()[0].amount, 10 * COIN);
    net.blocks_until(12);
    let again = net.tx(
        101,
        TxKind::Redelegate {
            src_validator: v2,
            dst_validator: v3,
            amount: COIN,
        },
    );
    assert_eq!(net.block(vec![again]), vec![S], "the entry matured at 12");
}

/// A slash takes its fraction from every delegator of the validator, from the unbonding entries
/// and redelegations made at or after the infraction height, and from nothing made before.
#[test]
fn a_slash_reaches_delegators_and_entries_made_after_the_infraction() {
    let mut p = params();
    p.downtime_window = 10;
    p.downtime_max_missed = 3;
    p.downtime_jail_blocks = 5;
    p.downtime_slash_ppm = 100_000; // 10 %
    let mut net = Net::new(4, p);
    let (v1, v4) = (key(1).address(), key(4).address());
    let (d1, d2, d3) = (key(101).address(), key(102).address(), key(103).address());
    net.offline.insert(v4); // misses 1..=4; block 5 jails it for the miss of 4 (the infraction)
    let delegate = |net: &mut Net, i: u8| {
        net.tx(
            i,
            TxKind::Delegate {
                validator: v4,
                amount: 20 * COIN,
            },
        )
    };
    let txs = vec![
        delegate(&mut net, 101),
        delegate(&mut net, 102),
        delegate(&mut net, 103),
    ];
    net.block(txs); // 1
    let supply = net.supply();
    net.block(vec![]); // 2
    let early = net.tx(
        102,
        TxKind::Undelegate {
            validator: v4,
            amount: 20 * COIN,
        },
    );
    net.block(vec![early]); // 3: before the infraction, not slashed
    let late = vec![
        net.tx(
            103,
            TxKind::Undelegate {
                validator: v4,
                amount: 20 * COIN,
            },
        ),
        net.tx(
            101,
            TxKind::Redelegate {
                src_validator: v4,
                dst_validator: v1,
                amount: 10 * COIN,
            },
        ),
    ];
    assert!(net.block(late).iter().all(|s| *s == TxStatus::Success)); // 4: at the infraction
    net.block(vec![]); // 5: jailed, slashed
    let staking = StakingReader(net.chain.state());
    let rec = staking.validator(&v4).unwrap().unwrap();
    assert!(rec.jailed);
    // V4 held 10 (own) + 10 (101's rest) = 20 coins: 2 burned; each share lost 10 %.
    assert_eq!(rec.stake, 18 * COIN);
    assert_eq!(staking.bonded(&v4, None).unwrap(), 9 * COIN);
    assert_eq!(staking.unbonding(&d2).unwrap()[0].amount, 20 * COIN);
    assert_eq!(staking.unbonding(&d3).unwrap()[0].amount, 18 * COIN);
    // 101: 9 left at V4, and its redelegation to V1 lost 1 coin there.
    let ds = staking.delegations(&d1).unwrap();
    assert_eq!(
        ds.iter()
            .map(|d| (d.validator, d.amount))
            .collect::<Vec<_>>(),
        vec![(v4, 9 * COIN), (v1, 9 * COIN)]
    );
    assert_eq!(staking.validator(&v1).unwrap().unwrap().stake, 19 * COIN);
    assert_eq!(staking.supply().unwrap().burned, 5 * COIN);
    assert_eq!(net.supply(), supply - 5 * COIN);
}

/// Random delegations, undelegations, redelegations, withdrawals, commission changes and
/// transfers under block rewards and fees, with a validator going offline (jailed and slashed):
/// after every block, Σ balances + Σ stake + Σ unbonding + pool + outstanding = genesis + minted
/// − burned, for three seeds; the replica reaches the same root every block.
#[test]
fn supply_is_conserved_across_random_delegation_rewards_and_slashes() {
    for seed in [1u64, 7, 2026] {
        let mut p = params();
        p.block_reward = 3 * COIN / 7;
        p.downtime_window = 10;
        p.downtime_max_missed = 3;
        p.downtime_slash_ppm = 123_457;
        let mut net = Net::new(4, p);
        let fund: Vec<_> = (1..=4)
            .map(|i| {
                net.tx(
                    100,
                    TxKind::Transfer {
                        to: key(i).address(),
                        amount: COIN,
                    },
                )
            })
            .collect();
        net.block(fund);
        let genesis = net.supply();
        let mut rng = seed;
        let mut next = |n: u64| {
            rng = rng
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (rng >> 33) % n
        };
        let vals: Vec<Address> = (1..=4).map(|i| key(i).address()).collect();
        for h in 2..=41u64 {
            if h == 8 {
                net.offline.insert(vals[3]);
            }
            if h == 16 {
                net.offline.clear();
            }
            let mut txs = vec![];
            for _ in 0..next(4) {
                let who = 100 + next(4) as u8;
                let v = vals[next(3) as usize];
                let w = vals[next(4) as usize];
                let amount = (1 + next(5) as u128) * COIN + next(1_000) as u128;
                let kind = match next(6) {
                    0 | 1 => TxKind::Delegate {
                        validator: v,
                        amount,
                    },
                    2 => TxKind::Undelegate {
                        validator: w,
                        amount: amount / 2,
                    },
                    3 => TxKind::Redelegate {
                        src_validator: w,
                        dst_validator: v,
                        amount: amount / 3,
                    },
                    4 => TxKind::WithdrawRewards { validator: None },
                    _ => TxKind::Transfer {
                        to: vals[next(4) as usize],
                        amount,
                    },
                };
                txs.push(net.tx(who, kind));
            }
            if h % 9 == 0 {
                let i = 1 + next(3) as u8;
                let rate = next(50_000) as u32;
                txs.push(net.tx(i, commission(key(i).address(), rate, 500_000, 60_000)));
            }
            net.block(txs);
            let s = StakingReader(net.chain.state()).supply().unwrap();
            assert_eq!(
                net.supply(),
                genesis + s.minted - (3 * COIN / 7) - s.burned,
                "seed {seed}, height {h}"
            );
        }
        let s = StakingReader(net.chain.state()).supply().unwrap();
        assert!(
            s.burned > 0,
            "seed {seed}: the offline validator was slashed"
        );
        assert_eq!(s.minted, 41 * (3 * COIN / 7));
    }
}
