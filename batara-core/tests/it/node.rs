//! The embedded node and the chain underneath it.

use std::sync::Arc;
use std::time::Duration;

use batara_core::api::NodeApi;
use batara_core::app::genesis::{self, Genesis, DEV_BALANCE};
use batara_core::app::open_chain;
use batara_core::consensus::DevMode;
use batara_core::mempool::{PoolTx, Rejection};
use batara_core::node::{BlockId, DevOptions, Node, NodeOptions};
use batara_core::state::verify_account_proof;
use batara_core::storage::StorageConfig;
use batara_core::storage::{RocksStore, Storage};
use batara_core::types::TxStatus;
use batara_core::Error;

use crate::common::{acct, dev, transfer};

#[test]
fn transfer_commits_pays_fee_to_proposer_and_emits_event() {
    let n = dev(DevMode::Auto);
    let (a, b) = (acct(0), acct(1));
    let proposer = genesis::dev_validator_key().address();
    let h = n.transfer(&a, b.address(), 1_000, 7, true).unwrap();
    let t = n.transaction(&h).unwrap();
    assert_eq!(t.receipt.status, TxStatus::Success);
    assert_eq!(t.receipt.fee, 7);
    assert_eq!(t.receipt.events[0].kind, "transfer");
    let sa = n.account(&a.address(), None).unwrap();
    assert_eq!((sa.balance, sa.nonce), (DEV_BALANCE - 1_007, 1));
    assert_eq!(
        n.account(&b.address(), None).unwrap().balance,
        DEV_BALANCE + 1_000
    );
    // The fee accrues to the proposer's delegators — its own self-delegation, all of the stake —
    // (2 % of 7 rounds to nothing for the community pool) until withdrawn.
    assert_eq!(n.account(&proposer, None).unwrap().balance, 0);
    assert_eq!(n.delegations(&proposer).unwrap().total_rewards, 7);
    assert_eq!(n.rewards(&proposer).unwrap().total, 7);
    // History: before the block, the sender had everything.
    assert_eq!(
        n.account(&a.address(), Some(t.height - 1)).unwrap().balance,
        DEV_BALANCE
    );
    let block = n.block(BlockId::Height(t.height)).unwrap();
    assert_eq!(block.txs[0].hash, h);
    assert_eq!(block.header.proposer, proposer);
    assert_eq!(
        n.block(BlockId::Hash(block.hash)).unwrap().header.height,
        t.height
    );
    assert!(matches!(
        n.block(BlockId::Height(t.height + 100)),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn failed_transaction_still_pays_fee_and_uses_nonce() {
    let store: Arc<dyn Storage> =
        Arc::new(RocksStore::ephemeral(&StorageConfig::default()).unwrap());
    let v = genesis::dev_validator_key();
    let mut g = Genesis::dev("c", 1, v.public_key(), 0);
    g.accounts[0].balance = 100;
    let chain = open_chain(store, &g).unwrap();
    let a = acct(0);
    // Amount larger than the balance but the fee is payable: included, failed, fee paid.
    let tx = transfer(&a, "c", 0, acct(1).address(), 500, 10);
    // Nonce 5 cannot be included at all; it is left out, not failed.
    let skip = transfer(&a, "c", 5, acct(1).address(), 1, 1);
    let cands: Vec<Arc<PoolTx>> = [tx, skip]
        .into_iter()
        .map(|t| {
            let b = t.to_bytes();
            Arc::new(PoolTx::new(t.clone(), t.hash(), b.len(), chain.registry()).unwrap())
        })
        .collect();
    let (ex, left_out) = chain.build_block(&cands, v.address(), 1).unwrap();
    assert_eq!(left_out, vec![cands[1].hash]);
    assert_eq!(ex.receipts.len(), 1);
    assert_eq!(ex.receipts[0].status, TxStatus::Failed);
    assert!(ex.receipts[0]
        .error
        .as_deref()
        .unwrap()
        .contains("insufficient balance"));
    let commit = chain.sign_commit(&ex, &batara_core::validator::LocalSigner(v.clone()));
    chain.commit(ex, commit).unwrap();
    let s = chain.state().account(&a.address()).unwrap();
    assert_eq!((s.balance, s.nonce), (90, 1));
    // The fee accrues to the validator's self-delegation (2 % of 10 rounds to nothing).
    assert_eq!(chain.state().account(&v.address()).unwrap().balance, 0);
    let staking = batara_core::modules::staking::StakingReader(chain.state());
    assert_eq!(
        staking.delegations(&v.address()).unwrap()[0].pending_rewards,
        10
    );
    assert_eq!(
        chain.state().account(&acct(1).address()).unwrap().balance,
        0
    );
}

#[test]
fn blocks_respect_the_tx_limit_and_fee_priority() {
    let v = genesis::dev_validator_key();
    let mut g = Genesis::dev("lim", 3, v.public_key(), 0);
    g.params.max_block_txs = 3;
    let mut config = batara_core::node::NodeConfig::default();
    config.storage.ephemeral = true;
    config.rpc.enabled = false;
    config.consensus.mode = DevMode::Manual;
    let n = Node::start(NodeOptions {
        config,
        genesis: g,
        validator_key: Some(v),
    })
    .unwrap();
    let (a, b) = (acct(0), acct(1));
    for i in 0..5 {
        n.submit(&transfer(&a, "lim", i, b.address(), 1, 1).to_bytes())
            .unwrap();
    }
    n.submit(&transfer(&b, "lim", 0, a.address(), 1, 50).to_bytes())
        .unwrap();
    let blocks = n.mine(3).unwrap();
    assert_eq!(
        blocks.iter().map(|b| b.txs.len()).collect::<Vec<_>>(),
        vec![3, 3, 0]
    );
    // The high-fee transaction goes first.
    assert_eq!(blocks[0].txs[0].tx.body.signer, b.public_key());
    assert_eq!(n.account(&a.address(), None).unwrap().nonce, 5);
}

#[test]
fn submit_rejections_name_their_cause() {
    let n = dev(DevMode::Manual);
    let a = acct(0);
    let id = n.chain_id().to_owned();
    let good = transfer(&a, &id, 0, acct(1).address(), 5, 1);
    n.submit(&good.to_bytes()).unwrap();
    let reject = |bytes: Vec<u8>| match n.submit(&bytes) {
        Err(Error::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    };
    assert!(matches!(reject(good.to_bytes()), Rejection::Duplicate(_)));
    let mut bad_sig = transfer(&a, &id, 1, acct(1).address(), 5, 1);
    bad_sig.signature.0[3] ^= 1;
    assert_eq!(reject(bad_sig.to_bytes()), Rejection::BadSignature);
    let other_chain = transfer(&a, "elsewhere", 1, acct(1).address(), 5, 1);
    assert!(matches!(
        reject(other_chain.to_bytes()),
        Rejection::WrongChainId { .. }
    ));
    assert!(matches!(
        reject(b"\x01\x02garbage".to_vec()),
        Rejection::Malformed(_)
    ));
    let poor = transfer(&acct(20), &id, 0, a.address(), 1, 1);
    assert!(matches!(
        reject(poor.to_bytes()),
        Rejection::InsufficientBalance { need: 2, have: 0 }
    ));
    n.mine(1).unwrap();
    // Replaying the committed transaction: its nonce is used.
    let e = reject(good.to_bytes());
    assert_eq!(e.to_string(), "nonce too low: expected 1, got 0");
    // A batch gets one answer per transaction.
    let res = n.submit_batch(&[
        transfer(&a, &id, 1, acct(1).address(), 5, 1).to_bytes(),
        vec![0xff; 3],
        transfer(&a, &id, 2, acct(1).address(), 5, 1).to_bytes(),
    ]);
    assert!(res[0].is_ok() && res[1].is_err() && res[2].is_ok());
    assert_eq!(n.next_nonce(&a.address()).unwrap(), 3);
}

#[test]
fn restart_resumes_at_the_same_head_and_state_root() {
    let dir = tempfile::tempdir().unwrap();
    let opts = DevOptions {
        data_dir: Some(dir.path().to_owned()),
        mode: DevMode::Manual,
        ..Default::default()
    };
    let (head, root, bal) = {
        let n = Node::dev(opts.clone()).unwrap();
        for i in 0..3 {
            n.transfer(&acct(0), acct(1).address(), 10 + i, 1, false)
                .unwrap();
            n.mine(1).unwrap();
        }
        let h = n.header(BlockId::Latest).unwrap();
        let bal = n.account(&acct(1).address(), None).unwrap().balance;
        n.stop();
        (h.hash(), h.state_root, bal)
    };
    let n = Node::dev(opts.clone()).unwrap();
    let h = n.header(BlockId::Latest).unwrap();
    assert_eq!((h.hash(), h.state_root, h.height), (head, root, 3));
    assert_eq!(n.account(&acct(1).address(), None).unwrap().balance, bal);
    assert_eq!(n.chain().state().root_at(3).unwrap(), root);
    // And it keeps going from there.
    n.transfer(&acct(0), acct(1).address(), 1, 1, false)
        .unwrap();
    let b = n.mine(1).unwrap();
    assert_eq!(b[0].header.parent, head);
    n.stop();
    drop(n);
    // The same data directory with another genesis is refused.
    let other = DevOptions {
        accounts: 3,
        ..opts
    };
    match Node::dev(other) {
        Err(Error::Chain(e)) => assert!(e.to_string().contains("another genesis"), "{e}"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a mismatched genesis must be refused"),
    }
}

#[test]
fn proofs_verify_against_the_header_state_root() {
    let n = dev(DevMode::Auto);
    let a = acct(0);
    n.transfer(&a, acct(1).address(), 5, 0, true).unwrap();
    let p = n.proof(&a.address(), None).unwrap();
    let header = n.header(BlockId::Height(p.height)).unwrap();
    assert_eq!(p.state_root, header.state_root);
    verify_account_proof(&header.state_root, &a.address(), p.value.as_ref(), &p.proof).unwrap();
    let mut forged = p.value.unwrap();
    forged.balance += 1;
    assert!(
        verify_account_proof(&header.state_root, &a.address(), Some(&forged), &p.proof).is_err()
    );
    // A proof at an older height verifies against that height's root.
    let old = n.proof(&a.address(), Some(0)).unwrap();
    let g = n.header(BlockId::Height(0)).unwrap();
    verify_account_proof(&g.state_root, &a.address(), old.value.as_ref(), &old.proof).unwrap();
    assert_eq!(old.value.unwrap().balance, DEV_BALANCE);
}

#[test]
fn dev_controls_snapshot_revert_set_balance_and_time() {
    let n = dev(DevMode::Manual);
    let (a, b) = (acct(0), acct(1));
    let snap = n.snapshot().unwrap();
    let h0 = n.info().height;
    let tx = n.transfer(&a, b.address(), 100, 1, false).unwrap();
    n.mine(2).unwrap();
    assert_eq!(
        n.account(&b.address(), None).unwrap().balance,
        DEV_BALANCE + 100
    );
    n.revert(snap).unwrap();
    assert_eq!(n.info().height, h0);
    assert_eq!(n.account(&b.address(), None).unwrap().balance, DEV_BALANCE);
    assert!(matches!(n.transaction(&tx), Err(Error::NotFound(_))));
    assert!(n.revert(snap).is_err(), "a snapshot is used up by revert");
    assert_ne!(n.snapshot().unwrap(), snap, "snapshot ids are never reused");
    // The reverted chain grows again with a consistent state root.
    let blk = n.set_balance(&b.address(), 42).unwrap();
    assert_eq!(n.account(&b.address(), None).unwrap().balance, 42);
    assert_eq!(
        n.chain().state().root_at(blk.header.height).unwrap(),
        blk.header.state_root
    );
    let t1 = n.mine(1).unwrap()[0].header.time;
    // Block time is max(clock + offset, parent + 1): compare with the wall clock, not with t1
    // (which may already be a millisecond ahead of it).
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert_eq!(n.increase_time(3_600_000).unwrap(), 3_600_000);
    let t2 = n.mine(1).unwrap()[0].header.time;
    assert!(
        t2 >= wall + 3_600_000 && t2 > t1,
        "{t1} -> {t2} (wall {wall})"
    );
    // A huge offset neither overflows nor stops block times from increasing.
    assert_eq!(n.increase_time(u64::MAX).unwrap(), u64::MAX);
    let times: Vec<u64> = n.mine(3).unwrap().iter().map(|b| b.header.time).collect();
    assert!(times.windows(2).all(|w| w[1] > w[0]), "{times:?}");
    assert!(times[0] > t2 && times[2] < u64::MAX / 2, "{times:?}");
}

#[test]
fn imported_blocks_replay_to_the_same_roots_and_tampering_is_caught() {
    let n = dev(DevMode::Manual);
    let id = n.chain_id().to_owned();
    for i in 0..4u64 {
        n.submit(&transfer(&acct(0), &id, i, acct(1).address(), 3, 1).to_bytes())
            .unwrap();
        n.submit(&transfer(&acct(2), &id, i, acct(3).address(), 1_000_000, 2).to_bytes())
            .unwrap();
        n.mine(1).unwrap();
    }
    let g = n.genesis().clone();
    let fresh = || {
        let s: Arc<dyn Storage> =
            Arc::new(RocksStore::ephemeral(&StorageConfig::default()).unwrap());
        open_chain(s, &g).unwrap()
    };
    let replica = fresh();
    let head = n.info().height;
    for h in 1..=head {
        let b = n.chain().block(h).unwrap().unwrap();
        let c = n.chain().commit_at(h).unwrap().unwrap();
        let cb = replica.import(&b, c).unwrap();
        assert_eq!(cb.hash, b.hash());
    }
    assert_eq!(
        replica.head().header.state_root,
        n.header(BlockId::Latest).unwrap().state_root
    );

    let b1 = n.chain().block(1).unwrap().unwrap();
    let c1 = n.chain().commit_at(1).unwrap().unwrap();
    let r2 = fresh();
    // A changed amount breaks the signature (and the commit, which signs the block hash).
    let mut t = b1.clone();
    let batara_core::types::TxKind::Transfer { amount, .. } = &mut t.txs[0].body.kind else {
        panic!("block 1 holds a transfer");
    };
    *amount += 1;
    assert!(r2.import(&t, c1.clone()).is_err());
    assert!(r2
        .execute_block(&t)
        .unwrap_err()
        .to_string()
        .contains("transactions root"));
    // A wrong state root is caught by re-execution.
    let mut t = b1.clone();
    t.header.state_root = batara_core::crypto::sha256(b"lie");
    assert!(r2
        .execute_block(&t)
        .unwrap_err()
        .to_string()
        .contains("state root"));
    // A commit that does not sign this block is refused.
    let mut bad_commit = c1.clone();
    bad_commit.signatures[0].signature.0[0] ^= 1;
    assert!(r2.import(&b1, bad_commit).is_err());
    // The untouched block still imports.
    r2.import(&b1, c1).unwrap();
}

#[test]
fn waits_subscriptions_and_interval_blocks() {
    let n = Node::dev(DevOptions {
        mode: DevMode::Interval,
        block_time_ms: 20,
        ..Default::default()
    })
    .unwrap();
    let mut rx = n.subscribe_blocks();
    let first = rx.blocking_recv().unwrap();
    let second = rx.blocking_recv().unwrap();
    assert_eq!(second.block.header.height, first.block.header.height + 1);
    assert!(
        second.block.txs.is_empty(),
        "interval mode makes empty blocks too"
    );
    let unknown = batara_core::crypto::sha256(b"nothing");
    assert!(matches!(
        n.wait_for_tx(&unknown, Duration::from_secs(5)),
        Err(Error::NotFound(_))
    ));
    let h = n
        .transfer(&acct(0), acct(1).address(), 1, 0, false)
        .unwrap();
    let t = n.wait_for_tx(&h, Duration::from_secs(10)).unwrap();
    assert_eq!(t.hash, h);
    n.stop();
    assert!(matches!(n.submit(&[1, 2, 3]), Err(Error::Stopped)));
}

#[test]
fn two_nodes_in_one_process_are_independent() {
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let mk = |d: &std::path::Path| {
        Node::dev(DevOptions {
            data_dir: Some(d.to_owned()),
            ..Default::default()
        })
        .unwrap()
    };
    let (n1, n2) = (mk(d1.path()), mk(d2.path()));
    n1.transfer(&acct(0), acct(1).address(), 77, 0, true)
        .unwrap();
    assert_eq!(
        n1.account(&acct(1).address(), None).unwrap().balance,
        DEV_BALANCE + 77
    );
    assert_eq!(
        n2.account(&acct(1).address(), None).unwrap().balance,
        DEV_BALANCE
    );
    assert_eq!(n2.info().height, 0);
}

/// `params.min_fee` is consensus: a builder leaves a cheaper transaction out, a block carrying one
/// is invalid, and the node's mempool refuses it at the door (`fee_too_low`), reporting its
/// minimum in `info().min_fee` — with a node's own higher `mempool.min_fee` on top.
#[test]
fn the_minimum_fee_is_consensus_and_the_mempool_refuses_below_it() {
    let validator = genesis::dev_validator_key();
    let chain = |min_fee| {
        let mut g = Genesis::dev("fees", 2, validator.public_key(), 1);
        g.params.min_fee = min_fee;
        open_chain(
            Arc::new(RocksStore::ephemeral(&StorageConfig::default()).unwrap()),
            &g,
        )
        .unwrap()
    };
    let (free, strict) = (chain(0), chain(10));
    let tx = batara_core::types::TxBody {
        chain_id: "fees".into(),
        signer: acct(0).public_key(),
        nonce: 0,
        fee: 9,
        kind: batara_core::types::TxKind::Transfer {
            to: acct(1).address(),
            amount: 1,
        },
    }
    .sign(&acct(0));
    let ptx = |c: &batara_core::runtime::Chain| {
        Arc::new(PoolTx::new(tx.clone(), tx.hash(), tx.to_bytes().len(), c.registry()).unwrap())
    };
    let (built, left_out) = strict
        .build_block(&[ptx(&strict)], validator.address(), 2)
        .unwrap();
    assert_eq!((built.block.txs.len(), left_out), (0, vec![tx.hash()]));
    let (cheap, _) = free
        .build_block(&[ptx(&free)], validator.address(), 2)
        .unwrap();
    assert_eq!(cheap.block.txs.len(), 1);
    let e = strict.execute_block(&cheap.block).unwrap_err().to_string();
    assert!(e.contains("fee 9 below the chain's minimum 10"), "{e}");

    let start = |node_min: u128| {
        let mut g = Genesis::dev("fees", 2, validator.public_key(), 1);
        g.params.min_fee = 10;
        let mut config = batara_core::node::NodeConfig::default();
        config.storage.ephemeral = true;
        config.rpc.enabled = false;
        config.mempool.min_fee = node_min;
        Node::start(NodeOptions {
            config,
            genesis: g,
            validator_key: Some(validator.clone()),
        })
        .unwrap()
    };
    let n = start(0);
    assert_eq!(n.info().min_fee, 10);
    match n.transfer(&acct(0), acct(1).address(), 1, 9, false) {
        Err(Error::Rejected(r)) => assert_eq!(r, Rejection::FeeTooLow { min: 10, got: 9 }),
        other => panic!("expected fee_too_low, got {other:?}"),
    }
    n.transfer(&acct(0), acct(1).address(), 1, 10, true)
        .unwrap();
    // A transfer of nothing pays its fee but creates no account.
    let fresh = acct(77).address();
    let h = n.transfer(&acct(0), fresh, 0, 10, true).unwrap();
    assert_eq!(n.transaction(&h).unwrap().receipt.status, TxStatus::Success);
    assert_eq!(n.proof(&fresh, None).unwrap().value, None);
    n.transfer(&acct(0), fresh, 1, 10, true).unwrap();
    assert_eq!(n.proof(&fresh, None).unwrap().value.unwrap().balance, 1);
    n.stop();
    let n = start(50);
    assert_eq!(n.info().min_fee, 50, "a node may ask more than the chain");
    n.stop();
}
