// Node.js binding benchmarks (run by scripts/bench-bindings.sh on a release build).
// 1. pre-signed transfers through submitBatch, committed; 2. await node.balance()/account() per
// call (each a Promise run off the JS thread: one after another, the round trip of one read);
// 3. Node.dev() to its first block.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Node, Transaction } from '@batara/node';

const TXS = Number(process.argv[2] || 100000);
const SENDERS = 2000;
const BATCH = 4096;
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function throughput() {
  // On disk, like `batara bench transfers` (which also fsyncs each block; dev nodes do not).
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'batara-bench-js-'));
  const node = await Node.dev({ accounts: SENDERS, dataDir });
  const keys = node.accounts;
  const raw = [];
  for (let j = 0; j < TXS; j++) {
    raw.push(Transaction.transfer(keys[(j + 1) % SENDERS].address, 1n, 1n).sign(keys[j % SENDERS], Math.floor(j / SENDERS), node.chainId).raw);
  }
  const stream = node.blocks();
  const t0 = performance.now();
  for (let i = 0; i < TXS; i += BATCH) {
    let pending = raw.slice(i, i + BATCH);
    while (pending.length) {
      const res = await node.submitBatch(pending);
      const retry = [];
      res.forEach((r, k) => {
        if (typeof r !== 'string') {
          if (r.reason === 'pool_full' || r.reason === 'sender_full') retry.push(pending[k]);
          else throw r;
        }
      });
      pending = retry;
      if (pending.length) await new Promise((r) => setTimeout(r, 2));
    }
  }
  let committed = 0;
  while (committed < TXS) committed += (await stream.next()).value.txs.length;
  const dt = (performance.now() - t0) / 1000;
  await node.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return TXS / dt;
}

async function accountOverhead() {
  const node = await Node.dev({ accounts: 1 });
  const addr = node.accounts[0].address;
  const n = 20000;
  const bal = [];
  const acc = [];
  for (let r = 0; r < 5; r++) {
    let t0 = performance.now();
    for (let i = 0; i < n; i++) await node.balance(addr);
    bal.push(((performance.now() - t0) * 1000) / n);
    t0 = performance.now();
    for (let i = 0; i < n; i++) await node.account(addr);
    acc.push(((performance.now() - t0) * 1000) / n);
  }
  await node.close();
  return [median(bal), median(acc)];
}

async function coldStart() {
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    const node = await Node.dev({ accounts: 10, mode: 'manual' });
    await node.mine();
    runs.push(performance.now() - t0);
    await node.close();
  }
  return median(runs);
}

const tps = await throughput();
console.log(`node submitBatch: ${tps.toFixed(0)} committed tx/s`);
const [bal, acc] = await accountOverhead();
console.log(`node node.balance(): ${bal.toFixed(2)} us/call, node.account(): ${acc.toFixed(2)} us/call`);
console.log(`node Node.dev() to first block: ${(await coldStart()).toFixed(1)} ms`);
