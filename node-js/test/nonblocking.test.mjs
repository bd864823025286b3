// The JS thread never waits for the node: every call that reads storage or waits is a Promise,
// blocks() awaits the node's block channel instead of polling, and a node garbage-collected
// without close() stops on a background thread (and still stops cleanly when the process exits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { Node, Transaction } from '../index.mjs';

const index = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'index.mjs')).href;

/** Context switches of all of this process's threads so far (each one a wake-up). */
function contextSwitches() {
  let n = 0;
  for (const t of fs.readdirSync('/proc/self/task')) {
    let status;
    try {
      status = fs.readFileSync(`/proc/self/task/${t}/status`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) n += Number(m[1]);
  }
  return n;
}

/** Resolves after `n` ticks of a 5 ms interval: proof that the event loop ran `n` times. */
function ticks(n) {
  return new Promise((resolve) => {
    let seen = 0;
    const iv = setInterval(() => {
      if (++seen >= n) {
        clearInterval(iv);
        resolve();
      }
    }, 5);
  });
}

test('every read, wait and dev control returns a Promise at once, never a value', async () => {
  const node = await Node.dev({ accounts: 2, mode: 'manual' });
  try {
    const [a, b] = node.accounts;
    const signed = Transaction.transfer(b.address, 1n).sign(a, 0, node.chainId);
    const hash = await node.submit(signed.raw);
    await node.mine();
    const [v] = await node.validators();
    const calls = {
      info: () => node.info(),
      nextNonce: () => node.nextNonce(a.address),
      account: () => node.account(a.address),
      proof: () => node.proof(a.address),
      balance: () => node.balance(a.address),
      block: () => node.block(1),
      header: () => node.header(1),
      receipts: () => node.receipts(1),
      accountPage: () => node.accountPage({ limit: 2 }),
      transaction: () => node.transaction(hash),
      validators: () => node.validators(),
      validator: () => node.validator(v.address),
      snapshot: () => node.snapshot(),
      increaseTime: () => node.increaseTime(1),
      // Bad input rejects (it does not throw synchronously either).
      badAccount: () => node.account('bat1nope'),
    };
    for (const [name, call] of Object.entries(calls)) {
      const r = call();
      assert.ok(r instanceof Promise, `${name}() returned ${typeof r}, not a Promise`);
      await r.catch(() => {});
    }
    assert.equal((await node.account(a.address)).nonce, 1n);
    await assert.rejects(node.account('bat1nope'), (e) => e.code === 'INVALID_INPUT');
    // The getters stay synchronous values (in memory).
    assert.equal(node.height, 1);
    assert.equal(node.chainId, 'batara-dev');
  } finally {
    await node.close();
  }
});

test('the JS thread keeps running while a wait is in flight', async () => {
  const node = await Node.dev({ accounts: 2, mode: 'manual' });
  try {
    const [a, b] = node.accounts;
    const signed = Transaction.transfer(b.address, 1n).sign(a, 0, node.chainId);
    await node.submit(signed.raw);
    let settled = false;
    const waiting = node.wait(signed.hash, { timeoutMs: 60000 }).finally(() => { settled = true; });
    // 20 timer ticks run while the wait is pending; only then is the block made (from this
    // thread), so a wait that held the JS thread could never end.
    await ticks(20);
    assert.equal(settled, false);
    await node.mine();
    assert.equal((await waiting).receipt.status, 'success');
  } finally {
    await node.close();
  }
});

test('blocks() waits without polling, and ends when the node stops', async () => {
  const node = await Node.dev({ accounts: 1, mode: 'manual' });
  const stream = node.blocks();
  const first = stream.next();
  await ticks(20); // the stream is waiting
  const [switches0, t0] = [contextSwitches(), performance.now()];
  await new Promise((r) => setTimeout(r, 1500));
  const [switches, ms] = [contextSwitches() - switches0, performance.now() - t0];
  // A waiting stream costs no wake-ups: a poll every 2 ms made ~480 context switches per
  // second here; awaiting the channel makes a handful. (Wake-ups are counted, not CPU time:
  // the process's CPU time also holds RocksDB's and V8's own threads and swung past any
  // bound under a loaded CI machine.)
  assert.ok(switches < 100, `${switches} context switches in ${ms.toFixed(0)} ms of waiting`);
  await node.mine();
  assert.equal((await first).value.header.height, '1');
  // A pending next() ends (done) as soon as the node stops.
  const pending = stream.next();
  await node.close();
  const t1 = performance.now();
  assert.deepEqual(await pending, { value: undefined, done: true });
  assert.ok(performance.now() - t1 < 500, 'the stream ended late');
  assert.equal(stream.missed, 0);
});

test('a consumer that falls over 1024 blocks behind skips the oldest, counted in missed', async () => {
  const node = await Node.dev({ accounts: 1, mode: 'manual' });
  try {
    const stream = node.blocks();
    await node.mine(1030); // nobody reads meanwhile: the channel keeps the last 1024
    assert.equal((await stream.next()).value.header.height, '7');
    assert.equal(stream.missed, 6);
    assert.equal((await stream.next()).value.header.height, '8');
    assert.equal(stream.missed, 6);
  } finally {
    await node.close();
  }
});

/** Runs `code` (an ES module) in a child `node --expose-gc`; returns its last stdout line as JSON. */
function child(code, ...args) {
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code, '--', ...args], {
    encoding: 'utf8',
    timeout: 120000,
  });
  assert.equal(r.signal, null, `child killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

// A node making a block of 9,000 transfers (9 senders, 1,000 each) when it is dropped: stopping it
// means waiting for that block (a few hundred ms in a debug build).
const BUSY_NODE = `
import { Node, Transaction } from ${JSON.stringify(index)};
const dir = process.argv.at(-1);
export async function busyNode() {
  const node = await Node.dev({ accounts: 10, dataDir: dir });
  const keys = node.accounts;
  const raws = [];
  for (let i = 0; i < 9000; i++) {
    raws.push(Transaction.transfer(keys[0].address, 1n).sign(keys[1 + (i % 9)], Math.floor(i / 9), node.chainId).raw);
  }
  const res = await node.submitBatch(raws);
  if (!res.every((r) => typeof r === 'string')) throw new Error('a transfer was rejected');
  return node;
}
`;

test('a node garbage-collected without close() stops off the JS thread', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batara-js-gc-'));
  try {
    const out = child(`${BUSY_NODE}
let node = await busyNode();
let collected = false;
const registry = new FinalizationRegistry(() => { collected = true; });
registry.register(node, 0);
let last = performance.now(), maxGap = 0;
const iv = setInterval(() => { const t = performance.now(); maxGap = Math.max(maxGap, t - last); last = t; }, 5);
node = null;
const t0 = performance.now();
// Collect until the Node is gone (a just-awaited object may survive one collection); its native
// node is unreachable with it, so its finalizer runs too.
for (let i = 0; !collected && i < 200; i++) { global.gc(); await new Promise((r) => setTimeout(r, 1)); }
// The dropped node holds its database until it has stopped: open it again until that works.
let failed = 0, again, opened;
for (;;) {
  const start = performance.now();
  try { again = await Node.dev({ accounts: 10, dataDir: dir }); opened = start - t0; break; }
  catch (e) { if (e.code !== 'IO') throw e; failed++; await new Promise((r) => setTimeout(r, 10)); }
}
clearInterval(iv);
const block = await again.block(1);
console.log(JSON.stringify({ collected, maxGap, opened, failed, height: again.height, txs: block.txs.length }));
await again.close();
`, dir);
    assert.ok(out.collected, 'the dropped Node was never garbage-collected');
    // The old finalizer stopped the node on the JS thread: the loop stood still for the whole stop
    // (one gap nearly as long as the wait for the database), and no open ran while it stopped.
    assert.ok(out.failed >= 5, `only ${out.failed} opens ran (and failed) while the dropped node was stopping`);
    assert.ok(out.maxGap < out.opened / 2, `the event loop stood still ${out.maxGap.toFixed(0)} ms of the ${out.opened.toFixed(0)} ms the stop took`);
    // It stopped cleanly: the block it was making is committed, whole.
    assert.deepEqual([out.height, out.txs], [1, 9000]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a process that exits after dropping a node (collected or not) stops it cleanly first', () => {
  for (const collect of [true, false]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batara-js-exit-'));
    try {
      // The process ends right after the drop (or the collection): the stop, which waits for
      // the block, is still under way when the process exits.
      assert.deepEqual(child(`${BUSY_NODE}
let node = await busyNode();
let collected = ${!collect};
const registry = new FinalizationRegistry(() => { collected = true; });
registry.register(node, 0);
node = null;
for (let i = 0; !collected && i < 200; i++) { global.gc(); await new Promise((r) => setTimeout(r, 1)); }
console.log(JSON.stringify({ collected }));
`, dir), { collected: true });
      const out = child(`
import { Node } from ${JSON.stringify(index)};
const node = await Node.dev({ accounts: 10, dataDir: process.argv.at(-1) });
console.log(JSON.stringify({ height: node.height, txs: node.height ? (await node.block(1)).txs.length : 0 }));
await node.close();
`, dir);
      assert.deepEqual(out, { height: 1, txs: 9000 }, collect ? 'collected' : 'not collected');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});
