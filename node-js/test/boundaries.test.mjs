// A new user's first hour (issue 17) in Node.js: out-of-range numbers and misspelt options are
// INVALID_INPUT, never a wrapped value or an aborted process; Ctrl-C stops `npx batara`; a process
// exiting while a node starts never crashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';

import { Node, Client, Keypair, BataraError } from '../index.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const index = path.join(here, '..', 'index.js');
const invalid = (e) => e instanceof BataraError && e.code === 'INVALID_INPUT';

test('out-of-range counts and indexes are INVALID_INPUT, not wrapped or aborting', async () => {
  // -1 wrapped to 2^32 - 1 accounts and aborted the process (a 206 GB allocation).
  for (const accounts of [-1, 2 ** 32 - 1, 10_001, 1.5, NaN, '3']) {
    await assert.rejects(Node.dev({ accounts }), invalid, `accounts ${accounts}`);
  }
  await assert.rejects(Node.dev({ acounts: 2 }), (e) => invalid(e) && /"acounts"/.test(e.message));
  await assert.rejects(Node.dev('fast'), invalid);
  for (const index of [-1, 1.5, 2 ** 32, NaN, 'a', null]) {
    assert.throws(() => Keypair.devAccount(index), invalid, `devAccount(${index})`);
  }
  assert.equal(Keypair.devAccount(2 ** 32 - 1).address.slice(0, 4), 'bat1');
  const node = await Node.dev({ accounts: 2, mode: 'manual', rpcAddr: '127.0.0.1:0' });
  const client = new Client(node.rpcUrl);
  const [a, b] = node.accounts;
  try {
    for (const api of [node, client]) {
      // mine(-1) made blocks without end (45,984 in 5 s).
      for (const count of [-1, 0, 10_001, 2 ** 32, 1.5]) {
        await assert.rejects(api.mine(count), invalid, `mine(${count})`);
      }
      await assert.rejects(api.wait('0x' + '00'.repeat(32), { timeoutMs: -1 }), invalid);
      await assert.rejects(api.wait('0x' + '00'.repeat(32), { timeout: 5 }), (e) => invalid(e) && /"timeout"/.test(e.message));
      await assert.rejects(api.transfer(a, b.address, 1n, { fees: 1n }), invalid);
      await assert.rejects(api.accountPage({ limit: -1 }), invalid);
      await assert.rejects(api.account(a.address, -1), invalid);
      await assert.rejects(api.account(a.address, 0.5), invalid);
      await assert.rejects(api.increaseTime(-5), invalid);
      await assert.rejects(api.revert(-1), invalid);
    }
    assert.equal((await node.mine(3)).length, 3);
    // A transfer awaited on a manual chain says why it times out.
    await assert.rejects(
      node.wait(await node.transfer(a, b.address, 1n, { wait: false }), { timeoutMs: 50 }),
      (e) => e.code === 'TIMEOUT' && /manual mode/.test(e.message),
    );
  } finally {
    await node.close();
  }
});

test('fuzz: numeric and options arguments give a result or a BataraError, nothing else', async () => {
  let seed = 0x2545f491;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const values = [-1, 0, 1, 2, 3, 10_000, 10_001, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -(2 ** 60), 1.5, NaN, Infinity,
    -0, 5n, -5n, 2n ** 64n, '1', 'latest', '', null, undefined, true, {}, [], { x: 1 }];
  const pick = () => (rand() < 0.3 ? Math.floor((rand() - 0.5) * 2 ** 40) : values[Math.floor(rand() * values.length)]);
  const node = await Node.dev({ accounts: 2, mode: 'manual' });
  const [a, b] = node.accounts;
  const calls = [
    (v) => node.mine(typeof v === 'number' && v > 3 ? v + 10_001 : v),
    (v) => node.account(a.address, v),
    (v) => node.block(v),
    (v) => node.receipts(v),
    (v) => node.accountPage({ limit: v }),
    (v) => node.accountPage(v),
    (v) => node.wait('0x' + '11'.repeat(32), { timeoutMs: v }),
    (v) => node.increaseTime(v),
    (v) => node.revert(v),
    (v) => node.validators(v),
    (v) => node.transfer(a, b.address, v, { wait: false }),
    (v) => node.submit(Buffer.from([1]), v),
    async (v) => Keypair.devAccount(v),
  ];
  let ok = 0;
  let refused = 0;
  try {
    for (let i = 0; i < 400; i++) {
      const v = pick();
      try {
        await calls[i % calls.length](v);
        ok++;
      } catch (e) {
        assert.ok(e instanceof BataraError, `call ${i % calls.length}(${String(v)}) threw ${e}`);
        refused++;
      }
    }
  } finally {
    await node.close();
  }
  assert.ok(ok > 0 && refused > 0, `ok ${ok}, refused ${refused}`);
});

/** Runs `node cli.js dev …`, waits for its banner, sends `signal`; resolves to { code, signal, ms, stderr }. */
function stopCli(signal) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(here, '..', 'cli.js'), 'dev', '--ephemeral', '--rpc-addr', '127.0.0.1:0']);
    let out = '';
    let err = '';
    let sent = 0;
    const killer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.stdout.on('data', (d) => {
      out += d;
      if (!sent && out.includes('Press Ctrl-C')) {
        sent = Date.now();
        p.kill(signal);
      }
    });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('exit', (code, sig) => {
      clearTimeout(killer);
      resolve({ code, signal: sig, ms: sent ? Date.now() - sent : -1, stderr: err });
    });
  });
}

test('Ctrl-C and SIGTERM stop the Node.js CLI cleanly', async () => {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    // Before: the signal re-raised itself for ever (Node's handler chained under tokio's): the
    // process spun at 180% CPU until the SIGKILL above.
    const r = await stopCli(signal);
    assert.equal(r.signal, null, `${signal}: killed (${r.stderr})`);
    assert.equal(r.code, 0, `${signal}: ${r.stderr}`);
    assert.match(r.stderr, /shutting down/);
    assert.ok(r.ms >= 0 && r.ms < 20_000, `${signal}: stopped after ${r.ms} ms`);
  }
});

test('a process exiting while Node.dev() starts never crashes (100 runs)', () => {
  const req = JSON.stringify(index);
  const runs = [];
  for (let i = 0; i < 100; i++) {
    // Half exit on a timer during the start; half forget `await` and throw at once (the node's
    // accounts of a Promise), which ends the process with an uncaught TypeError.
    const code = i % 2
      ? `const { Node } = require(${req}); Node.dev(); setTimeout(() => process.exit(0), ${i % 6});`
      : `const { Node } = require(${req}); const node = Node.dev({ accounts: 2 }); const [a] = node.accounts;`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 60_000 });
    runs.push({ i, status: r.status, signal: r.signal, stderr: r.stderr });
  }
  const crashed = runs.filter((r) => r.signal !== null || (r.i % 2 ? r.status !== 0 : r.status !== 1));
  assert.deepEqual(crashed.map((r) => `${r.i}: ${r.status}/${r.signal} ${r.stderr.slice(-300)}`), []);
  // The uncaught error is the user's, reported as Node reports it.
  assert.match(runs[0].stderr, /TypeError/);
});
