import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

import { Node, Client, Keypair, Transaction, BataraError, ERROR_TABLE, verify, addressOf } from '../index.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const vectors = path.join(root, 'tests', 'vectors');
const unhex = (s) => Buffer.from(s.replace(/^0x/, ''), 'hex');

test('shared vectors: error kinds', () => {
  const rows = JSON.parse(fs.readFileSync(path.join(vectors, 'errors.json'), 'utf8')).kinds;
  assert.deepEqual(ERROR_TABLE, rows);
  // Bad input from the addon carries the table's code for invalid_input.
  const invalid = rows.find((r) => r.kind === 'invalid_input').js;
  assert.throws(() => Transaction.unjail('bat1nope').sign(Keypair.generate(), 0, 'c'), (e) => e instanceof BataraError && e.code === invalid);
});

test('require() and import give the same objects', () => {
  const cjs = createRequire(import.meta.url)('../index.js');
  assert.equal(cjs.Node, Node);
  assert.equal(cjs.BataraError, BataraError);
});

test('shared vectors: keys, transactions, Wycheproof', () => {
  const v = JSON.parse(fs.readFileSync(path.join(vectors, 'batara.json'), 'utf8'));
  for (const k of v.keys) {
    const kp = Keypair.fromSeed(unhex(k.seed));
    assert.equal('0x' + kp.publicKey.toString('hex'), k.public_key);
    assert.equal(kp.address, k.address);
    assert.equal(addressOf(kp.publicKey), k.address);
    assert.equal('0x' + kp.sign(unhex(k.message)).toString('hex'), k.signature);
  }
  const kinds = new Set();
  for (const t of v.transactions) {
    const kp = Keypair.fromSeed(unhex(t.seed));
    const b = t.body;
    const k = b.kind;
    const fee = BigInt(b.fee);
    const tx = {
      transfer: () => Transaction.transfer(k.to, BigInt(k.amount), fee),
      stake: () => Transaction.stake(unhex(k.validator_key), BigInt(k.amount), fee),
      unstake: () => Transaction.unstake(k.validator, BigInt(k.amount), fee),
      unjail: () => Transaction.unjail(k.validator, fee),
      upload: () => Transaction.upload(unhex(k.code), BigInt(k.gas_limit), BigInt(k.gas_price), fee),
      instantiate: () => Transaction.instantiate(k.code_hash, JSON.parse(unhex(k.args).toString()), unhex(k.salt),
        BigInt(k.value), BigInt(k.gas_limit), BigInt(k.gas_price), fee),
      call: () => Transaction.call(k.contract, k.method, JSON.parse(unhex(k.args).toString()),
        BigInt(k.value), BigInt(k.gas_limit), BigInt(k.gas_price), fee),
      delegate: () => Transaction.delegate(k.validator, BigInt(k.amount), fee),
      undelegate: () => Transaction.undelegate(k.validator, BigInt(k.amount), fee),
      redelegate: () => Transaction.redelegate(k.src_validator, k.dst_validator, BigInt(k.amount), fee),
      withdraw_rewards: () => Transaction.withdrawRewards(k.validator, fee),
      edit_commission: () => Transaction.editCommission(k.validator,
        { rate: k.rate_ppm, maxRate: k.max_rate_ppm, maxChange: k.max_change_ppm }, fee),
      propose: () => Transaction.propose(k.title,
        k.content.kind === 'params'
          ? Transaction.paramsChange(Object.fromEntries(k.content.changes.map((c) => [c.params, c.values])))
          : k.content,
        BigInt(k.deposit), { summary: k.summary, expedited: k.expedited }, fee),
      deposit: () => Transaction.deposit(BigInt(k.proposal), BigInt(k.amount), fee),
      vote: () => Transaction.vote(BigInt(k.proposal),
        Object.fromEntries(k.options.map((o) => [o.option, o.weight_ppm / 1e6])), fee),
      cancel_proposal: () => Transaction.cancelProposal(BigInt(k.proposal), fee),
    }[k.type]();
    kinds.add(k.type);
    const s = tx.sign(kp, BigInt(b.nonce), b.chain_id);
    assert.equal('0x' + s.raw.toString('hex'), t.signed_bytes);
    assert.equal(s.hash, t.hash);
    // Any kind signs from its JSON alone, the same bytes as the typed builder's.
    assert.deepEqual(new Transaction(k, fee).sign(kp, BigInt(b.nonce), b.chain_id).raw, s.raw);
  }
  assert.deepEqual([...kinds].sort(), ['call', 'cancel_proposal', 'delegate', 'deposit', 'edit_commission', 'instantiate',
    'propose', 'redelegate', 'stake', 'transfer', 'undelegate', 'unjail', 'unstake', 'upload', 'vote', 'withdraw_rewards']);
  const w = JSON.parse(fs.readFileSync(path.join(vectors, 'wycheproof_ed25519_test.json'), 'utf8'));
  let n = 0;
  for (const g of w.testGroups) {
    for (const c of g.tests) {
      assert.equal(verify(unhex(g.publicKey.pk), unhex(c.msg), unhex(c.sig)), c.result === 'valid', `case ${c.tcId}`);
      n++;
    }
  }
  assert.equal(n, 151);
});

test('dev chain: transfer, balances, receipt, blocks stream', async () => {
  const node = await Node.dev({ accounts: 3 });
  const [a, b] = node.accounts;
  const before = await node.balance(b.address);
  const stream = node.blocks();
  const hash = await node.transfer(a, b.address, 1000n, { fee: 2n });
  assert.equal(await node.balance(b.address), before + 1000n);
  // The synchronous read: a bigint at once, bad input a BataraError like the async calls.
  assert.equal(node.balanceSync(b.address), before + 1000n);
  assert.equal(node.balanceSync(Keypair.generate().address), 0n);
  assert.throws(() => node.balanceSync('bat1nope'), (e) => e instanceof BataraError && e.code === 'INVALID_INPUT' && /bat1nope/.test(e.message));
  assert.throws(() => node.balanceSync(5), (e) => e instanceof BataraError && e.code === 'INVALID_INPUT');
  assert.equal((await node.account(a.address)).nonce, 1n);
  const tx = await node.transaction(hash);
  assert.equal(tx.receipt.status, 'success');
  const first = await stream.next();
  assert.equal(first.value.txs[0].hash, hash);
  assert.equal((await node.block(Number(tx.height))).hash, first.value.hash);
  const [receipt] = await node.receipts(Number(tx.height));
  assert.equal(receipt.tx_hash, hash);
  assert.equal(receipt.fee, '2');
  // Accounts page in address order: the 3 dev accounts and a fourth.
  await node.transfer(a, Keypair.generate().address, 1n, { fee: 2n });
  const p1 = await node.accountPage({ limit: 2 });
  const p2 = await node.accountPage({ after: p1.next, limit: 2 });
  assert.equal(p2.next, null);
  const seen = [...p1.accounts, ...p2.accounts].map((x) => x.address);
  assert.equal(new Set(seen).size, 4);
  assert.ok(seen.includes(b.address));
  await assert.rejects(node.accountPage({ limit: 0 }), (e) => e.code === 'INVALID_INPUT');
  await assert.rejects(node.accountPage({ limit: -1 }), (e) => e.code === 'INVALID_INPUT');
  await assert.rejects(node.accountPage({ after: 'bat1nope' }), (e) => e.code === 'INVALID_INPUT');
  await assert.rejects(node.receipts(99), (e) => e.code === 'NOT_FOUND');
  await node.close();
  // The stream ends when the node stops.
  assert.equal((await stream.next()).done, true);
  await assert.rejects(node.transfer(a, b.address, 1n), (e) => e instanceof BataraError && e.code === 'NODE_STOPPED');
});

test('rejections and bad input are BataraErrors with codes, never crashes', async () => {
  const node = await Node.dev({ accounts: 2, mode: 'manual' });
  const [a, b] = node.accounts;
  const s = Transaction.transfer(b.address, 5n).sign(a, 0, node.chainId);
  assert.equal(await node.submit(s.raw), s.hash);
  await assert.rejects(node.submit(s.raw), (e) => e.code === 'TX_REJECTED' && e.reason === 'duplicate');
  await assert.rejects(node.submit(Buffer.from('garbage')), (e) => e.reason === 'malformed');
  await node.mine();
  await assert.rejects(node.submit(s.raw), (e) => e.reason === 'nonce_too_low' && /expected 1, got 0/.test(e.message));
  await assert.rejects(node.account('bat1nope'), (e) => e instanceof BataraError && e.code === 'INVALID_INPUT');
  await assert.rejects(node.account(undefined), (e) => e.code === 'INVALID_INPUT');
  await assert.rejects(node.transfer(a, b.address, -1n), (e) => e.code === 'INVALID_INPUT');
  await assert.rejects(node.transfer(a, b.address, 2n ** 200n), (e) => e.code === 'INVALID_INPUT');
  await assert.rejects(node.transfer(null, b.address, 1n), (e) => e.code === 'INVALID_INPUT');
  await assert.rejects(node.transaction('0x' + '00'.repeat(32)), (e) => e.code === 'NOT_FOUND');
  assert.throws(() => Keypair.fromSeed(Buffer.alloc(3)), (e) => e.code === 'INVALID_INPUT');
  await assert.rejects(Node.dev({ mode: 'sometimes' }), (e) => e.code === 'INVALID_INPUT');
  const results = await node.submitBatch([Transaction.transfer(b.address, 1n).sign(a, 1, node.chainId).raw, Buffer.from([1])]);
  assert.equal(typeof results[0], 'string');
  assert.ok(results[1] instanceof BataraError && results[1].reason === 'malformed');
  // Staking: register a validator, read it, bad input.
  const vk = Keypair.generate();
  const st = Transaction.stake(vk.publicKey, 2n * 10n ** 18n, 1n).sign(a, await node.nextNonce(a.address), node.chainId);
  await node.submit(st.raw);
  await node.mine();
  assert.equal((await node.account(a.address)).staked, 2n * 10n ** 18n);
  assert.equal((await node.validator(vk.address)).operator, a.address);
  assert.equal((await node.validators())[0].voting_power, '1');
  assert.throws(() => Transaction.stake(Buffer.alloc(3), 1n).sign(a, 0, node.chainId), (e) => e.code === 'INVALID_INPUT');
  assert.throws(() => Transaction.unjail('bat1nope').sign(a, 0, node.chainId), (e) => e.code === 'INVALID_INPUT');
  await assert.rejects(node.validator(b.address), (e) => e.code === 'NOT_FOUND');
  const snap = await node.snapshot();
  await node.mine(2);
  await node.revert(snap);
  await node.setBalance(b.address, 42n);
  assert.equal(await node.balance(b.address), 42n);
  await node.close();
});

test('client over JSON-RPC, and two nodes in one process', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batara-js-'));
  const n1 = await Node.dev({ accounts: 2, rpcAddr: '127.0.0.1:0', dataDir: path.join(dir, 'one') });
  const n2 = await Node.dev({ accounts: 2, dataDir: path.join(dir, 'two') });
  const [a, b] = n1.accounts;
  const c = new Client(n1.rpcUrl);
  const h = await c.transfer(a, b.address, 7n, { fee: 1n });
  assert.equal((await c.transaction(h)).receipt.status, 'success');
  assert.equal((await c.account(b.address)).balance, await n1.balance(b.address));
  assert.equal(await n2.balance(b.address) + 7n, await n1.balance(b.address));
  await assert.rejects(c.block(999), (e) => e.code === 'NOT_FOUND');
  const tinfo = await c.transaction(h);
  assert.deepEqual(await c.receipts(Number(tinfo.height)), await n1.receipts(Number(tinfo.height)));
  assert.deepEqual(await c.accountPage({ limit: 10 }), await n1.accountPage({ limit: 10 }));
  await n1.close();
  await n2.close();
  await assert.rejects(new Client('http://127.0.0.1:1').info(), (e) => e.code === 'IO');
});

test('a follower joins over the network', async () => {
  const key = Keypair.generate();
  const genesis = {
    chain_id: 'js-net',
    genesis_time: '1',
    accounts: [],
    validators: [{ pubkey: '0x' + key.publicKey.toString('hex'), power: '1' }],
    dev: true, // the validator runs the dev engine, the follower follows it
  };
  const base = { storage: { ephemeral: true }, rpc: { enabled: false } };
  const p2p = { enabled: true, listen: '127.0.0.1:0' };
  const v = await Node.start({ config: { ...base, p2p, consensus: { mode: 'manual' } }, genesis, validatorKey: key });
  await v.mine(3);
  let info = await v.info();
  for (let i = 0; i < 200 && info.listen_addrs.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    info = await v.info();
  }
  assert.ok(info.listen_addrs[0].endsWith(info.peer_id));
  const f = await Node.start({ config: { ...base, p2p: { ...p2p, bootnodes: info.listen_addrs } }, genesis });
  assert.equal((await f.info()).engine, 'follower');
  for (let i = 0; i < 500 && (await f.info()).height !== '3'; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal((await f.block(3)).hash, (await v.block(3)).hash);
  await f.close();
  await v.close();
});

test('quickstart example and npx batara run', () => {
  const out = execFileSync(process.execPath, [path.join(root, 'examples', 'node', 'quickstart.mjs')], { encoding: 'utf8' });
  assert.match(out, /bob has \d+/);
  const r = spawnSync(process.execPath, [path.join(here, '..', 'cli.js'), 'keys', 'show', '/nonexistent'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nonexistent/);
});

test('a backup of a running node restores to its block', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batara-js-backup-'));
  const node = await Node.dev({ accounts: 2, dataDir: path.join(dir, 'live') });
  const [a, b] = node.accounts;
  await node.transfer(a, b.address, 11n);
  const backup = await node.backup(path.join(dir, 'backup'));
  await node.transfer(a, b.address, 5n);
  const height = Number(backup.height);
  assert.equal(height, Number(node.height) - 1);
  assert.equal(backup.state_root, (await node.block(height)).header.state_root);
  await assert.rejects(node.backup(path.join(dir, 'backup')), (e) => e.code === 'INVALID_INPUT' && /already exists/.test(e.message));
  await assert.rejects(node.backup(), (e) => e.code === 'INVALID_INPUT' && /backup_dir/.test(e.message));
  await node.close();
  const restored = await Node.dev({ accounts: 2, dataDir: path.join(dir, 'backup', 'data') });
  assert.equal((await restored.block()).hash, backup.hash);
  await restored.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('evidence is for BFT nodes and is checked', async () => {
  const node = await Node.dev({ accounts: 1, rpcAddr: '127.0.0.1:0' });
  const vote = { kind: 'prevote', height: '1', round: 0, block_hash: '0x' + '11'.repeat(32),
    validator: node.accounts[0].address, signature: '0x' + '00'.repeat(64) };
  const fake = { vote_a: vote, vote_b: { ...vote, block_hash: '0x' + '22'.repeat(32) } };
  for (const api of [node, new Client(node.rpcUrl)]) {
    await assert.rejects(api.submitEvidence(fake), (e) => e.code === 'INVALID_INPUT' && /takes no evidence/.test(e.message));
    await assert.rejects(api.submitEvidence({ vote_a: 1 }), (e) => e.code === 'INVALID_INPUT' && /vote_a, vote_b/.test(e.message));
  }
  await node.close();
});

test('start from config and genesis objects', async () => {
  const key = Keypair.generate();
  const alice = Keypair.generate();
  const genesis = {
    chain_id: 'js-chain',
    genesis_time: '1',
    accounts: [{ address: alice.address, balance: '1000' }],
    validators: [{ pubkey: '0x' + key.publicKey.toString('hex'), power: '1' }],
  };
  const config = { storage: { ephemeral: true }, rpc: { enabled: false } };
  const node = await Node.start({ config, genesis, validatorKey: key });
  assert.equal(node.chainId, 'js-chain');
  await node.transfer(alice, key.address, 10n);
  assert.equal(await node.balance(key.address), 10n);
  // Not a dev chain (no dev: true): one validator runs BFT, and every dev control is refused.
  assert.equal((await node.info()).engine, 'bft');
  for (const control of [
    () => node.mine(),
    () => node.snapshot(),
    () => node.revert(0),
    () => node.setBalance(alice.address, 10n ** 30n),
    () => node.increaseTime(1000),
  ]) {
    await assert.rejects(async () => control(), (e) => e.code === 'NOT_DEV_CHAIN' && /not a dev chain/.test(e.message));
  }
  assert.equal(await node.balance(alice.address), 990n);
  await node.close();
  await assert.rejects(Node.start({ config: { rpcc: {} }, genesis, validatorKey: key }), (e) => e.code === 'CONFIG');
  await assert.rejects(Node.start({ config }), (e) => e.code === 'INVALID_INPUT');
});

test('transfer pays the chain minimum fee by default', async () => {
  const key = Keypair.generate();
  const alice = Keypair.generate();
  const genesis = {
    chain_id: 'js-fees',
    genesis_time: '1',
    params: { min_fee: '5' },
    accounts: [{ address: alice.address, balance: '1000' }],
    validators: [{ pubkey: '0x' + key.publicKey.toString('hex'), power: '1' }],
  };
  const config = { storage: { ephemeral: true }, rpc: { addr: '127.0.0.1:0' } };
  const node = await Node.start({ config, genesis, validatorKey: key });
  assert.equal((await node.info()).min_fee, '5');
  let h = await node.transfer(alice, key.address, 10n);
  assert.equal((await node.transaction(h)).receipt.fee, '5');
  await assert.rejects(node.transfer(alice, key.address, 10n, { fee: 4n }), (e) => e.code === 'TX_REJECTED' && e.reason === 'fee_too_low');
  const client = new Client(node.rpcUrl);
  h = await client.transfer(alice, key.address, 1n);
  assert.equal((await client.transaction(h)).receipt.fee, '5');
  await node.close();
});
