//! Staking on a multi-validator chain driven block by block: the test holds every validator key,
//! builds each block with the chain's own builder, signs its commit with the validators it chooses,
//! and imports every block into a second chain (on RocksDB) that must reach the same state root —
//! so commit checks against a changing validator set are exercised too.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use batara_core::api::ChainReader;
use batara_core::app::genesis::{Genesis, GenesisAccount, GenesisValidator};
use batara_core::app::open_chain;
use batara_core::crypto::Keypair;
use batara_core::mempool::PoolTx;
use batara_core::modules::staking::{StakingParams, StakingReader};
use batara_core::runtime::Chain;
use batara_core::storage::RocksStore;
use batara_core::types::{
    Address, Amount, Commit, CommitSig, PublicKey, SignedTransaction, TxBody, TxKind, TxStatus,
};

const COIN: Amount = 1_000_000_000_000_000_000;

fn key(i: u8) -> Keypair {
    Keypair::from_seed(&[i; 32])
}

struct Net {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    chain: Arc<Chain>,
    replica: Chain,
    keys: BTreeMap<Address, Keypair>,
    offline: HashSet<Address>,
    nonces: BTreeMap<Address, u64>,
    time: u64,
}

impl Net {
    /// Validators with consensus keys 1..=n (power 10 each); operators = the validators' own
    /// addresses; accounts 100..=103 funded with 1000 coins.
    fn new(validators: u8, params: StakingParams) -> Self {
        let mut g = Genesis {
            chain_id: "stake-test".into(),
            genesis_time: 1_000,
            params: Default::default(),
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
        g.params.staking = params;
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

    fn tx(&mut self, signer: u8, kind: TxKind) -> SignedTransaction {
        self.tx_by(&key(signer), kind)
    }

    fn tx_by(&mut self, k: &Keypair, kind: TxKind) -> SignedTransaction {
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

    fn height(&self) -> u64 {
        self.chain.head().header.height
    }

    /// Builds the next block with `txs` (all must be includable), proposed by the first online
    /// member of the set after rotating by height, and committed by every online member.
    fn block(&mut self, txs: Vec<SignedTransaction>) -> Vec<TxStatus> {
        let set = self.chain.validators().unwrap();
        let h = self.height() + 1;
        let proposer = (0..set.len())
            .map(|i| set[(h as usize + i) % set.len()].address)
            .find(|a| !self.offline.contains(a))
            .expect("an online validator");
        let cands: Vec<Arc<PoolTx>> = txs
            .into_iter()
            .map(|t| {
                let bytes = t.to_bytes();
                Arc::new(
                    PoolTx::new(t.clone(), t.hash(), bytes.len(), self.chain.registry()).unwrap(),
                )
            })
            .collect();
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
        cb.receipts.iter().map(|r| r.status).collect()
    }

    fn blocks_until(&mut self, height: u64) {
        while self.height() < height {
            self.block(vec![]);
        }
    }

    fn balance(&self, a: &Address) -> Amount {
        self.chain.state().account(a).unwrap().balance
    }

    /// Σ balances + Σ stake + Σ unbonding.
    fn supply(&self) -> Amount {
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
            total += staking
                .unbonding(&k.address())
                .unwrap()
                .iter()
                .map(|u| u.amount)
                .sum::<Amount>();
        }
        total
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
        "has 10000000000000000000 staked",
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
    let bal =
        |net: &Net| -> Vec<Amount> { (1..=3).map(|i| net.balance(&key(i).address())).collect() };
    let before = bal(&net);
    let tx = net.tx(
        100,
        TxKind::Transfer {
            to: key(101).address(),
            amount: 1,
        },
    );
    net.block(vec![tx]); // block 6, fee 7
    let proposer = net.chain.header(6).unwrap().unwrap().proposer;
    let after = bal(&net);
    // 900,003 split 1:1:2 → 225,000 / 225,000 / 450,001; remainder 2 and the bonus 100,000 and
    // the fee 7 to the proposer.
    let share = |a: &Address| -> Amount {
        if *a == key(3).address() {
            450_001
        } else {
            225_000
        }
    };
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let addr = key(i as u8 + 1).address();
        let mut expected = share(&addr);
        if addr == proposer {
            expected += 100_000 + 2 + 7;
        }
        assert_eq!(a - b, expected, "validator {}", i + 1);
    }
    assert_eq!(net.supply(), supply + 1_000_003);
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
    assert_eq!(op_unbonding.len(), 1);
    assert_eq!(op_unbonding[0].amount, 25 * COIN);
    let before = net.balance(&far.address());
    net.block(vec![]); // 11: both paid
    assert_eq!(net.balance(&far.address()), before + 6 * COIN);
    let staking = StakingReader(net.chain.state());
    assert!(staking.unbonding(&far.address()).unwrap().is_empty());
    assert!(staking.unbonding(&key(100).address()).unwrap().is_empty());
}
