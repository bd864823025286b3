//! `batara bench contracts`: pre-signed token transfers through a contract (the AssemblyScript
//! token of `examples/contracts/token`, or any module with its methods) from many senders,
//! committed by an embedded node with state roots and RocksDB writes — the same path as
//! `bench transfers`, whose figure the same run measures for the ratio. Also: the cost of the
//! upload and the instantiation, and the gas schedule's calibration (the time of each host call
//! against its gas).

use std::fmt;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::{run_load, sender_key, transfers, Load, TransferBench};
use crate::api::{BlockId, Error, NodeApi, Result};
use crate::app::genesis::{self, Genesis, GenesisAccount};
use crate::crypto::{self, Keypair};
use crate::modules::vm::{contract_address, Query, VmModule, VmParams};
use crate::node::NodeHandle;
use crate::types::{Amount, SignedTransaction, TxBody, TxKind};

/// Parameters of the contract benchmark.
#[derive(Clone, Debug)]
pub struct ContractBench {
    /// The token's WebAssembly module.
    pub wasm: Vec<u8>,
    /// Number of token transfers.
    pub txs: usize,
    /// Number of sending accounts.
    pub senders: usize,
    /// Transactions per `submit_batch` call.
    pub batch: usize,
}

/// Time and gas of one host call, from a loop of them.
#[derive(Clone, Debug)]
pub struct Calibration {
    /// Host function.
    pub name: &'static str,
    /// Gas it is charged (base and the bytes of this measurement).
    pub gas: u64,
    /// Nanoseconds it takes.
    pub ns: f64,
}

/// What the contract benchmark measured.
#[derive(Clone, Debug)]
pub struct ContractReport {
    /// Parameters (without the module).
    pub txs: usize,
    /// Senders.
    pub senders: usize,
    /// Blocks the calls took.
    pub blocks: u64,
    /// First submit to last commit.
    pub elapsed: Duration,
    /// Committed contract calls per second.
    pub calls_per_s: f64,
    /// Gas of those calls per second.
    pub gas_per_s: f64,
    /// Gas of one token transfer.
    pub gas_per_call: u64,
    /// Median and 99th percentile submit-to-commit latency.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Committed native transfers per second, same machine, same load shape.
    pub native_per_s: f64,
    /// Bytes, gas and submit-to-commit time of the upload.
    pub upload: (usize, u64, Duration),
    /// Gas and submit-to-commit time of the instantiation.
    pub instantiate: (u64, Duration),
    /// Host calls: gas against time.
    pub calibration: Vec<Calibration>,
}

impl fmt::Display for ContractReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        writeln!(
            f,
            "token transfers: {} from {} senders in {} blocks, {:.2} s",
            self.txs,
            self.senders,
            self.blocks,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(
            f,
            "committed: {:.0} contract calls/s, {:.0} gas/s ({} gas per call)",
            self.calls_per_s, self.gas_per_s, self.gas_per_call
        )?;
        writeln!(
            f,
            "latency (submit to commit): p50 {:.1} ms, p99 {:.1} ms",
            ms(self.p50),
            ms(self.p99)
        )?;
        writeln!(
            f,
            "native transfers, same run: {:.0} tx/s",
            self.native_per_s
        )?;
        writeln!(
            f,
            "ratio contract calls / native transfers: {:.2}",
            self.calls_per_s / self.native_per_s
        )?;
        writeln!(
            f,
            "upload: {} bytes, {} gas, {:.1} ms to commit; instantiate: {} gas, {:.1} ms",
            self.upload.0,
            self.upload.1,
            ms(self.upload.2),
            self.instantiate.0,
            ms(self.instantiate.1)
        )?;
        writeln!(f, "host call        gas      ns   ns/gas")?;
        for c in &self.calibration {
            writeln!(
                f,
                "{:<14} {:>6} {:>7.0} {:>8.2}",
                c.name,
                c.gas,
                c.ns,
                c.ns / c.gas.max(1) as f64
            )?;
        }
        Ok(())
    }
}

const CHAIN: &str = "batara-bench-vm";
const GAS: u64 = 2_000_000;

fn sign(k: &Keypair, nonce: u64, kind: TxKind) -> SignedTransaction {
    TxBody {
        chain_id: CHAIN.into(),
        signer: k.public_key(),
        nonce,
        fee: 1,
        kind,
    }
    .sign(k)
}

fn call(contract: crate::types::Address, method: &str, args: String, gas: u64) -> TxKind {
    TxKind::Call {
        contract,
        method: method.into(),
        args: args.into_bytes(),
        value: 0,
        gas_limit: gas,
        gas_price: 1,
    }
}

/// Submits `tx`, waits for its block; returns its gas and the time it took.
fn commit_one(node: &NodeHandle, tx: &SignedTransaction) -> Result<(u64, Duration)> {
    let t = Instant::now();
    let h = node.submit(&tx.to_bytes())?;
    let info = node.wait_for_tx(&h, Duration::from_secs(60))?;
    if let Some(e) = info.receipt.error {
        return Err(Error::InvalidInput(format!(
            "benchmark transaction failed: {e}"
        )));
    }
    Ok((info.receipt.gas_used, t.elapsed()))
}

/// Runs the benchmark (progress on stderr).
pub fn contracts(p: &ContractBench) -> Result<ContractReport> {
    let deployer = Keypair::from_seed(&crypto::sha256(b"batara bench deployer").0);
    eprintln!("preparing {} senders...", p.senders);
    let keys: Vec<Keypair> = (0..p.senders).into_par_iter().map(sender_key).collect();
    let validator = genesis::dev_validator_key();
    let mut g = Genesis::dev(CHAIN, 0, validator.public_key(), 0);
    g.accounts = keys
        .iter()
        .chain(std::iter::once(&deployer))
        .map(|k| GenesisAccount {
            address: k.address(),
            balance: genesis::DEV_BALANCE,
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("batara-bench-vm-{}", std::process::id()));
    let node = super::bench_node(g, validator, &dir)?;
    let result = run(p, &node, &deployer, &keys);
    node.stop();
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
    let mut report = result?;
    eprintln!("measuring native transfers with the same load...");
    report.native_per_s = transfers(&TransferBench {
        txs: p.txs,
        senders: p.senders,
        batch: p.batch,
    })?
    .tx_per_s;
    report.calibration = calibrate()?;
    Ok(report)
}

fn run(
    p: &ContractBench,
    node: &NodeHandle,
    deployer: &Keypair,
    keys: &[Keypair],
) -> Result<ContractReport> {
    let code_hash = crypto::sha256(&p.wasm);
    eprintln!(
        "uploading the token ({} bytes) and instantiating it...",
        p.wasm.len()
    );
    let upload = sign(
        deployer,
        0,
        TxKind::Upload {
            code: p.wasm.clone(),
            gas_limit: 100_000_000,
            gas_price: 1,
        },
    );
    let (upload_gas, upload_time) = commit_one(node, &upload)?;
    let supply = (keys.len() as u64 + 1) * 1_000_000_000;
    let init = format!(r#"{{"name":"Bench","symbol":"BEN","supply":"{supply}"}}"#);
    let inst = sign(
        deployer,
        1,
        TxKind::Instantiate {
            code_hash,
            args: init.into_bytes(),
            salt: vec![],
            value: 0,
            gas_limit: GAS,
            gas_price: 1,
        },
    );
    let (inst_gas, inst_time) = commit_one(node, &inst)?;
    let token = contract_address(&deployer.address(), &code_hash, &[]);
    eprintln!("giving tokens to {} senders...", keys.len());
    let gifts: Vec<Vec<u8>> = keys
        .par_iter()
        .enumerate()
        .map(|(i, k)| {
            let args = format!(r#"{{"to":"{}","amount":"1000000000"}}"#, k.address());
            sign(deployer, 2 + i as u64, call(token, "transfer", args, GAS)).to_bytes()
        })
        .collect();
    let last = gifts.last().map(|b| crypto::sha256(b));
    for chunk in gifts.chunks(p.batch) {
        let mut pending: Vec<&Vec<u8>> = chunk.iter().collect();
        while !pending.is_empty() {
            let results = node.submit_slices(&pending);
            pending = pending
                .into_iter()
                .zip(results)
                .filter(|(_, r)| r.is_err())
                .map(|(t, _)| t)
                .collect();
            if !pending.is_empty() {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    if let Some(h) = last {
        node.wait_for_tx(&h, Duration::from_secs(120))?;
    }
    eprintln!("signing {} token transfers...", p.txs);
    let n = keys.len();
    let txs: Vec<SignedTransaction> = (0..p.txs)
        .into_par_iter()
        .map(|j| {
            let args = format!(r#"{{"to":"{}","amount":"1"}}"#, keys[(j + 1) % n].address());
            sign(
                &keys[j % n],
                (j / n) as u64,
                call(token, "transfer", args, GAS / 10),
            )
        })
        .collect();
    let load = Load::from_signed(keys.to_vec(), txs);
    let start_height = node.info().height;
    let m = run_load(&load, p.batch, None, node.subscribe_blocks(), |_, txs| {
        node.submit_slices(txs)
    })?;
    let mut gas = 0u64;
    let mut calls = 0u64;
    for h in start_height + 1..=node.info().height {
        for r in node.receipts(BlockId::Height(h))? {
            if let Some(e) = r.error {
                return Err(Error::InvalidInput(format!("a token transfer failed: {e}")));
            }
            gas += r.gas_used;
            calls += 1;
        }
    }
    let secs = m.elapsed.as_secs_f64();
    Ok(ContractReport {
        txs: p.txs,
        senders: p.senders,
        blocks: m.blocks,
        elapsed: m.elapsed,
        calls_per_s: p.txs as f64 / secs,
        gas_per_s: gas as f64 / secs,
        gas_per_call: gas / calls.max(1),
        p50: super::Measured::pct(&m.latencies, 0.50),
        p99: super::Measured::pct(&m.latencies, 0.99),
        native_per_s: 0.0,
        upload: (p.wasm.len(), upload_gas, upload_time),
        instantiate: (inst_gas, inst_time),
        calibration: vec![],
    })
}

/// Host calls timed in loops of `ROUNDS` (minus the empty loop's time), against their gas.
fn calibrate() -> Result<Vec<Calibration>> {
    const ROUNDS: u32 = 20_000;
    eprintln!("calibrating host calls ({ROUNDS} each)...");
    // The default schedule, without the per-transaction event limit (a loop emits thousands).
    let params = VmParams {
        max_events: u32::MAX,
        ..Default::default()
    };
    // A real signature, so ed25519_verify does the whole check: key at 0, signature at 32,
    // message (the key's 32 bytes) at 0.
    let signer = Keypair::from_seed(&[9; 32]);
    let pk = signer.public_key().0;
    let sig = signer.sign(&pk).0;
    let escaped: String = pk
        .iter()
        .chain(sig.iter())
        .map(|b| format!("\\{b:02x}"))
        .collect();
    // name, import, the call (leaving the stack empty).
    let cases: Vec<(&'static str, &str, &str)> = vec![
        ("(loop)", "", ""),
        (
            "caller",
            r#"(import "env" "caller" (func $f (param i32)))"#,
            "(call $f (i32.const 300))",
        ),
        (
            "input_len",
            r#"(import "env" "input_len" (func $f (result i32)))"#,
            "(drop (call $f))",
        ),
        (
            "storage_get",
            r#"(import "env" "storage_get" (func $f (param i32 i32 i32 i32) (result i32)))"#,
            "(drop (call $f (i32.const 0) (i32.const 8) (i32.const 400) (i32.const 32)))",
        ),
        (
            "storage_set",
            r#"(import "env" "storage_set" (func $f (param i32 i32 i32 i32)))"#,
            "(call $f (i32.const 0) (i32.const 8) (i32.const 32) (i32.const 32))",
        ),
        (
            "emit",
            r#"(import "env" "emit" (func $f (param i32 i32 i32 i32)))"#,
            "(call $f (i32.const 200) (i32.const 9) (i32.const 32) (i32.const 32))",
        ),
        (
            "sha256 (64 B)",
            r#"(import "env" "sha256" (func $f (param i32 i32 i32)))"#,
            "(call $f (i32.const 0) (i32.const 64) (i32.const 400))",
        ),
        (
            "ed25519_verify",
            r#"(import "env" "ed25519_verify" (func $f (param i32 i32 i32 i32) (result i32)))"#,
            "(drop (call $f (i32.const 0) (i32.const 32) (i32.const 0) (i32.const 32)))",
        ),
        (
            "balance_of",
            r#"(import "env" "balance_of" (func $f (param i32 i32)))"#,
            "(call $f (i32.const 0) (i32.const 400))",
        ),
    ];
    let vm = VmModule::new(params.clone(), 0, false);
    let dir = std::env::temp_dir().join(format!("batara-bench-cal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let key = Keypair::from_seed(&[7; 32]);
    let mut g = Genesis::dev(CHAIN, 0, genesis::dev_validator_key().public_key(), 0);
    g.accounts = vec![GenesisAccount {
        address: key.address(),
        balance: Amount::MAX / 2,
    }];
    let store = std::sync::Arc::new(crate::storage::RocksStore::open(&dir, &Default::default())?);
    let chain = crate::app::open_chain(store, &g)?;
    let mut out = vec![];
    let mut empty = (0.0, 0.0);
    for (name, import, body) in cases {
        let wat = format!(
            r#"(module {import} (memory (export "memory") 1)
                 (data (i32.const 0) "{escaped}")
                 (data (i32.const 200) "\08calibrat")
                 (func (export "nop"))
                 (func (export "run") (local $i i32)
                   (loop $l {body}
                     (local.set $i (i32.add (local.get $i) (i32.const 1)))
                     (br_if $l (i32.lt_u (local.get $i) (i32.const {ROUNDS}))))))"#
        );
        let code = wat::parse_str(&wat).map_err(|e| Error::InvalidInput(e.to_string()))?;
        let (ns, gas) = chain.simulate(|ctx| -> Result<(f64, f64)> {
            let fail = |e: crate::runtime::TxFailure| Error::InvalidInput(e.to_string());
            let kind = TxKind::Upload {
                code: code.clone(),
                gas_limit: 100_000_000,
                gas_price: 0,
            };
            let (_, err) = vm.estimate(ctx, CHAIN, key.address(), &kind, None)?;
            if let Some(e) = err {
                return Err(Error::InvalidInput(e));
            }
            let hash = crypto::sha256(&code);
            let inst = TxKind::Instantiate {
                code_hash: hash,
                args: vec![],
                salt: vec![],
                value: 0,
                gas_limit: 1_000_000,
                gas_price: 0,
            };
            vm.estimate(ctx, CHAIN, key.address(), &inst, None)?;
            let q = Query {
                caller: key.address(),
                contract: contract_address(&key.address(), &hash, &[]),
                method: "run",
                args: &[],
                gas: 100_000_000_000,
            };
            // Best of three: the first run also fills caches.
            let mut best = (f64::MAX, 0.0);
            for _ in 0..3 {
                let t = Instant::now();
                let r = vm.query(ctx, CHAIN, &q).map_err(fail)?;
                let el = t.elapsed().as_secs_f64() * 1e9 / ROUNDS as f64;
                if let Err(e) = r.result {
                    return Err(Error::InvalidInput(format!("{name}: {e}")));
                }
                if el < best.0 {
                    best = (el, r.gas_used as f64 / ROUNDS as f64);
                }
            }
            if name == "(loop)" {
                // A whole call of an empty method: store, host functions, instance, memory.
                let nop = Query {
                    method: "nop",
                    gas: 1_000_000,
                    ..q
                };
                let n = ROUNDS / 10;
                let t = Instant::now();
                let mut used = 0;
                for _ in 0..n {
                    used = vm.query(ctx, CHAIN, &nop).map_err(fail)?.gas_used;
                }
                out.push(Calibration {
                    name: "call (empty)",
                    gas: used,
                    ns: t.elapsed().as_secs_f64() * 1e9 / n as f64,
                });
            }
            Ok(best)
        })?;
        if name == "(loop)" {
            empty = (ns, gas);
            continue;
        }
        out.push(Calibration {
            name,
            gas: (gas - empty.1).round() as u64,
            ns: (ns - empty.0).max(0.0),
        });
    }
    drop(chain);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out)
}
