//! Governance on a 4-validator chain driven block by block (the staking tests' [`Net`]: every
//! block is imported by a replica on RocksDB that must reach the same state root). Each test
//! goes through deposit, vote and the end of the period by block time, and checks what a user
//! would: the status and result, balances, the supply, the block events, the chain's rules.

use std::sync::Arc;

use batara_core::app::genesis::ChainParams;
use batara_core::mempool::PoolTx;
use batara_core::mempool::TxRules;
use batara_core::modules::gov::{escrow_address, GovModule, GovParams, Proposal, ProposalStatus};
use batara_core::modules::staking::{StakingParams, StakingReader};
use batara_core::modules::vm::contract_address;
use batara_core::runtime::ChainError;
use batara_core::types::{
    Address, Amount, ParamChange, ProposalContent, TxKind, TxStatus, VoteOption, WeightedVote,
};

use super::contracts;
use super::staking::{key, Net, COIN};

/// Deposit and voting periods of 10 blocks (the net's blocks are 1 s apart), expedited 5.
fn net() -> Net {
    let params = ChainParams {
        staking: StakingParams {
            epoch_length: 5,
            unbonding_blocks: 5,
            min_self_stake: 5 * COIN,
            block_reward: COIN,
            ..Default::default()
        },
        gov: GovParams {
            min_deposit: 100 * COIN,
            expedited_min_deposit: 200 * COIN,
            max_deposit_period_ms: 10_000,
            voting_period_ms: 10_000,
            expedited_voting_period_ms: 5_000,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut net = Net::with_params(4, params);
    // Fees for the validators' operators (their consensus keys' addresses).
    let fund = (1..=4)
        .map(|i| {
            net.tx(
                101,
                TxKind::Transfer {
                    to: key(i).address(),
                    amount: COIN,
                },
            )
        })
        .collect();
    assert_ok(net.block(fund));
    net
}

fn assert_ok(statuses: Vec<TxStatus>) {
    assert!(
        statuses.iter().all(|s| *s == TxStatus::Success),
        "{statuses:?}"
    );
}

fn gov(net: &Net) -> &GovModule {
    net.chain.registry().module::<GovModule>().unwrap()
}

fn proposal(net: &Net, id: u64) -> Proposal {
    net.chain
        .simulate(|ctx| gov(net).proposal(ctx, id))
        .unwrap()
        .expect("the proposal exists")
}

fn propose(content: ProposalContent, deposit: Amount) -> TxKind {
    TxKind::Propose {
        title: "a proposal".into(),
        summary: "why".into(),
        content,
        deposit,
        expedited: false,
    }
}

pub(crate) fn vote(proposal: u64, option: VoteOption) -> TxKind {
    TxKind::Vote {
        proposal,
        options: vec![WeightedVote {
            option,
            weight_ppm: 1_000_000,
        }],
    }
}

fn validator(i: u8) -> Address {
    key(i).address()
}

/// Runs blocks until proposal `id` is no longer open (at most 30).
fn until_closed(net: &mut Net, id: u64) -> Proposal {
    for _ in 0..30 {
        let p = proposal(net, id);
        if !matches!(
            p.status,
            ProposalStatus::DepositPeriod | ProposalStatus::VotingPeriod
        ) {
            return p;
        }
        net.block(vec![]);
    }
    panic!("proposal {id} still open");
}

fn burned(net: &Net) -> Amount {
    StakingReader(net.chain.state()).supply().unwrap().burned
}

#[test]
fn a_parameter_change_passes_and_binds_the_next_block_on_every_node() {
    let mut net = net();
    let change = ProposalContent::Params {
        changes: vec![ParamChange {
            params: "chain".into(),
            values: r#"{"max_block_txs":2}"#.into(),
        }],
    };
    let t = net.tx(100, propose(change, 100 * COIN));
    assert_ok(net.block(vec![t]));
    let p = proposal(&net, 1);
    assert_eq!(
        p.status,
        ProposalStatus::VotingPeriod,
        "the deposit was enough"
    );
    assert_eq!(net.balance(&escrow_address()), 100 * COIN);
    let votes = (1..=3)
        .map(|i| net.tx(i, vote(1, VoteOption::Yes)))
        .collect();
    assert_ok(net.block(votes));
    assert_eq!(net.chain.rules().unwrap().max_block_txs, 20_000);
    let before = net.balance(&key(100).address());
    let mut ended = None;
    for _ in 0..15 {
        let cb = net.commit_block(vec![]);
        if proposal(&net, 1).status != ProposalStatus::VotingPeriod {
            ended = Some(cb);
            break;
        }
    }
    let cb = ended.expect("the vote ended");
    let p = proposal(&net, 1);
    assert_eq!(p.status, ProposalStatus::Passed, "{}", p.result);
    assert!(
        p.result.contains("75.00%"),
        "3 of 4 equal validators voted: {}",
        p.result
    );
    assert_eq!(p.end_height, cb.block.header.height);
    // The status change is in the block's own events, and stored with it.
    let ev = cb
        .events
        .iter()
        .find(|e| e.kind == "proposal_status")
        .expect("a proposal_status event");
    assert!(ev.attributes.contains(&("status".into(), "passed".into())));
    assert_eq!(
        net.chain.block_events(cb.block.header.height).unwrap(),
        *cb.events
    );
    // Refunded, and the new rule binds the next block on both nodes.
    assert_eq!(net.balance(&key(100).address()), before + 100 * COIN);
    assert_eq!(net.balance(&escrow_address()), 0);
    assert_eq!(net.chain.rules().unwrap().max_block_txs, 2);
    assert_eq!(net.replica.rules().unwrap().max_block_txs, 2);
    let txs: Vec<_> = (0..3)
        .map(|i| {
            net.tx(
                102,
                TxKind::Transfer {
                    to: validator(1),
                    amount: i + 1,
                },
            )
        })
        .collect();
    let cands: Vec<Arc<PoolTx>> = txs
        .iter()
        .map(|t| {
            Arc::new(
                PoolTx::new(
                    t.clone(),
                    t.hash(),
                    t.to_bytes().len(),
                    net.chain.registry(),
                )
                .unwrap(),
            )
        })
        .collect();
    let (ex, left_out) = net
        .chain
        .build_block(&cands, validator(1), net.time + 1_000)
        .unwrap();
    // The third waits for a later block (not dropped from the pool).
    assert_eq!((ex.block.txs.len(), left_out.len()), (2, 0));
}

#[test]
fn a_delegators_vote_overrides_its_validator_and_changes_the_outcome() {
    let mut net = net();
    // Account 100 delegates 30 coins to validator 1: bonded 70, validator 1 holds 40.
    let d = net.tx(
        100,
        TxKind::Delegate {
            validator: validator(1),
            amount: 30 * COIN,
        },
    );
    assert_ok(net.block(vec![d]));
    net.blocks_until(5); // the epoch boundary moves the stake into the set
    let a = net.tx(101, propose(ProposalContent::Text, 100 * COIN));
    let b = net.tx(102, propose(ProposalContent::Text, 100 * COIN));
    assert_ok(net.block(vec![a, b]));
    let mut votes = vec![];
    for id in [1, 2] {
        votes.push(net.tx(1, vote(id, VoteOption::Yes)));
        votes.push(net.tx(2, vote(id, VoteOption::Yes)));
    }
    // On proposal 2 the delegator votes no itself, and first changes its mind once.
    votes.push(net.tx(100, vote(2, VoteOption::Yes)));
    votes.push(net.tx(100, vote(2, VoteOption::No)));
    assert_ok(net.block(votes));
    let live = net
        .chain
        .simulate(|ctx| gov(&net).tally_of(ctx, 2))
        .unwrap()
        .unwrap();
    assert_eq!(
        (live.yes, live.no, live.bonded),
        (20 * COIN, 30 * COIN, 70 * COIN)
    );
    let a = until_closed(&mut net, 1);
    let b = until_closed(&mut net, 2);
    assert_eq!(a.status, ProposalStatus::Passed, "{}", a.result);
    let ta = a.tally.unwrap();
    assert_eq!((ta.yes, ta.no), (50 * COIN, 0));
    assert_eq!(b.status, ProposalStatus::Rejected, "{}", b.result);
    let tb = b.tally.unwrap();
    assert_eq!((tb.yes, tb.no), (20 * COIN, 30 * COIN));
    assert!(b.result.contains("threshold"), "{}", b.result);
    assert!(!b.deposits_burned);
    // An account with nothing bonded may not vote.
    let c = net.tx(103, propose(ProposalContent::Text, 100 * COIN));
    assert_ok(net.block(vec![c]));
    let v = net.tx(103, vote(3, VoteOption::Yes));
    assert_eq!(net.block(vec![v]), [TxStatus::Failed]);
}

/// The VM's parameters change like any module's: from the block after the vote, the mempool and
/// the block both apply them, gas is charged at the new prices, and stored code bigger than a
/// lowered upload limit keeps running.
#[test]
fn a_vm_parameter_change_binds_contracts_from_the_next_block() {
    let mut net = net();
    let code = wat::parse_str(contracts::COUNTER).unwrap();
    let hash = batara_core::crypto::sha256(&code);
    let t = net.tx(100, contracts::upload(code.clone()));
    assert_ok(net.block(vec![t]));
    let t = net.tx(100, contracts::instantiate(hash, &[], b"a", 0));
    assert_ok(net.block(vec![t]));
    let counter = contract_address(&key(100).address(), &hash, b"a");
    let increment = |gas| contracts::call(counter, "increment", &[], 0, gas);
    let gas_used = |net: &mut Net, gas| {
        let t = net.tx(100, increment(gas));
        let r = net.commit_block(vec![t]).receipts[0].clone();
        assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
        r.gas_used
    };
    gas_used(&mut net, 5_000_000);
    let before = gas_used(&mut net, 5_000_000);

    let values = format!(
        r#"{{"max_code_bytes":{},"max_tx_gas":"4000000","gas":{{"storage_write":15000}}}}"#,
        code.len() - 1
    );
    let change = ProposalContent::Params {
        changes: vec![ParamChange {
            params: "vm".into(),
            values,
        }],
    };
    let t = net.tx(100, propose(change, 100 * COIN));
    assert_ok(net.block(vec![t]));
    let votes = (1..=4)
        .map(|i| net.tx(i, vote(1, VoteOption::Yes)))
        .collect();
    assert_ok(net.block(votes));
    // Admitted while 5,000,000 gas was allowed, included after the change.
    let t = net.tx(100, increment(5_000_000));
    let early = net.pool_tx(t);
    let p = until_closed(&mut net, 1);
    assert_eq!(p.status, ProposalStatus::Passed, "{}", p.result);

    let r = net.commit_pooled(vec![early]).receipts[0].clone();
    assert_eq!(r.status, TxStatus::Failed);
    let e = r.error.unwrap();
    assert!(
        e.contains("over the transaction limit 4000000 (vm.max_tx_gas)"),
        "{e}"
    );
    // The mempool's checks follow the committed head: over-limit gas and code are refused.
    let (gassy, big) = (
        net.tx(102, increment(5_000_000)),
        net.tx(
            102,
            TxKind::Upload {
                code: code.clone(),
                gas_limit: 4_000_000,
                gas_price: 3,
            },
        ),
    );
    let registry = net.chain.registry();
    let e = registry.check(&gassy).unwrap_err();
    assert!(e.contains("vm.max_tx_gas"), "{e}");
    let e = registry.check(&big).unwrap_err();
    assert!(
        e.contains(&format!("over the limit of {}", code.len() - 1)),
        "{e}"
    );
    // A storage write costs 10,000 more; the rest of the schedule is kept.
    assert_eq!(gas_used(&mut net, 4_000_000), before + 10_000);
    // The stored code, now over max_code_bytes, still instantiates and runs.
    let mut again = contracts::instantiate(hash, &[], b"b", 0);
    if let TxKind::Instantiate { gas_limit, .. } = &mut again {
        *gas_limit = 4_000_000;
    }
    let t = net.tx(100, again);
    assert_ok(net.block(vec![t]));
    // Both nodes read the values in force (the net compares state roots every block).
    let vm = net
        .chain
        .simulate(|ctx| gov(&net).governed_params(ctx))
        .unwrap()
        .into_iter()
        .find(|(name, _)| *name == "vm")
        .unwrap()
        .1;
    assert_eq!(vm["max_tx_gas"], "4000000");
    assert_eq!(vm["gas"]["storage_write"], 15_000);
    assert_eq!(
        vm["gas"]["storage_read"], 2_000,
        "fields not named are kept"
    );
    assert_eq!(vm["max_recursion_depth"], 1_024);
}

#[test]
fn a_veto_burns_the_deposit_and_no_quorum_refunds_it() {
    let mut net = net();
    let supply0 = net.supply();
    let minted0 = StakingReader(net.chain.state()).supply().unwrap().minted;
    let burned0 = burned(&net);
    let a = net.tx(100, propose(ProposalContent::Text, 100 * COIN));
    let b = net.tx(101, propose(ProposalContent::Text, 100 * COIN));
    assert_ok(net.block(vec![a, b]));
    // Proposal 1: two validators veto, one says yes — veto 2/3 of the votes.
    let votes = vec![
        net.tx(1, vote(1, VoteOption::Veto)),
        net.tx(2, vote(1, VoteOption::Veto)),
        net.tx(3, vote(1, VoteOption::Yes)),
        // Proposal 2: one validator of four votes: 25 % < quorum 33.4 %.
        net.tx(4, vote(2, VoteOption::Yes)),
    ];
    assert_ok(net.block(votes));
    let bal = |net: &Net, i| net.balance(&key(i).address());
    let (b100, b101) = (bal(&net, 100), bal(&net, 101));
    let a = until_closed(&mut net, 1);
    let b = until_closed(&mut net, 2);
    assert_eq!(a.status, ProposalStatus::Rejected);
    assert!(a.result.starts_with("vetoed"), "{}", a.result);
    assert!(a.deposits_burned);
    assert_eq!(bal(&net, 100), b100, "a vetoed deposit is not refunded");
    assert_eq!(b.status, ProposalStatus::Rejected);
    assert!(b.result.starts_with("no quorum: 25.00%"), "{}", b.result);
    assert!(!b.deposits_burned);
    assert_eq!(bal(&net, 101), b101 + 100 * COIN, "refunded");
    assert_eq!(burned(&net) - burned0, 100 * COIN);
    assert_eq!(net.balance(&escrow_address()), 0);
    // Supply: what was there, plus what was minted since, minus the burn.
    let minted = StakingReader(net.chain.state()).supply().unwrap().minted;
    assert_eq!(net.supply(), supply0 + (minted - minted0) - 100 * COIN);
}

#[test]
fn deposits_follow_the_initial_ratio_and_a_missed_deposit_is_refunded() {
    let mut net = net();
    // 25 % of 100 coins is the least first deposit.
    let low = net.tx(100, propose(ProposalContent::Text, 25 * COIN - 1));
    let ok = net.tx(100, propose(ProposalContent::Text, 25 * COIN));
    let cb = net.commit_block(vec![low, ok]);
    assert_eq!(cb.receipts[0].status, TxStatus::Failed);
    let err = cb.receipts[0].error.clone().unwrap();
    assert!(
        err.contains("initial deposit") && err.contains("25.00%"),
        "{err}"
    );
    let p = proposal(&net, 1);
    assert_eq!(p.status, ProposalStatus::DepositPeriod);
    // Votes wait for the voting period; deposits below 1 % of the minimum are refused.
    let v = net.tx(1, vote(1, VoteOption::Yes));
    let tiny = net.tx(
        101,
        TxKind::Deposit {
            proposal: 1,
            amount: COIN - 1,
        },
    );
    let more = net.tx(
        101,
        TxKind::Deposit {
            proposal: 1,
            amount: 10 * COIN,
        },
    );
    assert_eq!(
        net.block(vec![v, tiny, more]),
        [TxStatus::Failed, TxStatus::Failed, TxStatus::Success]
    );
    assert_eq!(proposal(&net, 1).total_deposit, 35 * COIN);
    let b100 = net.balance(&key(100).address());
    let b101 = net.balance(&key(101).address());
    let p = until_closed(&mut net, 1);
    assert_eq!(p.status, ProposalStatus::Rejected);
    assert!(p.result.contains("deposit period ended"), "{}", p.result);
    assert_eq!(net.balance(&key(100).address()), b100 + 25 * COIN);
    assert_eq!(net.balance(&key(101).address()), b101 + 10 * COIN);
    let deposits = net
        .chain
        .simulate(|ctx| gov(&net).deposits(ctx, 1))
        .unwrap();
    assert_eq!(deposits.len(), 2);
}

#[test]
fn a_second_deposit_starts_the_vote_and_cancel_burns_half() {
    let mut net = net();
    let t = net.tx(100, propose(ProposalContent::Text, 50 * COIN));
    assert_ok(net.block(vec![t]));
    let d = net.tx(
        101,
        TxKind::Deposit {
            proposal: 1,
            amount: 50 * COIN,
        },
    );
    assert_ok(net.block(vec![d]));
    assert_eq!(proposal(&net, 1).status, ProposalStatus::VotingPeriod);
    let burned0 = burned(&net);
    let b101 = net.balance(&key(101).address());
    let not_mine = net.tx(101, TxKind::CancelProposal { proposal: 1 });
    let mine = net.tx(100, TxKind::CancelProposal { proposal: 1 });
    assert_eq!(
        net.block(vec![not_mine, mine]),
        [TxStatus::Failed, TxStatus::Success]
    );
    let p = proposal(&net, 1);
    assert_eq!(p.status, ProposalStatus::Canceled);
    assert_eq!(burned(&net) - burned0, 50 * COIN);
    assert_eq!(net.balance(&key(101).address()), b101 - 7 + 25 * COIN);
    // Its end in the voting queue is gone: nothing happens to it later.
    net.blocks_until(net.height() + 12);
    assert_eq!(proposal(&net, 1).status, ProposalStatus::Canceled);
}

#[test]
fn an_expedited_proposal_below_its_threshold_falls_back_to_a_regular_vote() {
    let mut net = net();
    let t = net.tx(
        100,
        TxKind::Propose {
            title: "fast".into(),
            summary: String::new(),
            content: ProposalContent::Text,
            deposit: 200 * COIN,
            expedited: true,
        },
    );
    assert_ok(net.block(vec![t]));
    let p = proposal(&net, 1);
    assert_eq!(p.voting_end_ms - p.voting_start_ms, 5_000);
    // 60 % yes: over 50 %, under 66.7 %.
    let votes = vec![
        net.tx(1, vote(1, VoteOption::Yes)),
        net.tx(2, vote(1, VoteOption::Yes)),
        net.tx(
            3,
            TxKind::Vote {
                proposal: 1,
                options: vec![
                    WeightedVote {
                        option: VoteOption::Yes,
                        weight_ppm: 400_000,
                    },
                    WeightedVote {
                        option: VoteOption::No,
                        weight_ppm: 600_000,
                    },
                ],
            },
        ),
        net.tx(4, vote(1, VoteOption::No)),
    ];
    assert_ok(net.block(votes));
    net.blocks_until(net.height() + 6);
    let p = proposal(&net, 1);
    assert_eq!(p.status, ProposalStatus::VotingPeriod);
    assert!(!p.expedited);
    assert_eq!(p.voting_end_ms - p.voting_start_ms, 10_000);
    let p = until_closed(&mut net, 1);
    assert_eq!(p.status, ProposalStatus::Passed, "{}", p.result);
    let t = p.tally.unwrap();
    assert_eq!((t.yes, t.no), (24 * COIN, 16 * COIN));
}

#[test]
fn a_spend_pays_from_the_pool_and_one_beyond_it_fails_with_its_error() {
    let mut net = net();
    let to = key(103).address();
    let spend = |amount| ProposalContent::Spend {
        recipient: to,
        amount,
    };
    let a = net.tx(100, propose(spend(COIN / 100), 100 * COIN));
    let b = net.tx(101, propose(spend(1_000 * COIN), 100 * COIN));
    assert_ok(net.block(vec![a, b]));
    let votes = (1..=4)
        .flat_map(|i| [1, 2].map(|id| (i, id)))
        .map(|(i, id)| net.tx(i, vote(id, VoteOption::Yes)))
        .collect();
    assert_ok(net.block(votes));
    let before = net.balance(&to);
    let b101 = net.balance(&key(101).address());
    let a = until_closed(&mut net, 1);
    let b = until_closed(&mut net, 2);
    assert_eq!(a.status, ProposalStatus::Passed, "{}", a.result);
    assert_eq!(net.balance(&to), before + COIN / 100);
    assert_eq!(b.status, ProposalStatus::Failed);
    assert!(b.result.contains("community pool holds"), "{}", b.result);
    assert_eq!(
        net.balance(&key(101).address()),
        b101 + 100 * COIN,
        "refunded"
    );
}

#[test]
fn an_upgrade_stops_the_chain_at_its_height_until_skipped() {
    let mut net = net();
    let height = net.height() + 16;
    let up = ProposalContent::Upgrade {
        name: "v2".into(),
        height,
        info: "batara 0.2.0".into(),
    };
    let past = ProposalContent::Upgrade {
        name: "v0".into(),
        height: 1,
        info: String::new(),
    };
    let t = net.tx(100, propose(up, 100 * COIN));
    let bad = net.tx(100, propose(past, 100 * COIN));
    let cb = net.commit_block(vec![t, bad]);
    assert_eq!(cb.receipts[1].status, TxStatus::Failed);
    let votes = (1..=4)
        .map(|i| net.tx(i, vote(1, VoteOption::Yes)))
        .collect();
    assert_ok(net.block(votes));
    let p = until_closed(&mut net, 1);
    assert_eq!(p.status, ProposalStatus::Passed, "{}", p.result);
    assert_eq!(net.chain.upgrade_plan().unwrap().unwrap().height, height);
    net.blocks_until(height - 1);
    let err = net
        .chain
        .build_block(&[], validator(1), net.time + 1_000)
        .unwrap_err();
    assert!(matches!(err, ChainError::UpgradeNeeded { height: h, .. } if h == height));
    let msg = err.to_string();
    assert!(
        msg.contains("UPGRADE \"v2\" NEEDED at height") && msg.contains("batara 0.2.0"),
        "{msg}"
    );
    assert_eq!(net.chain.halted().unwrap().name, "v2");
    // Told to skip it (every node alike), the chain goes on and the plan is done.
    net.chain.skip_upgrades(&[height]);
    net.replica.skip_upgrades(&[height]);
    net.block(vec![]);
    assert_eq!(net.height(), height);
    assert!(net.chain.upgrade_plan().unwrap().is_none());
}

#[test]
fn parameter_changes_are_checked_by_their_owner_at_submission() {
    let mut net = net();
    let change = |params: &str, values: &str| {
        propose(
            ProposalContent::Params {
                changes: vec![ParamChange {
                    params: params.into(),
                    values: values.into(),
                }],
            },
            100 * COIN,
        )
    };
    let cases = [
        ("nope", r#"{"x":1}"#, "no parameters named \"nope\""),
        (
            "chain",
            r#"{"max_block_tx":1}"#,
            "unknown field `max_block_tx`",
        ),
        (
            "chain",
            r#"{"max_block_txs":0}"#,
            "block limits must be positive",
        ),
        (
            "staking",
            r#"{"min_self_stake":"6000000000000000000"}"#,
            "fixed at genesis",
        ),
        (
            "gov",
            r#"{"quorum_ppm":2000000}"#,
            "gov.quorum_ppm must be at most",
        ),
        ("vm", r#"{"max_recursion_depth":2048}"#, "fixed at genesis"),
        (
            "vm",
            r#"{"max_tx_gas":"2000000000"}"#,
            "must be between 1 and max_block_gas 1000000000",
        ),
        (
            "vm",
            r#"{"gas":{"per_bite":1}}"#,
            "unknown field `per_bite`",
        ),
    ];
    let txs = cases
        .iter()
        .map(|(p, v, _)| net.tx(100, change(p, v)))
        .collect();
    let cb = net.commit_block(txs);
    for ((_, _, want), r) in cases.iter().zip(cb.receipts.iter()) {
        assert_eq!(r.status, TxStatus::Failed);
        let e = r.error.as_deref().unwrap();
        assert!(e.contains(want), "{e} should say {want}");
    }
    // A good one goes through and changes governance itself (and nested fields merge).
    let t = net.tx(100, change("gov", r#"{"quorum_ppm":500000}"#));
    assert_ok(net.block(vec![t]));
    let votes = (1..=4)
        .map(|i| net.tx(i, vote(1, VoteOption::Yes)))
        .collect();
    assert_ok(net.block(votes));
    assert_eq!(until_closed(&mut net, 1).status, ProposalStatus::Passed);
    let p = gov(&net).params(net.chain.state()).unwrap();
    assert_eq!(p.quorum_ppm, 500_000);
    assert_eq!(p.min_deposit, 100 * COIN, "fields not named are kept");
}
