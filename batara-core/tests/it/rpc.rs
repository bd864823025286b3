//! JSON-RPC over real loopback HTTP and WebSocket.

use batara_core::api::NodeApi;
use batara_core::consensus::DevMode;
use batara_core::rpc::{CODE_INVALID_PARAMS, CODE_NOT_FOUND, CODE_REJECTED};
use batara_core::state::{verify_account_proof, Account};
use batara_core::types::{Address, Hash, ParamChange, ProposalContent, TxBody, TxKind, VoteOption};
use jsonrpsee::rpc_params;
use serde_json::{json, Value};

use crate::common::{
    acct, dec, dev_rpc, http_announce, http_post, rpc, rpc_err, rpc_raw, subscribe_blocks,
    test_runtime, transfer, ws_client,
};

fn hex_tx(t: &batara_core::types::SignedTransaction) -> String {
    format!("0x{}", hex::encode(t.to_bytes()))
}

#[test]
fn reads_and_submit_over_http() {
    let (n, addr) = dev_rpc(DevMode::Manual);
    let info = rpc(addr, "node_info", json!([]));
    assert_eq!(info["chain_id"], "batara-dev");
    assert_eq!(info["height"], "0");
    let (a, b) = (acct(0), acct(1));
    let t = transfer(&a, "batara-dev", 0, b.address(), 9, 1);
    let hash: Hash = serde_json::from_value(rpc(addr, "tx_submit", json!([hex_tx(&t)]))).unwrap();
    assert_eq!(hash, t.hash());
    assert_eq!(rpc(addr, "tx_nextNonce", json!([a.address()])), "1");
    let mined = rpc(addr, "dev_mine", json!([1]));
    assert_eq!(mined[0]["txs"], 1);
    let tx = rpc(addr, "chain_getTransaction", json!([hash]));
    assert_eq!(tx["receipt"]["status"], "success");
    assert_eq!(tx["height"], "1");
    let blk = rpc(addr, "chain_getBlock", json!([]));
    assert_eq!(blk["txs"][0]["hash"], json!(hash));
    assert_eq!(
        rpc(addr, "chain_getBlock", json!(["1"]))["hash"],
        blk["hash"]
    );
    assert_eq!(
        rpc(addr, "chain_getBlock", json!({ "block": blk["hash"] }))["header"]["height"],
        "1"
    );
    assert_eq!(
        rpc(addr, "chain_getHeader", json!([1]))["hash"],
        blk["hash"]
    );
    let acc = rpc(addr, "state_getAccount", json!([b.address()]));
    assert_eq!(
        dec(&acc["balance"]),
        batara_core::app::genesis::DEV_BALANCE + 9
    );
    assert_eq!(acc["staked"], "0");
    let old = rpc(
        addr,
        "state_getAccount",
        json!({ "address": b.address(), "height": 0 }),
    );
    assert_eq!(dec(&old["balance"]), batara_core::app::genesis::DEV_BALANCE);
    // A proof from RPC verifies against the header from RPC.
    let p = rpc(addr, "state_getProof", json!([a.address()]));
    let header = rpc(addr, "chain_getHeader", json!([p["height"]]));
    let root: Hash = serde_json::from_value(header["header"]["state_root"].clone()).unwrap();
    let value: Account = serde_json::from_value(p["value"].clone()).unwrap();
    let proof = hex::decode(p["proof"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    verify_account_proof(&root, &a.address(), Some(&value), &proof).unwrap();
    let vals = rpc(addr, "staking_getValidators", json!([]));
    assert_eq!(vals.as_array().unwrap().len(), 1);
    assert_eq!(vals[0]["jailed"], false);
    // Receipts of a block, in block order, and accounts paged in address order.
    let receipts = rpc(addr, "chain_getBlockReceipts", json!([1]));
    assert_eq!(receipts[0]["tx_hash"], json!(hash));
    assert_eq!(receipts[0]["status"], "success");
    let page = rpc(addr, "state_getAccounts", json!({ "limit": 4 }));
    assert_eq!(page["accounts"].as_array().unwrap().len(), 4);
    let rest = rpc(addr, "state_getAccounts", json!([page["next"], 1000]));
    assert!(rest["next"].is_null());
    let mut seen: Vec<String> = page["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["accounts"].as_array().unwrap())
        .map(|a| a["address"].as_str().unwrap().to_owned())
        .collect();
    // The 10 dev accounts (the fee accrued to the validator's delegators, not to an account).
    assert_eq!(seen.len(), 10);
    let sorted = {
        let mut v: Vec<Address> = seen.iter().map(|a| a.parse().unwrap()).collect();
        v.sort();
        v.dedup();
        v.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    seen.dedup();
    assert_eq!(seen, sorted, "pages are in address order without repeats");
    assert_eq!(
        rpc_err(addr, "state_getAccounts", json!([null, 0]))["code"],
        CODE_INVALID_PARAMS
    );
    // Many balances in one call, in the order asked; an address with no account holds 0.
    let nobody = Address([7; 20]);
    let balances = rpc(
        addr,
        "state_getBalances",
        json!([[a.address(), b.address(), nobody]]),
    );
    let one = |x: Address| rpc(addr, "state_getAccount", json!([x]))["balance"].clone();
    assert_eq!(balances, json!([one(a.address()), one(b.address()), "0"]));
    assert_ne!(balances[0], balances[1], "two different balances");
    let e = rpc_err(addr, "state_getBalances", json!([vec![nobody; 10_001]]));
    assert_eq!(e["code"], CODE_INVALID_PARAMS, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("at most 10000 addresses"),
        "{e}"
    );
    assert_eq!(
        rpc_err(addr, "chain_getBlockReceipts", json!([99]))["code"],
        CODE_NOT_FOUND
    );
    // Delegation reads: an unknown validator, a bad page size and a malformed address.
    assert_eq!(
        rpc_err(addr, "staking_getDelegators", json!([a.address()]))["code"],
        CODE_NOT_FOUND
    );
    let val = rpc(addr, "staking_getValidators", json!([]))[0]["address"].clone();
    assert_eq!(
        rpc_err(addr, "staking_getDelegators", json!([val, null, 0]))["code"],
        CODE_INVALID_PARAMS
    );
    assert_eq!(
        rpc_err(addr, "staking_getDelegations", json!(["bat1nope"]))["code"],
        CODE_INVALID_PARAMS
    );
    let own = rpc(addr, "staking_getDelegators", json!({ "validator": val }));
    assert_eq!(
        own["delegations"][0]["delegator"], val,
        "its own self-delegation"
    );
    assert!(own["next"].is_null());
    // Batch submit answers per transaction.
    let batch = rpc(
        addr,
        "tx_submitBatch",
        json!([[
            hex_tx(&transfer(&a, "batara-dev", 1, b.address(), 1, 0)),
            "0x00"
        ]]),
    );
    assert!(batch[0]["hash"].is_string());
    assert_eq!(batch[1]["reason"], "malformed");
    n.stop();
}

#[test]
fn bad_input_gets_documented_codes_and_the_node_keeps_answering() {
    let (n, addr) = dev_rpc(DevMode::Auto);
    // Malformed JSON.
    let (_, body) = http_post(addr, b"{\"jsonrpc\": \"2.0\", \"method\": ");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], -32700);
    // Not a request object.
    let (_, body) = http_post(addr, b"[1]");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v[0]["error"]["code"], -32600, "{v}");
    // Unknown method.
    assert_eq!(rpc_err(addr, "chain_nope", json!([]))["code"], -32601);
    // Evidence: malformed is bad params; a dev node takes none.
    let e = rpc_err(addr, "evidence_submit", json!([{"vote_a": 1}]));
    assert_eq!(e["code"], CODE_INVALID_PARAMS, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("vote_a, vote_b"),
        "{e}"
    );
    // Backups over JSON-RPC are off without backup_dir, and say which setting turns them on.
    let e = rpc_err(addr, "node_backup", json!([]));
    assert_eq!(e["code"], CODE_INVALID_PARAMS, "{e}");
    assert!(e["message"].as_str().unwrap().contains("backup_dir"), "{e}");
    // Wrong parameter types and values.
    let e = rpc_err(addr, "state_getAccount", json!([12]));
    assert_eq!(e["code"], CODE_INVALID_PARAMS);
    assert!(e["message"].as_str().unwrap().contains("address"), "{e}");
    let e = rpc_err(addr, "state_getAccount", json!(["bat1notanaddress"]));
    assert_eq!(e["code"], CODE_INVALID_PARAMS);
    assert_eq!(
        rpc_err(addr, "chain_getBlock", json!([-1]))["code"],
        CODE_INVALID_PARAMS
    );
    assert_eq!(
        rpc_err(addr, "chain_getBlock", json!(["0x12"]))["code"],
        CODE_INVALID_PARAMS
    );
    assert_eq!(
        rpc_err(addr, "tx_submit", json!(["zz"]))["code"],
        CODE_INVALID_PARAMS
    );
    assert_eq!(
        rpc_err(addr, "tx_submit", json!([]))["code"],
        CODE_INVALID_PARAMS
    );
    assert_eq!(
        rpc_err(addr, "node_info", json!({ "surprise": 1 }))["code"],
        CODE_INVALID_PARAMS
    );
    // Not found.
    assert_eq!(
        rpc_err(addr, "chain_getBlock", json!([999]))["code"],
        CODE_NOT_FOUND
    );
    let zero = Hash([0; 32]);
    assert_eq!(
        rpc_err(addr, "chain_getTransaction", json!([zero]))["code"],
        CODE_NOT_FOUND
    );
    // Garbage transaction bytes.
    let e = rpc_err(addr, "tx_submit", json!(["0xdeadbeef"]));
    assert_eq!(
        (e["code"].clone(), e["data"]["reason"].clone()),
        (json!(CODE_REJECTED), json!("malformed"))
    );
    // Another chain's transaction.
    let other = transfer(&acct(0), "other-chain", 0, acct(1).address(), 1, 0);
    let e = rpc_err(addr, "tx_submit", json!([hex_tx(&other)]));
    assert_eq!(e["data"]["reason"], "wrong_chain_id");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("expected batara-dev, got other-chain"));
    // A replayed transaction.
    let t = transfer(&acct(0), "batara-dev", 0, acct(1).address(), 1, 0);
    let h: Hash = serde_json::from_value(rpc(addr, "tx_submit", json!([hex_tx(&t)]))).unwrap();
    n.wait_for_tx(&h, std::time::Duration::from_secs(10))
        .unwrap();
    let e = rpc_err(addr, "tx_submit", json!([hex_tx(&t)]));
    assert_eq!(e["data"]["reason"], "nonce_too_low");
    assert_eq!(
        e["message"],
        "transaction rejected: nonce too low: expected 1, got 0"
    );
    // Oversized body (default limit 4 MiB): refused on its announced length.
    let (status, body) = http_announce(addr, 5 << 20);
    assert_eq!(status, 413, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], -32007);
    // Still answering.
    assert_eq!(rpc(addr, "node_info", json!([]))["chain_id"], "batara-dev");
    n.stop();
    // Stopped node: the port is closed.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn websocket_block_subscription() {
    let (n, addr) = dev_rpc(DevMode::Manual);
    test_runtime().block_on(async {
        let client = ws_client(addr).await;
        let mut sub = subscribe_blocks(&client).await.unwrap();
        // Calls over the same WebSocket work too.
        let info: Value =
            jsonrpsee::core::client::ClientT::request(&client, "node_info", rpc_params![])
                .await
                .unwrap();
        assert_eq!(info["height"], "0");
        let to: Address = acct(1).address();
        n.transfer(&acct(0), to, 5, 0, false).unwrap();
        let nn = n.clone();
        tokio::task::spawn_blocking(move || nn.mine(2).unwrap())
            .await
            .unwrap();
        let b1 = tokio::time::timeout(std::time::Duration::from_secs(10), sub.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let b2 = tokio::time::timeout(std::time::Duration::from_secs(10), sub.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(b1["header"]["height"], "1");
        assert_eq!(b1["txs"].as_array().unwrap().len(), 1);
        assert_eq!(b2["header"]["height"], "2");
        assert_eq!(b2["header"]["parent"], b1["hash"]);
        sub.unsubscribe().await.unwrap();
    });
    // HTTP keeps working after the WebSocket client left.
    assert_eq!(
        rpc_raw(addr, "node_info", json!([]))["result"]["height"],
        "2"
    );
}

/// Transactions at far nonces (never includable until the gap fills) cannot fill the pool: past
/// `max_future_per_sender` a sender's are refused with `future_full`, over JSON-RPC as the finding
/// was seen; a gap-free sender is unaffected.
#[test]
fn far_nonce_junk_is_bounded_per_sender() {
    let (_n, addr) = dev_rpc(DevMode::Manual);
    let (a, b) = (acct(0), acct(1));
    let txs: Vec<String> = (1..=100u64)
        .map(|nonce| hex_tx(&transfer(&a, "batara-dev", nonce, b.address(), 0, 0)))
        .collect();
    let res = rpc(addr, "tx_submitBatch", json!([txs]));
    let res = res.as_array().unwrap();
    let accepted = res.iter().filter(|r| r.get("hash").is_some()).count();
    assert_eq!(accepted, 64, "{res:?}");
    assert!(
        res[64..].iter().all(|r| r["reason"] == "future_full"),
        "{:?}",
        &res[64..]
    );
    let e = rpc_err(
        addr,
        "tx_submit",
        json!([hex_tx(&transfer(&a, "batara-dev", 200, b.address(), 0, 0))]),
    );
    assert_eq!(e["code"], CODE_REJECTED);
    assert_eq!(e["data"]["reason"], "future_full");
    // Another sender with no gap is not limited; the junk stays pending, not included.
    for nonce in 0..100u64 {
        rpc(
            addr,
            "tx_submit",
            json!([hex_tx(&transfer(
                &b,
                "batara-dev",
                nonce,
                a.address(),
                1,
                1
            ))]),
        );
    }
    let mined = rpc(addr, "dev_mine", json!([1]));
    assert_eq!(mined[0]["txs"], 100);
}

const COIN: u128 = 1_000_000_000_000_000_000;

/// Signs `kind` by `k` at `nonce` with fee 1, submits it over HTTP and mines it; it must succeed.
fn mined(addr: std::net::SocketAddr, k: &batara_core::crypto::Keypair, nonce: u64, kind: TxKind) {
    let t = TxBody {
        chain_id: "batara-dev".into(),
        signer: k.public_key(),
        nonce,
        fee: 1,
        kind,
    }
    .sign(k);
    rpc(addr, "tx_submit", json!([hex_tx(&t)]));
    rpc(addr, "dev_mine", json!([1]));
    let r = rpc(addr, "chain_getTransaction", json!([t.hash()]));
    assert_eq!(r["receipt"]["status"], "success", "{r}");
}

/// On a fresh manual dev chain: dev account 1 bonds 3 coins beside the dev validator's 1,
/// account 0 proposes `content` (proposal 1) and account 1 votes yes: 75 % of the stake.
fn open_vote(addr: std::net::SocketAddr, content: ProposalContent) {
    let (a, b) = (acct(0), acct(1));
    let validator = batara_core::app::genesis::dev_validator_key().address();
    let delegate = TxKind::Delegate {
        validator,
        amount: 3 * COIN,
    };
    mined(addr, &b, 0, delegate);
    let propose = TxKind::Propose {
        title: "a proposal".into(),
        summary: String::new(),
        content,
        deposit: 10 * COIN,
        expedited: false,
    };
    mined(addr, &a, 0, propose);
    mined(addr, &b, 1, crate::gov::vote(1, VoteOption::Yes));
}

/// Ends proposal 1's vote in the next block (`dev_skipTo`) and mines it.
fn end_vote(addr: std::net::SocketAddr) {
    rpc(addr, "dev_skipTo", json!([{ "voting_end": "1" }]));
    rpc(addr, "dev_mine", json!([1]));
}

/// The block subscription carries each block's own events: the end of a vote (reached with
/// `dev_skipTo`) arrives as `proposal_status` events in the notification of the block that
/// ends it.
#[test]
fn block_subscription_carries_proposal_status_events() {
    let (_n, addr) = dev_rpc(DevMode::Manual);
    open_vote(addr, ProposalContent::Text);
    test_runtime().block_on(async {
        let client = ws_client(addr).await;
        let mut sub = subscribe_blocks(&client).await.unwrap();
        tokio::task::spawn_blocking(move || end_vote(addr))
            .await
            .unwrap();
        let block = tokio::time::timeout(std::time::Duration::from_secs(10), sub.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let statuses: Vec<&Value> = block["events"]
            .as_array()
            .unwrap_or_else(|| panic!("no events in {block}"))
            .iter()
            .filter(|e| e["kind"] == "proposal_status")
            .collect();
        assert_eq!(statuses.len(), 1, "{block}");
        let attrs = &statuses[0]["attributes"];
        assert!(
            attrs
                .as_array()
                .unwrap()
                .contains(&json!(["status", "passed"])),
            "{attrs}"
        );
        assert_eq!(
            block["txs"].as_array().unwrap().len(),
            0,
            "ended by the block"
        );
    });
}

/// A passed proposal that raises the chain's `min_fee` moves the mempool's floor at once:
/// cheaper transactions are refused at the door with the new minimum (not left to rot in the
/// pool), and `node_info` shows it; a dev revert puts the floor back.
#[test]
fn a_governed_min_fee_moves_the_mempools_floor() {
    let (_n, addr) = dev_rpc(DevMode::Manual);
    let change = ProposalContent::Params {
        changes: vec![ParamChange {
            params: "chain".into(),
            values: r#"{"min_fee":"5"}"#.into(),
        }],
    };
    open_vote(addr, change);
    let cheap = transfer(&acct(2), "batara-dev", 0, acct(3).address(), 1, 4);
    let snap = rpc(addr, "dev_snapshot", json!([]));
    end_vote(addr);
    assert_eq!(rpc(addr, "node_info", json!([]))["min_fee"], "5");
    let e = rpc_err(addr, "tx_submit", json!([hex_tx(&cheap)]));
    assert_eq!(e["code"], CODE_REJECTED, "{e}");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("the minimum is 5, got 4"), "{msg}");
    let paid = transfer(&acct(2), "batara-dev", 0, acct(3).address(), 1, 5);
    rpc(addr, "tx_submit", json!([hex_tx(&paid)]));
    // Reverting to before the vote ended puts the pool back on the genesis minimum (0).
    rpc(addr, "dev_revert", json!([snap]));
    assert_eq!(rpc(addr, "node_info", json!([]))["min_fee"], "0");
    rpc(addr, "tx_submit", json!([hex_tx(&cheap)]));
}
