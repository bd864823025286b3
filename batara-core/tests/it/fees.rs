//! Fees and a mempool nobody can lock out, over real JSON-RPC: the issue-9 finding (unfunded keys
//! flooding fee-0 transfers until a funded sender was refused with `mempool full`) replayed
//! against a chain with a minimum fee and a small pool.

use batara_core::app::genesis::{self, Genesis};
use batara_core::consensus::DevMode;
use batara_core::crypto::Keypair;
use batara_core::node::{Node, NodeConfig, NodeOptions};
use serde_json::{json, Value};

use crate::common::{acct, rpc, rpc_err, transfer};

fn hex_tx(t: &batara_core::types::SignedTransaction) -> String {
    format!("0x{}", hex::encode(t.to_bytes()))
}

#[test]
fn junk_is_refused_and_a_full_pool_makes_room_for_a_higher_fee() {
    let validator = genesis::dev_validator_key();
    let mut g = Genesis::dev("fees-rpc", 8, validator.public_key(), 1);
    g.params.min_fee = 10;
    let mut config = NodeConfig::default();
    config.storage.ephemeral = true;
    config.consensus.mode = DevMode::Manual;
    config.mempool.max_txs = 100;
    config.rpc.addr = "127.0.0.1:0".parse().unwrap();
    let n = Node::start(NodeOptions {
        config,
        genesis: g,
        validator_key: Some(validator),
    })
    .unwrap();
    let addr = n.rpc_addr().unwrap();
    let submit_all = |txs: Vec<String>| -> Vec<Value> {
        rpc(addr, "tx_submitBatch", json!([txs]))
            .as_array()
            .unwrap()
            .clone()
    };
    let reasons = |res: &[Value]| -> Vec<String> {
        res.iter()
            .map(|r| r["reason"].as_str().unwrap_or("accepted").to_owned())
            .collect()
    };
    // Fresh, unfunded keys: fee 0 is below the minimum; at the minimum they cannot pay it — at
    // nonce 0 (which would have created their accounts for free) and at any later nonce.
    let junk: Vec<Keypair> = (0..20u8)
        .map(|i| Keypair::from_seed(&[0xA0 + i; 32]))
        .collect();
    let to = acct(9).address();
    for (fee, reason) in [(0, "fee_too_low"), (10, "insufficient_balance")] {
        let txs = junk
            .iter()
            .flat_map(|k| (0..5u64).map(move |nonce| (k, nonce)))
            .map(|(k, nonce)| hex_tx(&transfer(k, "fees-rpc", nonce, to, 0, fee)))
            .collect();
        let r = submit_all(txs);
        assert!(reasons(&r).iter().all(|x| x == reason), "{r:?}");
    }
    assert_eq!(rpc(addr, "node_info", json!([]))["mempool_txs"], 0);
    // Funded senders fill the pool at the minimum fee.
    let cheap: Vec<String> = (0..4u32)
        .flat_map(|i| {
            (0..25u64).map(move |nonce| hex_tx(&transfer(&acct(i), "fees-rpc", nonce, to, 1, 10)))
        })
        .collect();
    assert!(reasons(&submit_all(cheap)).iter().all(|x| x == "accepted"));
    // At the same fee an honest sender is refused, naming why; paying more, it gets in.
    let honest = acct(5);
    let e = rpc_err(
        addr,
        "tx_submit",
        json!([hex_tx(&transfer(&honest, "fees-rpc", 0, to, 1, 10))]),
    );
    assert_eq!(e["data"]["reason"], "pool_full", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("none paying less than fee 10"),
        "{e}"
    );
    let t = transfer(&honest, "fees-rpc", 0, to, 1, 11);
    rpc(addr, "tx_submit", json!([hex_tx(&t)]));
    assert_eq!(rpc(addr, "node_info", json!([]))["mempool_txs"], 100);
    // The evicted transaction was the last nonce of its sender; what remains is all includable.
    let mined = rpc(addr, "dev_mine", json!([1]));
    assert_eq!(mined[0]["txs"], 100);
    assert_eq!(
        rpc(addr, "chain_getTransaction", json!([t.hash()]))["receipt"]["status"],
        "success"
    );
    n.stop();
}
