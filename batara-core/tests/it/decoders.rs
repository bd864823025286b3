//! Issue 10, part 6, the property tests that run in CI: every decoder an outsider reaches is fed
//! mutations of real encodings (the vectors in `tests/vectors/`, a real block with its commit,
//! real consensus and sync messages): flipped, overwritten, cut, grown and spliced bytes, and
//! length prefixes made huge. Nothing may panic or allocate without bound; what decodes
//! re-encodes to the same bytes where the encoding is canonical; and a JSON-RPC server fed
//! mutated requests answers each with a JSON-RPC response and keeps serving. The long
//! coverage-guided runs of the same decoders are `scripts/fuzz.sh` (cargo fuzz, `fuzz/`).

use batara_core::api::NodeApi;
use batara_core::consensus::bft::ConsensusMsg;
use batara_core::consensus::DevMode;
use batara_core::p2p::{Bytes, SyncRequest, SyncResponse};
use batara_core::types::{
    Block, Commit, DuplicateVoteEvidence, Proposal, SignedTransaction, Vote, VoteKind,
};
use serde_json::{json, Value};

use batara_core::bench::Rng;

use crate::common::{acct, dev_rpc, http_post, transfer};

/// Mutations per decoder and seed.
const RUNS: usize = 20_000;

/// One to four random edits of `seed`.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        let last = b.len().saturating_sub(1);
        match rng.below(6) {
            0 if !b.is_empty() => b[at.min(last)] ^= 1 << rng.below(8),
            1 if !b.is_empty() => b[at.min(last)] = rng.next() as u8,
            2 => b.truncate(at),
            3 => {
                let n = rng.below(16);
                let extra: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                b.splice(at..at, extra);
            }
            4 if b.len() >= at + 4 => {
                // A length prefix (borsh and most framings: u32 LE) made huge.
                b[at..at + 4].copy_from_slice(&(u32::MAX - rng.below(1_000) as u32).to_le_bytes());
            }
            _ => {
                let from = rng.below(b.len());
                let len = rng.below(b.len() - from + 1);
                let piece = b[from..from + len].to_vec();
                b.splice(at..at, piece);
            }
        }
    }
    b
}

/// Runs `check` on [`RUNS`] mutations of each seed, and on each seed itself.
fn fuzz(name: &str, seeds: &[Vec<u8>], mut check: impl FnMut(&[u8])) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    for seed in seeds {
        check(seed);
        for _ in 0..RUNS {
            check(&mutate(&mut rng, seed));
        }
    }
}

fn vector_txs() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("batara.json")).unwrap()).unwrap();
    doc["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let h = t["signed_bytes"].as_str().unwrap();
            hex::decode(h.strip_prefix("0x").unwrap_or(h)).unwrap()
        })
        .collect()
}

#[test]
fn transactions_and_gossip_batches() {
    let txs = vector_txs();
    fuzz("tx", &txs, |b| {
        if let Ok(tx) = SignedTransaction::from_bytes(b) {
            assert_eq!(
                tx.to_bytes(),
                b,
                "a decoded transaction re-encodes to its bytes"
            );
            let _ = tx.hash();
        }
    });
    let batch = borsh::to_vec(&txs).unwrap();
    fuzz("batch", &[batch], |b| {
        if let Ok(list) = borsh::from_slice::<Vec<Vec<u8>>>(b) {
            for t in list {
                let _ = SignedTransaction::from_bytes(&t);
            }
        }
    });
}

/// A real committed block with transactions, its commit, and consensus messages about it.
fn chain_seeds() -> (Vec<u8>, Vec<Vec<u8>>) {
    let (n, _) = dev_rpc(DevMode::Manual);
    let chain_id = n.chain_id().to_owned();
    for i in 0..3u64 {
        let t = transfer(&acct(0), &chain_id, i, acct(1).address(), 10, 1);
        n.submit(&t.to_bytes()).unwrap();
    }
    n.mine(1).unwrap();
    let block: Block = n.chain().block(1).unwrap().unwrap();
    let commit: Commit = n.chain().commit_at(1).unwrap().unwrap();
    let pair = borsh::to_vec(&(&block, &commit)).unwrap();
    let k = batara_core::app::genesis::dev_validator_key();
    let hash = block.hash();
    let vote = |b| Vote::new_signed(&k, &chain_id, VoteKind::Prevote, 2, 0, Some(b));
    let msgs = [
        ConsensusMsg::Proposal {
            proposal: Proposal::new_signed(&k, &chain_id, 1, 0, None, hash),
            block: Box::new(block.clone()),
        },
        ConsensusMsg::Vote(vote(hash)),
        ConsensusMsg::Evidence(DuplicateVoteEvidence::new(
            vote(hash),
            vote(commit.block_hash),
        )),
    ];
    n.stop();
    (
        pair,
        msgs.iter().map(|m| borsh::to_vec(m).unwrap()).collect(),
    )
}

#[test]
fn blocks_consensus_messages_and_sync_messages() {
    let (pair, msgs) = chain_seeds();
    fuzz("block", std::slice::from_ref(&pair), |b| {
        if let Ok((block, commit)) = borsh::from_slice::<(Block, Commit)>(b) {
            let _ = block.check_body();
            let _ = (block.hash(), commit.signatures.len());
            assert_eq!(borsh::to_vec(&(&block, &commit)).unwrap(), b);
        }
    });
    fuzz("consensus", &msgs, |b| {
        if let Ok(m) = borsh::from_slice::<ConsensusMsg>(b) {
            if let ConsensusMsg::Proposal { block, .. } = &m {
                let _ = block.check_body();
            }
            assert_eq!(borsh::to_vec(&m).unwrap(), b);
        }
    });
    let cbor = |v: &dyn erased::Encode| v.encode();
    let requests = [
        cbor(&SyncRequest::Status),
        cbor(&SyncRequest::Blocks { from: 7, max: 64 }),
    ];
    fuzz("sync request", &requests, |b| {
        let _ = cbor4ii::serde::from_slice::<SyncRequest>(b);
    });
    let responses = [
        cbor(&SyncResponse::Status {
            height: 9,
            hash: batara_core::crypto::sha256(b"x"),
        }),
        cbor(&SyncResponse::Blocks(vec![
            Bytes(pair.clone()),
            Bytes(pair),
        ])),
        cbor(&SyncResponse::Busy),
    ];
    fuzz("sync response", &responses, |b| {
        if let Ok(SyncResponse::Blocks(list)) = cbor4ii::serde::from_slice::<SyncResponse>(b) {
            for x in list {
                let _ = borsh::from_slice::<(Block, Commit)>(&x.0);
            }
        }
    });
}

mod erased {
    /// CBOR of a sync message (the request-response codec's encoding).
    pub trait Encode {
        fn encode(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Encode for T {
        fn encode(&self) -> Vec<u8> {
            cbor4ii::serde::to_vec(Vec::new(), self).unwrap()
        }
    }
}

#[test]
fn json_rpc_answers_every_mutated_request_and_keeps_serving() {
    let (n, addr) = dev_rpc(DevMode::Manual);
    let a = acct(0).address().to_string();
    let calls = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "state_getAccount", "params": [a]}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "chain_getBlock", "params": ["latest"]}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "state_getProof", "params": {"address": a, "height": 0}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tx_submit", "params": ["0x00"]}),
        json!([{"jsonrpc": "2.0", "id": 5, "method": "node_info", "params": []},
               {"jsonrpc": "2.0", "id": 6, "method": "chain_getTransaction", "params": ["0x00"]}]),
    ];
    let seeds: Vec<Vec<u8>> = calls
        .iter()
        .map(|c| serde_json::to_vec(c).unwrap())
        .collect();
    let mut rng = Rng(7);
    let mut answered = 0;
    for seed in &seeds {
        for _ in 0..300 {
            let body = mutate(&mut rng, seed);
            let (status, text) = http_post(addr, &body);
            assert!(
                status == 200 || (400..500).contains(&status),
                "HTTP {status} for {:?}",
                String::from_utf8_lossy(&body)
            );
            // A notification (an object without "id") gets no response (jsonrpsee: `null`).
            let notification = serde_json::from_slice::<Value>(&body)
                .is_ok_and(|v| v.is_object() && v.get("id").is_none());
            if status == 200 && !text.is_empty() && !(notification && text == "null") {
                let v: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
                let one = |v: &Value| {
                    v["jsonrpc"] == "2.0" && (v.get("result").is_some() || v.get("error").is_some())
                };
                assert!(
                    one(&v) || v.as_array().is_some_and(|a| a.iter().all(one)),
                    "not a JSON-RPC response: {text} to {:?}",
                    String::from_utf8_lossy(&body)
                );
            }
            answered += 1;
        }
    }
    assert_eq!(answered, seeds.len() * 300);
    assert_eq!(n.info().height, 0, "nothing mutated got in");
    let (status, text) = http_post(
        addr,
        br#"{"jsonrpc":"2.0","id":1,"method":"node_info","params":[]}"#,
    );
    assert_eq!(status, 200, "{text}");
}
