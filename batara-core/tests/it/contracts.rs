//! Contracts on a chain driven block by block (RocksDB in temp dirs): WAT contracts are uploaded,
//! instantiated and called; every block is imported into a replica that must reach the same state
//! root. Covers gas and fees, events, return data, storage proofs, queries and estimates,
//! cross-contract calls (value, caught failures, reentrancy, depth), and the bad contracts of
//! issue 11: each ends in a failed receipt or a rejected upload naming the cause, and the chain
//! goes on.

use std::sync::Arc;

use batara_core::app::genesis::{Genesis, GenesisAccount, GenesisValidator};
use batara_core::app::open_chain;
use batara_core::crypto::Keypair;
use batara_core::mempool::PoolTx;
use batara_core::modules::vm::{
    contract_address, deposit_account, CallError, Query, VmModule, VmParams, VmReader,
};
use batara_core::runtime::Chain;
use batara_core::state::verify_object_proof;
use batara_core::storage::RocksStore;
use batara_core::types::{Address, Amount, Hash, Receipt, TxBody, TxKind, TxStatus};
use batara_core::validator::LocalSigner;

use crate::common;

const COIN: Amount = 1_000_000_000_000_000_000;
const CHAIN: &str = "vm-test";
const FEE: Amount = 7;
const PRICE: Amount = 3;
const GAS: u64 = 5_000_000;

fn key(i: u8) -> Keypair {
    Keypair::from_seed(&[i; 32])
}

struct Net {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    chain: Arc<Chain>,
    replica: Chain,
    validator: LocalSigner,
    nonce: u64,
    time: u64,
}

impl Net {
    fn new(vm: VmParams) -> Self {
        Self::with(|g| g.params.vm = vm)
    }

    fn with(configure: impl FnOnce(&mut Genesis)) -> Self {
        let mut g = Genesis {
            chain_id: CHAIN.into(),
            genesis_time: 1_000,
            params: Default::default(),
            accounts: vec![
                GenesisAccount {
                    address: key(100).address(),
                    balance: 1_000 * COIN,
                },
                GenesisAccount {
                    address: key(101).address(),
                    balance: 1_000 * COIN,
                },
            ],
            validators: vec![GenesisValidator {
                pubkey: key(1).public_key(),
                power: 10,
                name: "v1".into(),
            }],
            dev: false,
        };
        g.params.min_gas_price = 1;
        configure(&mut g);
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
        Self {
            _dirs: dirs,
            chain,
            replica,
            validator: LocalSigner(key(1)),
            nonce: 0,
            time: 1_000,
        }
    }

    fn vm(&self) -> &VmModule {
        self.chain.registry().module::<VmModule>().unwrap()
    }

    /// One block with `kinds` signed by account 100; every one must be includable.
    fn block(&mut self, kinds: Vec<TxKind>) -> Vec<Receipt> {
        let k = key(100);
        let cands: Vec<Arc<PoolTx>> = kinds
            .into_iter()
            .map(|kind| {
                let t = TxBody {
                    chain_id: CHAIN.into(),
                    signer: k.public_key(),
                    nonce: self.nonce,
                    fee: FEE,
                    kind,
                }
                .sign(&k);
                self.nonce += 1;
                let len = t.to_bytes().len();
                Arc::new(PoolTx::new(t.clone(), t.hash(), len, self.chain.registry()).unwrap())
            })
            .collect();
        self.time += 1_000;
        let (ex, left_out) = self
            .chain
            .build_block(&cands, self.validator.0.address(), self.time)
            .unwrap();
        assert!(left_out.is_empty(), "every test tx is includable");
        let block = ex.block.clone();
        let commit = self.chain.sign_commit(&ex, &self.validator);
        let cb = self.chain.commit(ex, commit.clone()).unwrap();
        let replayed = self.replica.import(&block, commit).unwrap();
        assert_eq!(replayed.block.header.state_root, block.header.state_root);
        cb.receipts.to_vec()
    }

    fn one(&mut self, kind: TxKind) -> Receipt {
        self.block(vec![kind]).pop().unwrap()
    }

    fn balance(&self, a: &Address) -> Amount {
        self.chain.state().account(a).unwrap().balance
    }

    /// Uploads `wat`; returns its code hash.
    fn upload(&mut self, wat: &str) -> Hash {
        let code = wat::parse_str(wat).unwrap();
        let r = self.one(upload(code.clone()));
        assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
        batara_core::crypto::sha256(&code)
    }

    /// Instantiates `code` with `args` and salt `salt`; returns the contract's address.
    fn instantiate(&mut self, code: Hash, args: &[u8], salt: &[u8]) -> Address {
        let r = self.one(instantiate(code, args, salt, 0));
        assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
        contract_address(&key(100).address(), &code, salt)
    }

    fn query(&self, contract: &Address, method: &str, args: &[u8]) -> Result<Vec<u8>, CallError> {
        let vm = self.vm();
        self.chain
            .simulate(|ctx| {
                let q = Query {
                    caller: key(100).address(),
                    contract: *contract,
                    method,
                    args,
                    gas: GAS,
                };
                vm.query(ctx, CHAIN, &q)
            })
            .unwrap()
            .result
    }
}

pub fn upload(code: Vec<u8>) -> TxKind {
    TxKind::Upload {
        code,
        gas_limit: GAS,
        gas_price: PRICE,
    }
}

pub fn instantiate(code_hash: Hash, args: &[u8], salt: &[u8], value: Amount) -> TxKind {
    TxKind::Instantiate {
        code_hash,
        args: args.to_vec(),
        salt: salt.to_vec(),
        value,
        gas_limit: GAS,
        gas_price: PRICE,
    }
}

pub fn call(contract: Address, method: &str, args: &[u8], value: Amount, gas_limit: u64) -> TxKind {
    TxKind::Call {
        contract,
        method: method.into(),
        args: args.to_vec(),
        value,
        gas_limit,
        gas_price: PRICE,
    }
}

/// A counter: `init` takes an optional 8-byte start value; `increment` adds one and emits
/// `counted` with the new value; `get` returns it; `fail` writes 999 and reverts with "nope";
/// `pay` sends 5 units of its balance to the 20-byte address it is given.
pub const COUNTER: &str = r#"(module
  (import "env" "input_len" (func $input_len (result i32)))
  (import "env" "input_read" (func $input_read (param i32)))
  (import "env" "storage_get" (func $get (param i32 i32 i32 i32) (result i32)))
  (import "env" "storage_set" (func $set (param i32 i32 i32 i32)))
  (import "env" "return_data" (func $ret (param i32 i32)))
  (import "env" "emit" (func $emit (param i32 i32 i32 i32)))
  (import "env" "revert" (func $revert (param i32 i32)))
  (import "env" "transfer" (func $transfer (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "n")
  (data (i32.const 16) "\07counted")
  (data (i32.const 48) "nope")
  (data (i32.const 64) "\05")
  (func $load (result i64)
    (if (i32.eq (call $get (i32.const 0) (i32.const 1) (i32.const 32) (i32.const 8)) (i32.const -1))
      (then (return (i64.const 0))))
    (i64.load (i32.const 32)))
  (func $store (param i64)
    (i64.store (i32.const 32) (local.get 0))
    (call $set (i32.const 0) (i32.const 1) (i32.const 32) (i32.const 8)))
  (func (export "init")
    (if (i32.eq (call $input_len) (i32.const 8))
      (then (call $input_read (i32.const 40)) (call $store (i64.load (i32.const 40))))))
  (func (export "increment")
    (call $store (i64.add (call $load) (i64.const 1)))
    (call $emit (i32.const 16) (i32.const 8) (i32.const 32) (i32.const 8)))
  (func (export "get")
    (i64.store (i32.const 32) (call $load))
    (call $ret (i32.const 32) (i32.const 8)))
  (func (export "fail")
    (call $store (i64.const 999))
    (call $revert (i32.const 48) (i32.const 4)))
  (func (export "echo")
    (call $input_read (i32.const 2000))
    (call $ret (i32.const 2000) (call $input_len)))
  (func (export "pay")
    (call $input_read (i32.const 100))
    (if (call $transfer (i32.const 100) (i32.const 64)) (then unreachable))))"#;

/// Calls a counter (its address is the input): `bump` calls `increment` and reverts with the
/// callee's error if it fails; `bump_catch` calls `fail` and returns the callee's revert data
/// without failing; `bump_self` calls itself; `bump_value` forwards 9 units with the call.
const ROUTER: &str = r#"(module
  (import "env" "input_read" (func $input_read (param i32)))
  (import "env" "call" (func $call (param i32 i32 i32 i32 i32 i32 i64) (result i32)))
  (import "env" "result_len" (func $result_len (result i32)))
  (import "env" "result_read" (func $result_read (param i32)))
  (import "env" "return_data" (func $ret (param i32 i32)))
  (import "env" "revert" (func $revert (param i32 i32)))
  (import "env" "self_address" (func $self (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 200) "increment")
  (data (i32.const 220) "fail")
  (data (i32.const 230) "bump_self")
  (data (i32.const 300) "\09")
  (func $forward (param $code i32)
    (if (local.get $code) (then
      (call $result_read (i32.const 1000))
      (call $revert (i32.const 1000) (call $result_len)))))
  (func (export "bump")
    (call $input_read (i32.const 0))
    (call $forward (call $call (i32.const 0) (i32.const 200) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 100) (i64.const 0))))
  (func (export "bump_value")
    (call $input_read (i32.const 0))
    (call $forward (call $call (i32.const 0) (i32.const 200) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 300) (i64.const 0))))
  (func (export "bump_catch")
    (call $input_read (i32.const 0))
    (drop (call $call (i32.const 0) (i32.const 220) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 100) (i64.const 0)))
    (call $result_read (i32.const 1000))
    (call $ret (i32.const 1000) (call $result_len)))
  (func (export "bump_self")
    (call $self (i32.const 0))
    (call $forward (call $call (i32.const 0) (i32.const 230) (i32.const 9) (i32.const 0) (i32.const 0) (i32.const 100) (i64.const 0)))))"#;

fn u64_of(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().unwrap())
}

#[test]
fn a_counter_is_uploaded_instantiated_called_and_queried_with_gas_paid_and_state_proven() {
    let mut net = Net::new(VmParams::default());
    let me = key(100).address();
    let before = net.balance(&me);
    let code = wat::parse_str(COUNTER).unwrap();
    let r = net.one(upload(code.clone()));
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    let hash = batara_core::crypto::sha256(&code);
    assert_eq!(r.output, hash.0.to_vec());
    let p = VmParams::default();
    let deposit = code.len() as Amount * p.code_deposit_per_byte;
    assert_eq!(
        r.gas_used,
        p.gas.upload + code.len() as u64 * p.gas.upload_per_byte
    );
    assert_eq!(
        r.fee,
        FEE + r.gas_used as Amount * PRICE,
        "unused gas is refunded"
    );
    assert_eq!(net.balance(&me), before - r.fee - deposit);
    assert_eq!(net.balance(&deposit_account()), deposit);
    let (info, wasm) = VmReader(net.chain.state()).code(&hash).unwrap().unwrap();
    assert_eq!(
        (info.uploader, info.size, info.deposit),
        (me, code.len() as u32, deposit)
    );
    assert_eq!(wasm, code);

    // Uploading the same code again stores nothing and charges no deposit.
    let before = net.balance(&me);
    let r = net.one(upload(code.clone()));
    assert_eq!(r.status, TxStatus::Success);
    assert_eq!(net.balance(&me), before - r.fee);

    let counter = net.instantiate(hash, &41u64.to_le_bytes(), b"a");
    let ci = VmReader(net.chain.state())
        .contract(&counter, None)
        .unwrap()
        .unwrap();
    assert_eq!((ci.code_hash, ci.creator), (hash, me));
    assert_eq!(u64_of(&net.query(&counter, "get", &[]).unwrap()), 41);

    let r = net.one(call(counter, "increment", &[], 0, GAS));
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    assert!(r.gas_used > 0 && r.gas_used < GAS);
    let ev = r.events.iter().find(|e| e.kind == "contract").unwrap();
    let attr = |k: &str| {
        ev.attributes
            .iter()
            .find(|(a, _)| a == k)
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(attr("contract"), counter.to_string());
    assert_eq!(attr("topic0"), "counted");
    assert_eq!(
        attr("data"),
        format!("0x{}", hex::encode(42u64.to_le_bytes()))
    );
    let r = net.one(call(counter, "get", &[], 0, GAS));
    assert_eq!(u64_of(&r.output), 42);

    // A query writes nothing: increment in a query leaves the stored value alone.
    net.query(&counter, "increment", &[]).unwrap();
    assert_eq!(u64_of(&net.query(&counter, "get", &[]).unwrap()), 42);

    // The storage slot is in the state tree, proven against the header's state root.
    let h = net.chain.head().header.height;
    let proof = VmReader(net.chain.state())
        .storage(&counter, b"n", h)
        .unwrap();
    assert_eq!(proof.value.as_deref(), Some(&42u64.to_le_bytes()[..]));
    assert_eq!(proof.state_root, net.chain.head().header.state_root);
    verify_object_proof(
        &proof.state_root,
        &proof.key,
        proof.value.as_deref(),
        &proof.proof,
    )
    .unwrap();
    assert!(
        verify_object_proof(&proof.state_root, &proof.key, Some(&[0; 8]), &proof.proof).is_err()
    );

    // An estimate is what the call then uses.
    let vm = net.vm();
    let (est, err) = net
        .chain
        .simulate(|ctx| vm.estimate(ctx, CHAIN, me, &call(counter, "increment", &[], 0, 1), None))
        .unwrap();
    assert_eq!(err, None);
    let r = net.one(call(counter, "increment", &[], 0, est));
    assert_eq!((r.status, r.gas_used), (TxStatus::Success, est));
    let r = net.one(call(counter, "increment", &[], 0, est - 1));
    assert_eq!(r.status, TxStatus::Failed);
    assert_eq!(
        r.error.as_deref(),
        Some(format!("contract {counter}: out of gas").as_str())
    );
    assert_eq!(
        r.fee,
        FEE + (est - 1) as Amount * PRICE,
        "out of gas pays the whole limit"
    );
    assert_eq!(u64_of(&net.query(&counter, "get", &[]).unwrap()), 43);

    // A revert undoes the write and carries its data; a missing method and init are refused.
    let r = net.one(call(counter, "fail", &[], 0, GAS));
    assert_eq!(
        r.error.as_deref(),
        Some(format!("contract {counter}: reverted: nope").as_str())
    );
    assert_eq!(u64_of(&net.query(&counter, "get", &[]).unwrap()), 43);
    let r = net.one(call(counter, "missing", &[], 0, GAS));
    assert!(r.error.unwrap().contains("has no method \"missing\""));
    let r = net.one(call(counter, "init", &[], 0, GAS));
    assert!(r.error.unwrap().contains("init runs once"));

    // The same salt cannot make the same address twice; another salt can.
    let r = net.one(instantiate(hash, &[], b"a", 0));
    assert!(r.error.unwrap().contains("already exists"));
    let other = net.instantiate(hash, &[], b"b");
    assert_ne!(other, counter);
    assert_eq!(u64_of(&net.query(&other, "get", &[]).unwrap()), 0);
}

#[test]
fn cross_contract_calls_move_value_undo_failed_callees_and_refuse_reentry() {
    let mut net = Net::new(VmParams::default());
    let counter_code = net.upload(COUNTER);
    let counter = net.instantiate(counter_code, &[], b"c");
    let router_code = net.upload(ROUTER);
    let router = net.instantiate(router_code, &[], b"r");

    let r = net.one(call(router, "bump", &counter.0, 0, GAS));
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    assert_eq!(u64_of(&net.query(&counter, "get", &[]).unwrap()), 1);
    // The callee's event is in the receipt, under the callee's address.
    assert!(r.events.iter().any(|e| e.kind == "contract"
        && e.attributes
            .contains(&("contract".into(), counter.to_string()))));

    // The caller catches a failing callee: the callee's write is undone, its revert data read.
    let r = net.one(call(router, "bump_catch", &counter.0, 0, GAS));
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    assert_eq!(r.output, b"nope");
    assert_eq!(u64_of(&net.query(&counter, "get", &[]).unwrap()), 1);

    // Value: the router forwards 9 of the 20 it is sent; the counter pays 5 on.
    let r = net.one(call(router, "bump_value", &counter.0, 20, GAS));
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    assert_eq!((net.balance(&router), net.balance(&counter)), (11, 9));
    let sink = key(101).address();
    let before = net.balance(&sink);
    let r = net.one(call(counter, "pay", &sink.0, 0, GAS));
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    assert_eq!((net.balance(&counter), net.balance(&sink)), (4, before + 5));
    // Paying more than it holds traps, and nothing moves.
    let r = net.one(call(counter, "pay", &sink.0, 0, GAS));
    assert_eq!(r.status, TxStatus::Failed);
    assert_eq!((net.balance(&counter), net.balance(&sink)), (4, before + 5));

    // Reentrancy: the router calling itself is refused; it reverts with the reason.
    let r = net.one(call(router, "bump_self", &[], 0, GAS));
    assert_eq!(r.status, TxStatus::Failed);
    assert!(
        r.error.unwrap().contains("reentrancy into"),
        "reentry refused"
    );

    // A call to an address without a contract fails the sub-call with the reason.
    let r = net.one(call(router, "bump", &[7; 20], 0, GAS));
    assert!(r.error.unwrap().contains("no contract at"));
}

/// A module with the counter's imports and `body` as its exports.
fn module(imports: &str, body: &str) -> String {
    format!("(module {imports} (memory (export \"memory\") 1) {body})")
}

#[test]
fn bad_contracts_end_in_failed_receipts_or_rejected_uploads_and_the_chain_goes_on() {
    let p = VmParams {
        max_code_bytes: 4096,
        ..Default::default()
    };
    let mut net = Net::new(p.clone());
    let rejected = |net: &mut Net, wat: &str| -> String {
        let code = wat::parse_str(wat).unwrap();
        let r = net.one(upload(code));
        assert_eq!(r.status, TxStatus::Failed);
        r.error.unwrap()
    };
    // Uploads refused with their cause.
    let e = rejected(
        &mut net,
        &module("", r#"(func (export "f") (drop (f32.const 1)))"#),
    );
    assert!(e.contains("floating-point"), "{e}");
    let e = rejected(&mut net, &module(r#"(import "env" "launch" (func))"#, ""));
    assert!(
        e.contains("imports env.launch, which the host does not provide"),
        "{e}"
    );
    let e = rejected(
        &mut net,
        &module(r#"(import "env" "caller" (func (param i64)))"#, ""),
    );
    assert!(e.contains("imports env.caller as"), "{e}");
    let e = rejected(&mut net, r#"(module (func (export "f")))"#);
    assert!(e.contains("exports no memory"), "{e}");
    let e = rejected(&mut net, r#"(module (memory (export "memory") 17))"#);
    assert!(
        e.contains("memory of 17 pages is over the limit of 16"),
        "{e}"
    );
    let big = format!(
        r#"(module (memory (export "memory") 1) (data (i32.const 0) "{}"))"#,
        "x".repeat(5000)
    );
    let e = rejected(&mut net, &big);
    assert!(
        e.contains("code of") && e.contains("over the limit of 4096"),
        "{e}"
    );
    // Exactly at the code limit is accepted.
    let pad = |n: usize| {
        format!(
            r#"(module (memory (export "memory") 1) (data (i32.const 0) "{}"))"#,
            "x".repeat(n)
        )
    };
    let mut n: i64 = 4000;
    let at_limit = loop {
        let code = wat::parse_str(pad(n as usize)).unwrap();
        if code.len() == 4096 {
            break code;
        }
        n += 4096 - code.len() as i64;
    };
    assert_eq!(at_limit.len(), 4096);
    assert_eq!(net.one(upload(at_limit)).status, TxStatus::Success);

    let imports = r#"
      (import "env" "storage_set" (func $set (param i32 i32 i32 i32)))
      (import "env" "return_data" (func $ret (param i32 i32)))
      (import "env" "input_read" (func $input_read (param i32)))
      (import "env" "emit" (func $emit (param i32 i32 i32 i32)))"#;
    let bad = module(
        imports,
        r#"
      (func (export "spin") (loop $l (br $l)))
      (func $r (export "recurse") (call $r))
      (func $down (param $n i32) (if (local.get $n) (then (call $down (i32.sub (local.get $n) (i32.const 1))))))
      (func (export "deep") (call $input_read (i32.const 0)) (call $down (i32.load (i32.const 0))))
      (func (export "grow_to_limit") (if (i32.eq (memory.grow (i32.const 15)) (i32.const -1)) (then unreachable)))
      (func (export "grow_past") (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then unreachable)))
      (func (export "huge_return") (call $ret (i32.const 0) (i32.const 16385)))
      (func (export "max_return") (call $ret (i32.const 0) (i32.const 16384)))
      (func (export "storage_bomb") (local $i i32)
        (loop $l
          (i32.store (i32.const 0) (local.get $i))
          (call $set (i32.const 0) (i32.const 4) (i32.const 100) (i32.const 1024))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
      (func (export "big_key") (call $set (i32.const 0) (i32.const 129) (i32.const 0) (i32.const 1)))
      (func (export "key_at_limit") (call $set (i32.const 0) (i32.const 128) (i32.const 0) (i32.const 1)))
      (func (export "big_value") (call $set (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 16385)))
      (func (export "value_at_limit") (call $set (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 16384)))
      (data (i32.const 2000) "\01a\01b\01c\01d\01e")
      (func $emit_n (param $n i32)
        (loop $l (if (local.get $n) (then
          (call $emit (i32.const 2000) (i32.const 2) (i32.const 0) (i32.const 1))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))))
      (func (export "events_at_limit") (call $emit_n (i32.const 128)))
      (func (export "events_past") (call $emit_n (i32.const 129)))
      (func (export "event_at_limit") (call $emit (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16384)))
      (func (export "event_past") (call $emit (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16385)))
      (func (export "topics_at_limit") (call $emit (i32.const 2000) (i32.const 8) (i32.const 0) (i32.const 0)))
      (func (export "topics_past") (call $emit (i32.const 2000) (i32.const 10) (i32.const 0) (i32.const 0)))
      (func (export "oob") (call $input_read (i32.const 70000)))
      (func (export "unreachable") unreachable)"#,
    );
    let code = net.upload(&bad);
    let c = net.instantiate(code, &[], b"bad");
    let fail = |net: &mut Net, method: &str, gas: u64| -> Receipt {
        let r = net.one(call(c, method, &[], 0, gas));
        assert_eq!(r.status, TxStatus::Failed, "{method}");
        r
    };
    let r = fail(&mut net, "spin", 1_000_000);
    assert!(r.error.as_ref().unwrap().ends_with("out of gas"));
    assert_eq!((r.gas_used, r.fee), (1_000_000, FEE + 1_000_000 * PRICE));
    let r = fail(&mut net, "recurse", GAS);
    assert!(r.error.unwrap().contains("stack overflow"));
    // max_recursion_depth (1024) counts every wasm frame: the method's own and `$down`'s n + 1.
    let deep = |net: &mut Net, n: u32| net.one(call(c, "deep", &n.to_le_bytes(), 0, GAS));
    let r = deep(&mut net, p.max_recursion_depth - 2);
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    let r = deep(&mut net, p.max_recursion_depth - 1);
    assert!(r.error.unwrap().contains("stack overflow"));
    let ok = net.one(call(c, "grow_to_limit", &[], 0, GAS));
    assert_eq!(
        ok.status,
        TxStatus::Success,
        "growing to the limit works: {:?}",
        ok.error
    );
    let r = fail(&mut net, "grow_past", GAS);
    assert!(r.error.unwrap().contains("unreachable"));
    let r = fail(&mut net, "huge_return", GAS);
    assert!(r
        .error
        .unwrap()
        .contains("return data of 16385 bytes is over the limit of 16384"));
    assert_eq!(
        net.one(call(c, "max_return", &[], 0, GAS)).status,
        TxStatus::Success
    );
    let r = fail(&mut net, "storage_bomb", 20_000_000);
    assert!(r.error.as_ref().unwrap().ends_with("out of gas"));
    let r = fail(&mut net, "big_key", GAS);
    assert!(r
        .error
        .unwrap()
        .contains("storage key of 129 bytes is over the limit of 128"));
    assert_eq!(
        net.one(call(c, "key_at_limit", &[], 0, GAS)).status,
        TxStatus::Success
    );
    let r = fail(&mut net, "big_value", GAS);
    assert!(r.error.unwrap().contains("storage value of 16385 bytes"));
    // Values, events and topics: exactly at each limit works, one past fails with the cause (and
    // a failed call's events are gone with it).
    for m in ["value_at_limit", "event_at_limit", "topics_at_limit"] {
        let r = net.one(call(c, m, &[], 0, GAS));
        assert_eq!(r.status, TxStatus::Success, "{m}: {:?}", r.error);
    }
    let r = net.one(call(c, "events_at_limit", &[], 0, GAS));
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    let emitted = r.events.iter().filter(|e| e.kind == "contract").count();
    assert_eq!(emitted, 128);
    let r = fail(&mut net, "events_past", GAS);
    assert!(r
        .error
        .unwrap()
        .contains("event limit 128 of a transaction reached"));
    assert!(r.events.is_empty());
    let r = fail(&mut net, "event_past", GAS);
    assert!(r
        .error
        .unwrap()
        .contains("event of 16385 bytes is over the limit of 16384"));
    let r = fail(&mut net, "topics_past", GAS);
    assert!(r.error.unwrap().contains("5 event topics, limit 4"));
    let r = fail(&mut net, "oob", GAS);
    assert!(r.error.unwrap().contains("out of bounds"));
    let r = fail(&mut net, "unreachable", GAS);
    assert!(r.error.unwrap().contains("unreachable"));
    // A gas limit exactly at the transaction limit runs (and here runs out); past it: refused.
    let r = fail(&mut net, "spin", p.max_tx_gas);
    assert!(r.error.as_ref().unwrap().ends_with("out of gas"));
    assert_eq!(r.gas_used, p.max_tx_gas);
    let r = net.one(call(c, "spin", &[], 0, p.max_tx_gas + 1));
    assert!(r.error.unwrap().contains("over the transaction limit"));

    // A constructor that traps: no contract is made.
    let trap_init = module("", r#"(func (export "init") unreachable)"#);
    let code = net.upload(&trap_init);
    let r = net.one(instantiate(code, &[], b"t", 0));
    assert_eq!(r.status, TxStatus::Failed);
    assert!(r.error.unwrap().contains("unreachable"));
    let addr = contract_address(&key(100).address(), &code, b"t");
    assert!(VmReader(net.chain.state())
        .contract(&addr, None)
        .unwrap()
        .is_none());

    // A call-depth bomb: each level instantiates a copy of itself and calls it.
    let bomb = module(
        r#"
      (import "env" "input_read" (func $input_read (param i32)))
      (import "env" "instantiate" (func $inst (param i32 i32 i32 i32 i32 i32 i64 i32) (result i32)))
      (import "env" "call" (func $call (param i32 i32 i32 i32 i32 i32 i64) (result i32)))
      (import "env" "result_len" (func $result_len (result i32)))
      (import "env" "result_read" (func $result_read (param i32)))
      (import "env" "revert" (func $revert (param i32 i32)))"#,
        r#"
      (data (i32.const 400) "dive")
      (func $forward (param $code i32)
        (if (local.get $code) (then
          (call $result_read (i32.const 1000))
          (call $revert (i32.const 1000) (call $result_len)))))
      (func (export "dive")
        (call $input_read (i32.const 100))
        (if (i32.ge_u (i32.load8_u (i32.const 132)) (i32.load8_u (i32.const 133))) (then return))
        (i32.store8 (i32.const 132) (i32.add (i32.load8_u (i32.const 132)) (i32.const 1)))
        (call $forward (call $inst (i32.const 100) (i32.const 0) (i32.const 0) (i32.const 132) (i32.const 2) (i32.const 200) (i64.const 0) (i32.const 300)))
        (call $forward (call $call (i32.const 300) (i32.const 400) (i32.const 4) (i32.const 100) (i32.const 34) (i32.const 200) (i64.const 0))))"#,
    );
    let code = net.upload(&bomb);
    let b = net.instantiate(code, &[], b"bomb");
    // Input: the code hash, the level (0), the levels to go down. Four more below the first
    // frame is the limit of 5; five more is past it, however much gas there is.
    let dive = |net: &mut Net, levels: u8| {
        let mut input = code.0.to_vec();
        input.extend([0, levels]);
        net.one(call(b, "dive", &input, 0, GAS * 10))
    };
    let r = dive(&mut net, 4);
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    let r = dive(&mut net, 5);
    assert_eq!(r.status, TxStatus::Failed);
    let e = r.error.unwrap();
    assert!(e.contains("call depth limit 5 reached"), "{e}");
    let r = dive(&mut net, 200);
    assert!(r.error.unwrap().contains("call depth limit 5 reached"));

    // Through all of it the chain kept making blocks, and the replica agrees on every root.
    let r = net.one(TxKind::Transfer {
        to: key(101).address(),
        amount: 1,
    });
    assert_eq!(r.status, TxStatus::Success);
}

#[test]
fn gas_prices_below_the_minimum_and_limits_past_the_block_are_left_out() {
    let mut net = Net::new(VmParams::default());
    let k = key(100);
    let mk = |nonce, kind| {
        let t = TxBody {
            chain_id: CHAIN.into(),
            signer: k.public_key(),
            nonce,
            fee: FEE,
            kind,
        }
        .sign(&k);
        let len = t.to_bytes().len();
        Arc::new(PoolTx::new(t.clone(), t.hash(), len, net.chain.registry()).unwrap())
    };
    let cheap = mk(
        0,
        TxKind::Upload {
            code: vec![],
            gas_limit: 1,
            gas_price: 0,
        },
    );
    let (_, left) = net
        .chain
        .build_block(
            std::slice::from_ref(&cheap),
            net.validator.0.address(),
            5_000,
        )
        .unwrap();
    assert_eq!(left, vec![cheap.hash]);
    // The mempool refuses it up front, naming the rule.
    use batara_core::mempool::TxRules;
    let why = net.chain.registry().check(&cheap.tx).unwrap_err();
    assert!(
        why.contains("gas price 0 below the chain's minimum 1"),
        "{why}"
    );
    let huge = mk(
        0,
        TxKind::Upload {
            code: vec![],
            gas_limit: u64::MAX,
            gas_price: 1,
        },
    );
    let (_, left) = net
        .chain
        .build_block(
            std::slice::from_ref(&huge),
            net.validator.0.address(),
            5_000,
        )
        .unwrap();
    assert_eq!(left, vec![huge.hash]);
    let _ = net.block(vec![]);
}

#[test]
fn a_block_takes_contract_transactions_while_their_gas_limits_fit() {
    let mut net = Net::with(|g| {
        g.params.max_block_gas = 3 * GAS;
        g.params.vm.max_tx_gas = GAS;
    });
    let code = net.upload(&module("", r#"(func (export "spin") (loop $l (br $l)))"#));
    let c = net.instantiate(code, &[], b"s");
    let k = key(100);
    let first = net.nonce;
    let txs: Vec<_> = (0..4)
        .map(|n| {
            let t = TxBody {
                chain_id: CHAIN.into(),
                signer: k.public_key(),
                nonce: first + n,
                fee: FEE,
                kind: call(c, "spin", &[], 0, GAS),
            }
            .sign(&k);
            let len = t.to_bytes().len();
            Arc::new(PoolTx::new(t.clone(), t.hash(), len, net.chain.registry()).unwrap())
        })
        .collect();
    let (ex, left) = net
        .chain
        .build_block(&txs, net.validator.0.address(), 50_000)
        .unwrap();
    assert_eq!(ex.receipts.len(), 3, "three limits fill the block");
    assert!(ex.receipts.iter().all(|r| r.gas_used == GAS));
    assert_eq!(left, vec![txs[3].hash]);
    // Another node executing the block counts the same gas and accepts it.
    net.replica.execute_block(&ex.block).unwrap();
}

#[test]
fn json_rpc_serves_code_contracts_storage_with_proofs_queries_and_estimates() {
    use batara_core::api::NodeApi;
    use batara_core::state::ObjectProof;
    use serde_json::json;

    let (n, addr) = common::dev_rpc(batara_core::consensus::DevMode::Auto);
    let k = common::acct(0);
    let chain_id = n.info().chain_id;
    // Read from the chain: dev_revert below takes nonces back too.
    let send = |kind: TxKind| {
        let t = TxBody {
            chain_id: chain_id.clone(),
            signer: k.public_key(),
            nonce: n.account(&k.address(), None).unwrap().nonce,
            fee: 0,
            kind,
        }
        .sign(&k);
        let h = n.submit(&t.to_bytes()).unwrap();
        n.wait_for_tx(&h, std::time::Duration::from_secs(10))
            .unwrap()
    };
    let t0 = send(TxKind::Transfer {
        to: Address([1; 20]),
        amount: 1,
    });
    let code = wat::parse_str(COUNTER).unwrap();
    let hash = batara_core::crypto::sha256(&code);
    let t = send(upload(code.clone()));
    assert_eq!(t.receipt.status, TxStatus::Success, "{:?}", t.receipt.error);
    let ti = send(instantiate(hash, &5u64.to_le_bytes(), b"", 0));
    assert_eq!(
        ti.receipt.status,
        TxStatus::Success,
        "{:?}",
        ti.receipt.error
    );
    let c = contract_address(&k.address(), &hash, b"");
    let t = send(call(c, "increment", &[], 0, GAS));
    assert_eq!(t.receipt.status, TxStatus::Success, "{:?}", t.receipt.error);

    // The receipt over JSON-RPC: gas, events and output.
    let tx = common::rpc(addr, "chain_getTransaction", json!([t.hash]));
    assert_eq!(
        tx["receipt"]["gas_used"],
        json!(t.receipt.gas_used.to_string())
    );
    assert_eq!(tx["receipt"]["events"][1]["kind"], "contract");

    // The trace: each host call of `increment` with its arguments, the bytes it read and wrote,
    // its result and gas; the gas is the receipt's, and an untraced chain charges the same.
    let tr = common::rpc(addr, "vm_traceTransaction", json!([t.hash]));
    assert_eq!(tr["gas_used"], json!(t.receipt.gas_used.to_string()));
    assert_eq!(tr["status"], "success");
    let calls = tr["calls"].as_array().unwrap();
    let hosts: Vec<&str> = calls.iter().map(|c| c["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["storage_get", "storage_set", "emit"]);
    let get = &calls[0];
    assert_eq!(get["args"], json!([0, 1, 32, 8]));
    assert_eq!(get["read"], "0x6e"); // the key "n"
    assert_eq!(
        get["wrote"],
        json!(format!("0x{}", hex::encode(5u64.to_le_bytes())))
    );
    assert_eq!(
        (get["result"].clone(), get["depth"].clone()),
        (json!(8), json!(1))
    );
    assert_eq!(get["contract"], json!(c));
    assert_eq!(
        calls[1]["read"],
        json!(format!("0x6e{}", hex::encode(6u64.to_le_bytes())))
    );
    let host_gas: u64 = calls
        .iter()
        .map(|c| c["gas"].as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(host_gas > 0 && host_gas < t.receipt.gas_used);
    let mut plain = Net::new(VmParams::default());
    let code_hash = plain.upload(COUNTER);
    let pc = plain.instantiate(code_hash, &5u64.to_le_bytes(), b"");
    assert_eq!(
        plain.one(call(pc, "increment", &[], 0, GAS)).gas_used,
        t.receipt.gas_used
    );
    // A transfer has nothing to trace; an unknown hash is not found.
    let e = common::rpc_err(addr, "vm_traceTransaction", json!([t0.hash]));
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("not a contract transaction"),
        "{e}"
    );
    let e = common::rpc_err(addr, "vm_traceTransaction", json!([Hash([9; 32])]));
    assert!(e["message"].as_str().unwrap().contains("not found"), "{e}");

    let info = common::rpc(addr, "vm_getCode", json!([hash]));
    assert_eq!(info["wasm"], format!("0x{}", hex::encode(&code)));
    assert_eq!(info["size"], code.len());
    let ci = common::rpc(addr, "vm_getContract", json!({ "address": c }));
    assert_eq!(ci["code_hash"], json!(hash));
    assert_eq!(ci["creator"], json!(k.address()));
    let e = common::rpc_err(addr, "vm_getContract", json!([Address([3; 20])]));
    assert_eq!(e["code"], -32021);

    let st = common::rpc(
        addr,
        "vm_getStorage",
        json!({ "contract": c, "slot": "0x6e", "prove": true }),
    );
    assert_eq!(
        st["value"],
        format!("0x{}", hex::encode(6u64.to_le_bytes()))
    );
    let proof: ObjectProof = serde_json::from_value(st["proof"].clone()).unwrap();
    let head = n.header(batara_core::api::BlockId::Latest).unwrap();
    assert_eq!(proof.state_root, head.state_root);
    verify_object_proof(
        &proof.state_root,
        &proof.key,
        proof.value.as_deref(),
        &proof.proof,
    )
    .unwrap();
    let empty = common::rpc(addr, "vm_getStorage", json!([c, "0x00"]));
    assert_eq!(empty["value"], json!(null));

    // A query decodes JSON output into `result`; raw input works too; nothing is written.
    let q = common::rpc(
        addr,
        "vm_query",
        json!({ "contract": c, "method": "echo", "args": { "a": [1, "x"] } }),
    );
    assert_eq!(q["result"], json!({ "a": [1, "x"] }));
    assert_eq!(q["error"], json!(null));
    let q = common::rpc(addr, "vm_query", json!({ "contract": c, "method": "get" }));
    assert_eq!(
        q["output"],
        format!("0x{}", hex::encode(6u64.to_le_bytes()))
    );
    let q = common::rpc(addr, "vm_query", json!({ "contract": c, "method": "fail" }));
    assert_eq!(q["error"], "reverted: nope");

    // dev_snapshot / dev_revert cover contract storage: two increments undone, the slot and
    // its proof back to 6.
    let get = |addr| {
        let q = common::rpc(addr, "vm_query", json!({ "contract": c, "method": "get" }));
        u64::from_le_bytes(
            hex::decode(&q["output"].as_str().unwrap()[2..])
                .unwrap()
                .try_into()
                .unwrap(),
        )
    };
    let snap = common::rpc(addr, "dev_snapshot", json!([]));
    send(call(c, "increment", &[], 0, GAS));
    send(call(c, "increment", &[], 0, GAS));
    assert_eq!(get(addr), 8);
    assert_eq!(common::rpc(addr, "dev_revert", json!([snap])), json!(true));
    assert_eq!(get(addr), 6);
    let st = common::rpc(
        addr,
        "vm_getStorage",
        json!({ "contract": c, "slot": "0x6e" }),
    );
    assert_eq!(
        st["value"],
        json!(format!("0x{}", hex::encode(6u64.to_le_bytes())))
    );
    let e = common::rpc_err(
        addr,
        "vm_query",
        json!({ "contract": c, "method": "get", "height": 1 }),
    );
    assert!(e["message"].as_str().unwrap().contains("latest state"));

    // Estimates: unsigned {from, kind} and signed bytes agree, and match what the call uses.
    let kind = call(c, "increment", &[], 0, 1);
    let est = common::rpc(
        addr,
        "vm_estimateGas",
        json!([{ "from": k.address(), "kind": kind }]),
    );
    assert_eq!(est["error"], json!(null));
    let signed = TxBody {
        chain_id: chain_id.clone(),
        signer: k.public_key(),
        nonce: 99,
        fee: 0,
        kind: kind.clone(),
    }
    .sign(&k);
    let est2 = common::rpc(
        addr,
        "vm_estimateGas",
        json!([format!("0x{}", hex::encode(signed.to_bytes()))]),
    );
    assert_eq!(est, est2);
    let gas: u64 = est["gas_used"].as_str().unwrap().parse().unwrap();
    let t = send(call(c, "increment", &[], 0, gas));
    assert_eq!(
        (t.receipt.status, t.receipt.gas_used),
        (TxStatus::Success, gas)
    );
    let est = common::rpc(
        addr,
        "vm_estimateGas",
        json!([{ "from": k.address(), "kind": call(c, "fail", &[], 0, 1) }]),
    );
    assert_eq!(est["error"], format!("contract {c}: reverted: nope"));
    let e = common::rpc_err(
        addr,
        "vm_estimateGas",
        json!([{ "from": k.address(), "kind": { "type": "transfer", "to": c, "amount": "1" } }]),
    );
    assert_eq!(e["code"], -32602);

    // A query never burns more than rpc.max_query_gas (50M by default, below the chain's 100M
    // max_tx_gas): an endless loop stops there.
    let spin = wat::parse_str(module("", r#"(func (export "spin") (loop $l (br $l)))"#)).unwrap();
    let spin_hash = batara_core::crypto::sha256(&spin);
    send(upload(spin));
    send(instantiate(spin_hash, &[], b"", 0));
    let s = contract_address(&k.address(), &spin_hash, b"");
    let q = common::rpc(addr, "vm_query", json!({ "contract": s, "method": "spin" }));
    assert_eq!(q["error"], "out of gas");
    assert_eq!(q["gas_used"], "50000000");
    let q = common::rpc(
        addr,
        "vm_query",
        json!({ "contract": s, "method": "spin", "gas": 1_000 }),
    );
    assert_eq!(q["gas_used"], "1000");
    let est = common::rpc(
        addr,
        "vm_estimateGas",
        json!([{ "from": k.address(), "kind": call(s, "spin", &[], 0, 1) }]),
    );
    assert_eq!(est["gas_used"], "50000000");
}

#[test]
fn event_subscriptions_send_the_events_their_filter_passes() {
    use batara_core::api::NodeApi;
    use jsonrpsee::core::client::{Subscription, SubscriptionClientT};
    use serde_json::{json, Value};

    let (n, addr) = common::dev_rpc(batara_core::consensus::DevMode::Manual);
    let k = common::acct(0);
    let to = common::acct(1).address();
    let chain_id = n.info().chain_id;
    let mut nonce = 0;
    let mut submit = |kind: TxKind| {
        let t = TxBody {
            chain_id: chain_id.clone(),
            signer: k.public_key(),
            nonce,
            fee: 0,
            kind,
        }
        .sign(&k);
        nonce += 1;
        n.submit(&t.to_bytes()).unwrap()
    };
    let code = wat::parse_str(COUNTER).unwrap();
    let hash = batara_core::crypto::sha256(&code);
    submit(upload(code));
    submit(instantiate(hash, &5u64.to_le_bytes(), b"", 0));
    n.mine(1).unwrap();
    let c = contract_address(&k.address(), &hash, b"");

    common::test_runtime().block_on(async {
        let client = common::ws_client(addr).await;
        let sub = |filter: Value| {
            let client = &client;
            async move {
                client
                    .subscribe::<Value, _>(
                        "chain_subscribeEvents",
                        jsonrpsee::rpc_params![filter],
                        "chain_unsubscribeEvents",
                    )
                    .await
            }
        };
        let mut of_contract = sub(json!({ "contract": c })).await.unwrap();
        let mut to_account = sub(json!({ "kind": "transfer", "address": to }))
            .await
            .unwrap();
        let mut all = sub(json!({})).await.unwrap();
        for (bad, cause) in [
            (json!({ "contract": "batara1nope" }), "invalid filter"),
            (json!({ "colour": "red" }), "unknown field `colour`"),
        ] {
            match sub(bad.clone()).await {
                Err(jsonrpsee::core::client::Error::Call(e)) => {
                    assert_eq!(e.code(), -32602, "{bad}");
                    assert!(e.message().contains(cause), "{bad}: {}", e.message());
                }
                other => panic!("{bad} should be refused: {other:?}"),
            }
        }

        let t1 = submit(TxKind::Transfer { to, amount: 9 });
        let t2 = submit(call(c, "increment", &[], 0, GAS));
        let nn = n.clone();
        tokio::task::spawn_blocking(move || nn.mine(1).unwrap())
            .await
            .unwrap();
        async fn next(s: &mut Subscription<Value>) -> Value {
            tokio::time::timeout(std::time::Duration::from_secs(10), s.next())
                .await
                .expect("a notification")
                .unwrap()
                .unwrap()
        }
        // The contract's two events (the call and what it emitted), in order, and nothing of the
        // transfer.
        let e = next(&mut of_contract).await;
        assert_eq!(e["height"], "2");
        assert_eq!(e["tx_hash"], json!(t2));
        assert_eq!(
            (e["tx_index"].clone(), e["event_index"].clone()),
            (json!(1), json!(0))
        );
        assert_eq!(e["event"]["kind"], "call");
        let e = next(&mut of_contract).await;
        assert_eq!(e["event"]["kind"], "contract");
        assert_eq!(e["event_index"], 1);
        let e = next(&mut to_account).await;
        assert_eq!(e["tx_hash"], json!(t1));
        assert_eq!(e["event"]["kind"], "transfer");
        assert!(e["event"]["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|kv| kv[1] == json!(to.to_string())));
        // No filter: all three events of the block.
        let mut kinds = vec![];
        for _ in 0..3 {
            kinds.push(
                next(&mut all).await["event"]["kind"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        assert_eq!(kinds, ["transfer", "call", "contract"]);
        // A block of nothing that matches sends nothing.
        let nn = n.clone();
        tokio::task::spawn_blocking(move || nn.mine(1).unwrap())
            .await
            .unwrap();
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(300), of_contract.next())
                .await
                .is_err()
        );
    });
}

/// An AssemblyScript contract of `examples/contracts/token` (`token` or `escrow`), compiled with
/// `asc` (installed with `npm ci` when missing) once per test run.
pub fn example_wasm(name: &str) -> Vec<u8> {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/contracts/token");
    BUILT.get_or_init(|| {
        let npm = |args: &[&str]| {
            let out = std::process::Command::new("npm")
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("npm runs");
            assert!(
                out.status.success(),
                "npm {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        if !dir.join("node_modules/.bin/asc").exists() {
            npm(&["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
        }
        npm(&["run", "--silent", "build"]);
    });
    std::fs::read(dir.join(format!("build/{name}.wasm"))).unwrap()
}

pub fn token_wasm() -> Vec<u8> {
    example_wasm("token")
}

pub fn json_bytes(v: serde_json::Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

#[test]
fn the_assemblyscript_token_mints_transfers_approves_and_refuses_overdrafts() {
    use serde_json::json;
    let mut net = Net::new(VmParams::default());
    let code = token_wasm();
    let r = net.one(upload(code.clone()));
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    let hash = batara_core::crypto::sha256(&code);
    let me = key(100).address();
    let bob = key(101).address();
    let init = json!({ "name": "Batara Token", "symbol": "BTK", "supply": "1000000" });
    let r = net.one(instantiate(hash, &json_bytes(init), b"t", 0));
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    let token = contract_address(&me, &hash, b"t");
    let q = |net: &Net, method: &str, args: serde_json::Value| -> serde_json::Value {
        let out = net.query(&token, method, &json_bytes(args)).unwrap();
        serde_json::from_slice(&out).unwrap()
    };
    assert_eq!(q(&net, "total_supply", json!({})), json!("1000000"));
    assert_eq!(q(&net, "symbol", json!({})), json!("BTK"));
    assert_eq!(
        q(&net, "balance_of", json!({ "owner": me })),
        json!("1000000")
    );

    let r = net.one(call(
        token,
        "transfer",
        &json_bytes(json!({ "to": bob, "amount": "250" })),
        0,
        GAS,
    ));
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    let ev = r.events.iter().find(|e| e.kind == "contract").unwrap();
    assert!(ev
        .attributes
        .contains(&("topic0".into(), "transfer".into())));
    let data = &ev.attributes.iter().find(|(k, _)| k == "data").unwrap().1;
    let data: serde_json::Value =
        serde_json::from_slice(&hex::decode(&data[2..]).unwrap()).unwrap();
    assert_eq!(data, json!({ "from": me, "to": bob, "amount": "250" }));
    assert_eq!(q(&net, "balance_of", json!({ "owner": bob })), json!("250"));
    assert_eq!(
        q(&net, "balance_of", json!({ "owner": me })),
        json!("999750")
    );

    // Overdraft and bad input: failed receipts naming the cause, balances untouched.
    let r = net.one(call(
        token,
        "transfer",
        &json_bytes(json!({ "to": bob, "amount": "9999999" })),
        0,
        GAS,
    ));
    assert_eq!(
        r.error.as_deref(),
        Some(
            format!("contract {token}: reverted: insufficient balance: 999750 < 9999999").as_str()
        )
    );
    let r = net.one(call(
        token,
        "transfer",
        &json_bytes(json!({ "to": "bat1nope", "amount": "1" })),
        0,
        GAS,
    ));
    assert!(r.error.unwrap().contains("to is not an address"));
    let r = net.one(call(
        token,
        "transfer",
        &json_bytes(json!({ "to": bob })),
        0,
        GAS,
    ));
    assert!(r.error.unwrap().contains("missing argument amount"));
    let r = net.one(call(token, "transfer", b"[1]", 0, GAS));
    assert!(r.error.unwrap().contains("arguments must be a JSON object"));

    // approve + transfer_from (bob spends from me within his allowance).
    let r = net.one(call(
        token,
        "approve",
        &json_bytes(json!({ "spender": bob, "amount": "100" })),
        0,
        GAS,
    ));
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    assert_eq!(
        q(&net, "allowance", json!({ "owner": me, "spender": bob })),
        json!("100")
    );
    let k = key(101);
    let spend = |amount: &str| {
        TxBody {
            chain_id: CHAIN.into(),
            signer: k.public_key(),
            nonce: 0,
            fee: FEE,
            kind: call(
                token,
                "transfer_from",
                &json_bytes(json!({ "from": me, "to": bob, "amount": amount })),
                0,
                GAS,
            ),
        }
        .sign(&k)
    };
    let t = spend("60");
    let len = t.to_bytes().len();
    let cand = Arc::new(PoolTx::new(t.clone(), t.hash(), len, net.chain.registry()).unwrap());
    net.time += 1_000;
    let (ex, _) = net
        .chain
        .build_block(&[cand], net.validator.0.address(), net.time)
        .unwrap();
    assert_eq!(
        ex.receipts[0].status,
        TxStatus::Success,
        "{:?}",
        ex.receipts[0].error
    );
    let commit = net.chain.sign_commit(&ex, &net.validator);
    let block = ex.block.clone();
    net.chain.commit(ex, commit.clone()).unwrap();
    net.replica.import(&block, commit).unwrap();
    assert_eq!(
        q(&net, "allowance", json!({ "owner": me, "spender": bob })),
        json!("40")
    );
    assert_eq!(q(&net, "balance_of", json!({ "owner": bob })), json!("310"));
    // Past the allowance: refused.
    let vm = net.vm();
    let (_, err) = net
        .chain
        .simulate(|ctx| vm.estimate(ctx, CHAIN, bob, &spend("41").body.kind, None))
        .unwrap();
    assert!(err.unwrap().contains("allowance exceeded: 40 < 41"));
}

#[test]
fn an_escrow_holds_tokens_and_coin_and_a_token_hook_cannot_reenter_the_token() {
    use serde_json::json;
    let mut net = Net::new(VmParams::default());
    // The chain traces every execution and its replica traces none: the same roots at every
    // block (checked by `Net::block`) show tracing changes nothing.
    net.vm().keep_traces(true);
    let deploy = |net: &mut Net, code: Vec<u8>, init: serde_json::Value, salt: &[u8]| {
        let r = net.one(upload(code.clone()));
        assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
        let hash = batara_core::crypto::sha256(&code);
        let r = net.one(instantiate(hash, &json_bytes(init), salt, 0));
        assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
        contract_address(&key(100).address(), &hash, salt)
    };
    let token = deploy(
        &mut net,
        token_wasm(),
        json!({ "name": "T", "symbol": "T", "supply": "1000" }),
        b"t",
    );
    let escrow = deploy(
        &mut net,
        example_wasm("escrow"),
        json!({ "token": token }),
        b"e",
    );
    let (me, bob) = (key(100).address(), key(101).address());
    let q = |net: &Net, c: &Address, method: &str, args: serde_json::Value| {
        let out = net.query(c, method, &json_bytes(args)).unwrap();
        serde_json::from_slice::<serde_json::Value>(&out).unwrap()
    };
    let tokens =
        |net: &Net, owner: Address| q(net, &token, "balance_of", json!({ "owner": owner }));
    let send = |net: &mut Net, c: Address, method: &str, args: serde_json::Value, value| {
        net.one(call(c, method, &json_bytes(args), value, GAS))
    };

    // Deposit: the escrow pulls 300 tokens with transfer_from and keeps the 50 coins sent.
    let r = send(
        &mut net,
        token,
        "approve",
        json!({ "spender": escrow, "amount": "300" }),
        0,
    );
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    let r = send(
        &mut net,
        escrow,
        "deposit",
        json!({ "beneficiary": bob, "amount": "300" }),
        50,
    );
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    assert_eq!(r.output, b"\"0\"");
    // Its trace: the escrow's `call` into the token, then the token's own host calls a frame
    // deeper, the `call` charged with them.
    let trace = net.vm().trace(&r.tx_hash).expect("traced").calls.clone();
    let at = trace.iter().position(|c| c.host == "call").unwrap();
    assert_eq!((trace[at].depth, trace[at].contract), (1, escrow));
    assert!(trace[at + 1..]
        .iter()
        .take_while(|c| c.depth == 2)
        .any(|c| c.host == "storage_set" && c.contract == token));
    let inner: u64 = trace[at + 1..]
        .iter()
        .take_while(|c| c.depth == 2)
        .map(|c| c.gas)
        .sum();
    assert!(trace[at].gas > inner && trace[at].result == Some(0));
    assert_eq!(
        (tokens(&net, me), tokens(&net, escrow)),
        (json!("700"), json!("300"))
    );
    assert_eq!(net.balance(&escrow), 50);
    assert_eq!(
        q(&net, &escrow, "deal", json!({ "id": "0" })),
        json!({ "depositor": me, "beneficiary": bob, "amount": "300", "value": "50", "open": true })
    );
    // Without an allowance the token refuses, the escrow fails with the token's cause, and the
    // value sent comes back: nothing of the call stays.
    let before = net.balance(&me);
    let r = send(
        &mut net,
        escrow,
        "deposit",
        json!({ "beneficiary": bob, "amount": "1" }),
        7,
    );
    assert_eq!(r.status, TxStatus::Failed);
    assert!(
        r.error
            .as_ref()
            .unwrap()
            .contains("token transfer_from failed: allowance exceeded: 0 < 1"),
        "{:?}",
        r.error
    );
    assert_eq!(net.balance(&escrow), 50);
    assert_eq!(net.balance(&me), before - r.fee);
    assert!(net
        .query(&escrow, "deal", &json_bytes(json!({ "id": "1" })))
        .is_err());

    // Release: the tokens go to the beneficiary through the token, then the coins.
    let bob_coins = net.balance(&bob);
    let r = send(&mut net, escrow, "release", json!({ "id": "0" }), 0);
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    assert_eq!(
        (tokens(&net, bob), tokens(&net, escrow)),
        (json!("300"), json!("0"))
    );
    assert_eq!(
        (net.balance(&bob), net.balance(&escrow)),
        (bob_coins + 50, 0)
    );
    let r = send(&mut net, escrow, "release", json!({ "id": "0" }), 0);
    assert!(r.error.unwrap().contains("deal 0 is already released"));

    // transfer_and_call (ERC-1363's hook): a receiver that accepts gets the tokens; one whose
    // hook calls back into the token is refused (the token is on the call stack), the token
    // reverts the whole transfer and says why.
    let polite =
        net.upload(r#"(module (memory (export "memory") 1) (func (export "on_token_received")))"#);
    let polite = net.instantiate(polite, &[], b"p");
    let r = send(
        &mut net,
        token,
        "transfer_and_call",
        json!({ "to": polite, "amount": "5" }),
        0,
    );
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    assert_eq!(tokens(&net, polite), json!("5"));
    let thief = net.upload(
        r#"(module
      (import "env" "caller" (func $caller (param i32)))
      (import "env" "call" (func $call (param i32 i32 i32 i32 i32 i32 i64) (result i32)))
      (import "env" "result_len" (func $result_len (result i32)))
      (import "env" "result_read" (func $result_read (param i32)))
      (import "env" "revert" (func $revert (param i32 i32)))
      (memory (export "memory") 1)
      (data (i32.const 100) "transfer")
      (data (i32.const 200) "{}")
      (func (export "on_token_received")
        (call $caller (i32.const 0))
        (if (call $call (i32.const 0) (i32.const 100) (i32.const 8) (i32.const 200) (i32.const 2) (i32.const 300) (i64.const 0))
          (then (call $result_read (i32.const 1000)) (call $revert (i32.const 1000) (call $result_len))))))"#,
    );
    let thief = net.instantiate(thief, &[], b"x");
    let r = send(
        &mut net,
        token,
        "transfer_and_call",
        json!({ "to": thief, "amount": "5" }),
        0,
    );
    assert_eq!(r.status, TxStatus::Failed);
    let e = r.error.unwrap();
    assert!(
        e.contains(&format!(
            "receiver refused: reentrancy into {token} denied: it is already on the call stack"
        )),
        "{e}"
    );
    assert_eq!(
        (tokens(&net, thief), tokens(&net, me)),
        (json!("0"), json!("695"))
    );
    // Traces are bounded: the first MAX_TRACE_BYTES of what a call reads, the first
    // MAX_TRACE_CALLS calls of an execution (then `truncated`).
    use batara_core::modules::vm::{MAX_TRACE_BYTES, MAX_TRACE_CALLS};
    let chatty = net.upload(&module(
        r#"(import "env" "input_len" (func $len (result i32)))
           (import "env" "storage_set" (func $set (param i32 i32 i32 i32)))"#,
        r#"(func (export "big") (call $set (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 16384)))
           (func (export "chat") (loop $l (drop (call $len)) (br $l)))"#,
    ));
    let chatty = net.instantiate(chatty, &[], b"chat");
    let r = net.one(call(chatty, "big", &[], 0, GAS));
    assert_eq!(r.status, TxStatus::Success, "{:?}", r.error);
    let log = net.vm().trace(&r.tx_hash).unwrap();
    assert_eq!(
        (log.calls[0].read.len(), log.truncated),
        (MAX_TRACE_BYTES, false)
    );
    let r = net.one(call(chatty, "chat", &[], 0, 40_000_000));
    assert!(r.error.unwrap().ends_with("out of gas"));
    let log = net.vm().trace(&r.tx_hash).unwrap();
    assert!(log.truncated);
    assert_eq!(log.calls.len(), MAX_TRACE_CALLS);
    assert!(log
        .calls
        .iter()
        .all(|c| c.host == "input_len" && c.result.is_some()));
}
