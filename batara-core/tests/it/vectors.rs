//! Cross-language vectors: Wycheproof Ed25519 and Batara's own encodings.

use batara_core::crypto::{self, BatchItem, Keypair};
use batara_core::types::{
    Commit, Hash, Header, ParamChange, ProposalContent, PublicKey, Signature, SignedTransaction,
    TxBody, TxKind, VoteOption, WeightedVote,
};
use serde_json::{json, Value};

fn vectors_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s)).unwrap()
}

#[test]
fn wycheproof_single_and_batch_agree_with_every_case() {
    let text = std::fs::read_to_string(vectors_dir().join("wycheproof_ed25519_test.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut cases = Vec::new();
    for g in doc["testGroups"].as_array().unwrap() {
        let pk = unhex(g["publicKey"]["pk"].as_str().unwrap());
        for t in g["tests"].as_array().unwrap() {
            let expect = match t["result"].as_str().unwrap() {
                "valid" => true,
                "invalid" => false,
                other => panic!("unexpected result {other}"),
            };
            cases.push((
                t["tcId"].as_u64().unwrap(),
                pk.clone(),
                unhex(t["msg"].as_str().unwrap()),
                unhex(t["sig"].as_str().unwrap()),
                expect,
            ));
        }
    }
    assert_eq!(cases.len(), 151);
    // Cases whose key and signature have the right lengths go through batch verification too.
    let mut batchable = Vec::new();
    for (id, pk, msg, sig, expect) in &cases {
        let single = match (
            <[u8; 32]>::try_from(pk.as_slice()),
            <[u8; 64]>::try_from(sig.as_slice()),
        ) {
            (Ok(p), Ok(s)) => {
                batchable.push((*id, PublicKey(p), msg.clone(), Signature(s), *expect));
                crypto::verify(&PublicKey(p), msg, &Signature(s)).is_ok()
            }
            _ => false, // wrong length: not a signature at all
        };
        assert_eq!(single, *expect, "wycheproof case {id}");
    }
    let items: Vec<BatchItem> = batchable
        .iter()
        .map(|(_, pk, m, s, _)| BatchItem {
            public_key: pk,
            message: m,
            signature: s,
        })
        .collect();
    let batch = crypto::verify_batch(&items);
    for ((id, .., expect), r) in batchable.iter().zip(&batch) {
        assert_eq!(r.is_ok(), *expect, "batch, wycheproof case {id}");
    }
    // A batch of only the valid ones passes as a whole.
    let valid: Vec<BatchItem> = items
        .iter()
        .zip(&batchable)
        .filter(|(_, c)| c.4)
        .map(|(i, _)| *i)
        .collect();
    assert!(crypto::verify_batch(&valid).iter().all(|r| r.is_ok()));
}

/// RFC 8032 §7.1 test keys 1-3 (seed, public key, message, signature).
const RFC8032: [(&str, &str, &str, &str); 3] = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
];

fn key_of(seed_hex: &str) -> Keypair {
    Keypair::from_seed(&unhex(seed_hex).try_into().unwrap())
}

/// Everything the vector file pins, computed from its inputs.
fn compute() -> Value {
    let keys: Vec<Value> = RFC8032
        .iter()
        .map(|(seed, pk, msg, sig)| {
            let k = key_of(seed);
            assert_eq!(hex::encode(k.public_key().0), *pk, "RFC 8032 public key");
            assert_eq!(
                hex::encode(k.sign(&unhex(msg)).0),
                *sig,
                "RFC 8032 signature"
            );
            json!({
                "seed": format!("0x{seed}"),
                "public_key": k.public_key(),
                "address": k.address(),
                "address_bytes": format!("0x{}", hex::encode(k.address().0)),
                "message": format!("0x{msg}"),
                "signature": k.sign(&unhex(msg)),
            })
        })
        .collect();
    let k0 = key_of(RFC8032[0].0);
    let k1 = key_of(RFC8032[1].0);
    let bodies = vec![
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k0.public_key(),
            nonce: 0,
            fee: 0,
            kind: TxKind::Transfer {
                to: k1.address(),
                amount: 1,
            },
        },
        TxBody {
            chain_id: "batara-mainnet-1".into(),
            signer: k1.public_key(),
            nonce: 7,
            fee: 1_000_000_000_000_000,
            kind: TxKind::Transfer {
                to: k0.address(),
                amount: u128::MAX - 1,
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k0.public_key(),
            nonce: 1,
            fee: 10,
            kind: TxKind::Stake {
                validator_key: k1.public_key(),
                amount: 5_000_000_000_000_000_000,
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k0.public_key(),
            nonce: 2,
            fee: 10,
            kind: TxKind::Unstake {
                validator: k1.address(),
                amount: 1,
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k1.public_key(),
            nonce: 3,
            fee: 0,
            kind: TxKind::Unjail {
                validator: k1.address(),
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k0.public_key(),
            nonce: 4,
            fee: 10,
            kind: TxKind::Upload {
                code: b"\0asm\x01\0\0\0".to_vec(),
                gas_limit: 1_000_000,
                gas_price: 1_000_000,
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k0.public_key(),
            nonce: 5,
            fee: 10,
            kind: TxKind::Instantiate {
                code_hash: crypto::sha256(b"\0asm\x01\0\0\0"),
                args: br#"{"supply":"1000"}"#.to_vec(),
                salt: b"salt".to_vec(),
                value: 3,
                gas_limit: 2_000_000,
                gas_price: 1_000_000,
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k1.public_key(),
            nonce: 6,
            fee: 10,
            kind: TxKind::Call {
                contract: k0.address(),
                method: "transfer".into(),
                args: format!(r#"{{"to":"{}","amount":"5"}}"#, k1.address()).into_bytes(),
                value: 0,
                gas_limit: 300_000,
                gas_price: 1_000_000,
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k0.public_key(),
            nonce: 7,
            fee: 10,
            kind: TxKind::Delegate {
                validator: k1.address(),
                amount: 2_500_000_000_000_000_000,
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k0.public_key(),
            nonce: 8,
            fee: 10,
            kind: TxKind::Undelegate {
                validator: k1.address(),
                amount: 1_000,
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k0.public_key(),
            nonce: 9,
            fee: 10,
            kind: TxKind::Redelegate {
                src_validator: k1.address(),
                dst_validator: k0.address(),
                amount: 7,
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k0.public_key(),
            nonce: 10,
            fee: 0,
            kind: TxKind::WithdrawRewards { validator: None },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k0.public_key(),
            nonce: 11,
            fee: 0,
            kind: TxKind::WithdrawRewards {
                validator: Some(k1.address()),
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k1.public_key(),
            nonce: 12,
            fee: 10,
            kind: TxKind::EditCommission {
                validator: k1.address(),
                rate_ppm: 50_000,
                max_rate_ppm: 200_000,
                max_change_ppm: 10_000,
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k0.public_key(),
            nonce: 13,
            fee: 10,
            kind: TxKind::Propose {
                title: "bigger blocks".into(),
                summary: "raise the tx limit".into(),
                content: ProposalContent::Params {
                    changes: vec![ParamChange {
                        params: "chain".into(),
                        values: r#"{"max_block_txs":5000}"#.into(),
                    }],
                },
                deposit: 10_000,
                expedited: false,
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k0.public_key(),
            nonce: 14,
            fee: 0,
            kind: TxKind::Propose {
                title: "v2".into(),
                summary: String::new(),
                content: ProposalContent::Upgrade {
                    name: "v2".into(),
                    height: 1_000,
                    info: "batara 0.2.0".into(),
                },
                deposit: 50_000,
                expedited: true,
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k1.public_key(),
            nonce: 15,
            fee: 0,
            kind: TxKind::Propose {
                title: "fund".into(),
                summary: String::new(),
                content: ProposalContent::Spend {
                    recipient: k1.address(),
                    amount: 5,
                },
                deposit: 1,
                expedited: false,
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k1.public_key(),
            nonce: 16,
            fee: 1,
            kind: TxKind::Deposit {
                proposal: 1,
                amount: 99,
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k0.public_key(),
            nonce: 17,
            fee: 0,
            kind: TxKind::Vote {
                proposal: 1,
                options: vec![
                    WeightedVote {
                        option: VoteOption::Yes,
                        weight_ppm: 700_000,
                    },
                    WeightedVote {
                        option: VoteOption::Veto,
                        weight_ppm: 300_000,
                    },
                ],
            },
        },
        TxBody {
            chain_id: "batara-dev".into(),
            signer: k0.public_key(),
            nonce: 18,
            fee: 0,
            kind: TxKind::CancelProposal { proposal: 2 },
        },
    ];
    let seeds = [
        RFC8032[0].0,
        RFC8032[1].0,
        RFC8032[0].0,
        RFC8032[0].0,
        RFC8032[1].0,
        RFC8032[0].0,
        RFC8032[0].0,
        RFC8032[1].0,
        RFC8032[0].0,
        RFC8032[0].0,
        RFC8032[0].0,
        RFC8032[0].0,
        RFC8032[0].0,
        RFC8032[1].0,
        RFC8032[0].0,
        RFC8032[0].0,
        RFC8032[1].0,
        RFC8032[1].0,
        RFC8032[0].0,
        RFC8032[0].0,
    ];
    let txs: Vec<Value> = bodies
        .into_iter()
        .zip(seeds)
        .map(|(body, seed)| {
            let msg = body.signing_message();
            let signed = body.clone().sign(&key_of(seed));
            json!({
                "seed": format!("0x{seed}"),
                "body": body,
                "signing_message": format!("0x{}", hex::encode(&msg)),
                "signature": signed.signature,
                "signed_bytes": format!("0x{}", hex::encode(signed.to_bytes())),
                "hash": signed.hash(),
            })
        })
        .collect();
    let leaves: Vec<Hash> = (0u8..5).map(|i| crypto::sha256(&[i])).collect();
    let merkle: Vec<Value> = (0..=5)
        .map(|n| json!({ "leaves": &leaves[..n], "root": crypto::merkle_root(&leaves[..n]) }))
        .collect();
    let header = Header {
        chain_id: "batara-dev".into(),
        height: 1,
        time: 1_700_000_000_000,
        parent: crypto::sha256(b"parent"),
        proposer: k0.address(),
        txs_root: crypto::merkle_root(&leaves[..2]),
        state_root: crypto::sha256(b"state"),
        validator_set_hash: crypto::sha256(b"validators"),
        last_commit_hash: Hash::ZERO,
        evidence_root: crypto::merkle_root(&[]),
    };
    let commit_msg = Commit::sign_message("batara-dev", 1, 0, &header.hash());
    json!({
        "keys": keys,
        "transactions": txs,
        "merkle": merkle,
        "headers": [{
            "header": header,
            "borsh": format!("0x{}", hex::encode(borsh::to_vec(&header).unwrap())),
            "hash": header.hash(),
            "commit_sign_message": format!("0x{}", hex::encode(&commit_msg)),
            "commit_signature": k0.sign(&commit_msg),
        }],
    })
}

/// The vectors file `name` as stored, after checking it equals `computed` (with
/// `BATARA_WRITE_VECTORS` set, `computed` is written first).
fn stored_vectors(name: &str, computed: &Value) -> Value {
    let path = vectors_dir().join(name);
    if std::env::var_os("BATARA_WRITE_VECTORS").is_some() {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(computed).unwrap() + "\n",
        )
        .unwrap();
    }
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        &stored, computed,
        "tests/vectors/{name} differs from what the code computes"
    );
    stored
}

#[test]
fn batara_vectors_match_the_file() {
    let stored = stored_vectors("batara.json", &compute());
    // And the stored bytes decode back to the same transactions, with valid signatures.
    for t in stored["transactions"].as_array().unwrap() {
        let tx =
            SignedTransaction::from_bytes(&unhex(t["signed_bytes"].as_str().unwrap())).unwrap();
        assert!(tx.verify_signature().is_ok());
        assert_eq!(tx.hash().to_string(), t["hash"].as_str().unwrap());
        let kind: TxKind = serde_json::from_value(t["body"]["kind"].clone()).unwrap();
        assert_eq!(kind, tx.body.kind);
        if let TxKind::Transfer { to, .. } = kind {
            assert!(to.to_string().starts_with("bat1"));
        }
    }
}

/// The one table of error kinds (`api::ERROR_TABLE`): kind → JSON-RPC code → Python exception →
/// JS code → C result. Python, JS and C check their bindings against the same file.
#[test]
fn error_kinds_match_the_file() {
    let stored = stored_vectors(
        "errors.json",
        &json!({ "kinds": batara_core::api::ERROR_TABLE }),
    );
    // Each surface's name is unique to its kind, except the JSON-RPC codes that the standard
    // shares (-32603 internal for config, io and internal).
    let kinds = stored["kinds"].as_array().unwrap();
    for field in ["kind", "python", "js", "c"] {
        let mut seen: Vec<&Value> = kinds.iter().map(|k| &k[field]).collect();
        seen.sort_by_key(|v| v.to_string());
        seen.dedup();
        assert_eq!(seen.len(), kinds.len(), "{field} repeats");
    }
}
