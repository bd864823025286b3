// One surface: every case runs against the embedded Node and against a Client on that node's
// JSON-RPC, with the same calls and the same assertions (same method names, arguments, result
// shapes and BataraError codes). Every method of both returns a Promise; `chainId` and `height` are
// getters on both (values on Node, Promises on Client), so the cases `await` them too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { Node, Client, Keypair, Transaction, BataraError, addressOf } from '../index.mjs';

const DEV_BALANCE = 10n ** 24n; // what each dev account holds at genesis
const sha = (...parts) => createHash('sha256').update(Buffer.concat(parts)).digest();
const addressBytes = (publicKey) => sha(publicKey).subarray(0, 20);

/** Asserts that `fn` throws or rejects with a BataraError of `code` (and `reason`, if given). */
async function rejects(fn, code, reason) {
  await assert.rejects(async () => fn(), (e) => {
    assert.ok(e instanceof BataraError, `not a BataraError: ${e}`);
    assert.equal(e.code, code, e.message);
    if (reason !== undefined) assert.equal(e.reason, reason);
    return true;
  });
}

const targets = [
  ['node', (node) => node],
  ['client', (node) => new Client(node.rpcUrl)],
];

// [title, async ({ api, keys }) => ..., dev options]
const cases = [
  ['delegation, rewards and the community pool', async ({ api, keys: [a, b] }) => {
    const coin = 10n ** 18n;
    const [v] = await api.validators();
    const send = async (key, tx) => {
      const signed = tx.sign(key, await api.nextNonce(key.address), await api.chainId);
      await api.submit(signed.raw, { wait: true });
      return api.transaction(signed.hash);
    };
    assert.equal((await send(b, Transaction.delegate(v.address, 3n * coin, 1n))).receipt.status, 'success');
    const mine = await api.delegations(b.address);
    assert.deepEqual(mine.delegations.map((d) => [d.validator, d.amount]), [[v.address, String(3n * coin)]]);
    assert.equal((await api.account(b.address)).staked, 3n * coin);
    // A fee of 1,000,000: 2 % to the pool, the rest by shares (b holds 3 of the 4 coins).
    const pool = BigInt((await api.communityPool()).amount);
    const before = BigInt((await api.rewards(b.address)).total);
    await send(a, Transaction.transfer(a.address, 1n, 1_000_000n));
    assert.equal(BigInt((await api.communityPool()).amount) - pool, 20_000n);
    const earned = BigInt((await api.rewards(b.address)).total) - before;
    assert.ok(earned === 735_000n || earned === 734_999n, String(earned));
    const first = await api.delegators(v.address, { limit: 1 });
    assert.equal(first.delegations.length, 1);
    const rest = await api.delegators(v.address, { after: first.next });
    assert.equal(rest.next, null);
    assert.deepEqual(new Set([...first.delegations, ...rest.delegations].map((d) => d.delegator)), new Set([v.address, b.address]));
    const pending = BigInt((await api.rewards(b.address)).total);
    const balance = await api.balance(b.address);
    await send(b, Transaction.withdrawRewards(undefined, 1n));
    assert.equal(await api.balance(b.address), balance + pending - 1n);
    await send(b, Transaction.undelegate(v.address, coin, 1n));
    const after = await api.delegations(b.address);
    assert.equal(after.total_amount, String(2n * coin));
    assert.equal(after.unbonding[0].amount, String(coin));
    await assert.rejects(api.delegators(b.address), (e) => e.code === 'NOT_FOUND');
    await assert.rejects(api.delegations('bat1nope'), (e) => e.code === 'INVALID_INPUT');
    assert.throws(() => Transaction.editCommission(v.address, { rate: 2_000_000, maxRate: 0, maxChange: 0 }), (e) => e.code === 'INVALID_INPUT');
  }],
  ['governance: propose, vote, skip to the end, tally', async ({ api, keys: [a, b, c] }) => {
    const coin = 10n ** 18n;
    const [v] = await api.validators();
    const send = async (key, tx) => {
      const signed = tx.sign(key, await api.nextNonce(key.address), await api.chainId);
      await api.submit(signed.raw, { wait: true });
      return api.transaction(signed.hash);
    };
    // b bonds 3 coins beside the dev validator's 1: b alone is 75 % of the bonded stake.
    await send(b, Transaction.delegate(v.address, 3n * coin, 1n));
    const params = await api.govParams();
    assert.deepEqual(Object.keys(params.governed).sort(), ['chain', 'gov', 'staking', 'vm']);
    assert.equal(params.governed.chain.max_block_txs, 20000);
    assert.equal(params.governed.vm.max_tx_gas, '100000000');
    const deposit = BigInt(params.min_deposit);
    const changes = { chain: { max_block_txs: 5000 }, vm: { max_tx_gas: '50000000' } };
    const content = Transaction.paramsChange(changes);
    const r = await send(a, Transaction.propose('bigger blocks', content, deposit, { summary: 'more room' }));
    assert.equal(r.receipt.status, 'success');
    const statuses = r.receipt.events.filter((e) => e.kind === 'proposal_status')
      .map((e) => Object.fromEntries(e.attributes).status);
    assert.deepEqual(statuses, ['deposit_period', 'voting_period']);
    const [p] = (await api.proposals({ status: 'voting_period' })).proposals;
    const id = Number(p.id);
    assert.deepEqual(p.content.changes, Object.entries(changes).map(([params, values]) => ({ params, values })));
    await send(b, Transaction.vote(id, { yes: 0.7, no: 0.3 }, 1n));
    const live = await api.proposal(id);
    assert.deepEqual(live.deposits, [{ depositor: a.address, amount: String(deposit) }]);
    assert.deepEqual([live.current_tally.yes, live.current_tally.no], [String(21n * coin / 10n), String(9n * coin / 10n)]);
    const [vote] = (await api.votes(id)).votes;
    assert.equal(vote.voter, b.address);
    assert.equal(vote.power, String(3n * coin));
    const refused = (await send(c, Transaction.vote(id, 'yes', 1n))).receipt;
    assert.equal(refused.status, 'failed');
    assert.match(refused.error, /no stake bonded/);
    const balance = await api.balance(a.address);
    const skip = await api.skipTo({ votingEnd: id });
    assert.equal(Number(skip.height), (await api.height) + 1);
    const [block] = await api.mine(1);
    const done = await api.proposal(id);
    assert.equal(done.status, 'passed', done.result);
    assert.equal(done.tally.yes, String(21n * coin / 10n));
    const { governed } = await api.govParams();
    assert.equal(governed.chain.max_block_txs, 5000);
    assert.equal(governed.vm.max_tx_gas, '50000000');
    assert.equal(governed.vm.max_code_bytes, 819200, 'fields not named are kept');
    assert.equal(await api.balance(a.address), balance + deposit);
    const ended = (block.events ?? []).filter((e) => e.kind === 'proposal_status').map((e) => Object.fromEntries(e.attributes));
    assert.equal(ended[0].status, 'passed');
    assert.equal((await api.proposals({ status: 'passed' })).proposals[0].id, String(id));
    await rejects(() => api.skipTo({ votingEnd: id }), 'INVALID_INPUT');
    await rejects(() => api.skipTo({}), 'INVALID_INPUT');
    await rejects(() => api.proposals({ status: 'open' }), 'INVALID_INPUT');
    await rejects(() => api.proposal(99), 'NOT_FOUND');
    assert.throws(() => Transaction.vote(id, { yes: 1.5 }), (e) => e.code === 'INVALID_INPUT');
  }],
  ['chainId, height and info', async ({ api, keys: [a, b] }) => {
    assert.equal(await api.chainId, 'batara-dev');
    assert.equal(await api.height, 0);
    const info = await api.info();
    assert.equal(info.chain_id, 'batara-dev');
    assert.equal(info.height, '0');
    assert.equal(info.engine, 'dev');
    assert.equal(info.is_validator, true);
    assert.equal(info.latest_hash, info.genesis_hash);
    assert.equal(info.latest_hash, (await api.block(0)).hash);
    await api.transfer(a, b.address, 1n);
    const h = await api.height;
    assert.equal(typeof h, 'number');
    assert.ok(h >= 1);
    assert.equal(String(h), (await api.info()).height);
  }],

  ['reads of a block and a transaction after a transfer', async ({ api, keys: [a, b] }) => {
    const hash = await api.transfer(a, b.address, 1000n, { fee: 2n });
    const tx = await api.transaction(hash);
    assert.equal(tx.receipt.status, 'success');
    assert.equal(tx.receipt.fee, '2');
    assert.equal(tx.receipt.tx_hash, hash);
    assert.equal(tx.tx.body.kind.amount, '1000');
    const height = Number(tx.height);
    const blk = await api.block(height);
    assert.deepEqual(blk.txs.map((t) => t.hash), [hash]);
    assert.deepEqual(blk.evidence, []);
    assert.equal(blk.header.height, String(height));
    assert.deepEqual(await api.block(blk.hash), blk);
    assert.deepEqual(await api.block(BigInt(height)), blk);
    assert.deepEqual(await api.block(), await api.block('latest'));
    assert.deepEqual(await api.header(height), { hash: blk.hash, header: blk.header });
    assert.deepEqual(await api.header(blk.hash), await api.header(height));
    assert.equal((await api.header()).hash, (await api.block()).hash);
    assert.deepEqual(await api.receipts(height), [tx.receipt]);
    assert.deepEqual(await api.receipts(0), []);
  }],

  ['account fields and balance', async ({ api, keys: [a, b] }) => {
    assert.deepEqual(await api.account(b.address), { address: b.address, balance: DEV_BALANCE, nonce: 0n, staked: 0n });
    await api.transfer(a, b.address, 1000n, { fee: 2n });
    assert.deepEqual(await api.account(a.address), { address: a.address, balance: DEV_BALANCE - 1002n, nonce: 1n, staked: 0n });
    assert.equal(await api.balance(b.address), DEV_BALANCE + 1000n);
    const nobody = Keypair.generate().address;
    assert.deepEqual(await api.account(nobody), { address: nobody, balance: 0n, nonce: 0n, staked: 0n });
    // Many at once, in the order asked (a repeat included); an address with no account holds 0.
    const asked = [b.address, nobody, a.address, b.address];
    assert.deepEqual(await api.balances(asked), [DEV_BALANCE + 1000n, 0n, DEV_BALANCE - 1002n, DEV_BALANCE + 1000n]);
    assert.deepEqual(await api.balances([]), []);
    await rejects(() => api.balances([a.address, 'bat1nope']), 'INVALID_INPUT');
    await rejects(() => api.balances(a.address), 'INVALID_INPUT');
    await assert.rejects(api.balances(new Array(10_001).fill(nobody)), (e) => e.code === 'INVALID_INPUT' && /at most 10000 addresses/.test(e.message));
  }],

  ['accountPage pages through the accounts in address order', async ({ api, keys }) => {
    const [a] = keys;
    const d = Keypair.generate();
    await api.transfer(a, d.address, 5n, { fee: 1n }); // a fourth account
    const seen = [];
    let after = null;
    let pages = 0;
    do {
      const page = await api.accountPage({ after, limit: 2 });
      assert.deepEqual(Object.keys(page).sort(), ['accounts', 'next']);
      assert.ok(page.accounts.length <= 2);
      seen.push(...page.accounts);
      pages++;
      after = page.next;
      if (after !== null) assert.equal(after, page.accounts.at(-1).address);
    } while (after !== null);
    const raw = new Map([...keys, d].map((k) => [k.address, addressBytes(k.publicKey)]));
    // The three dev accounts and the new one, in the order of their address bytes (the fee
    // accrued to the validator's delegators, not to an account).
    assert.equal(pages, 2);
    assert.deepEqual(seen.map((x) => x.address).sort(), [...raw.keys()].sort());
    const order = [...raw.entries()].sort((x, y) => Buffer.compare(x[1], y[1])).map((x) => x[0]);
    assert.deepEqual(seen.map((x) => x.address), order);
    for (const x of seen) {
      const acct = await api.account(x.address);
      assert.deepEqual(x, { address: acct.address, balance: String(acct.balance), nonce: String(acct.nonce), staked: String(acct.staked) });
    }
    assert.deepEqual(await api.accountPage(), { accounts: seen, next: null });
  }],

  ['validators and validator', async ({ api, keys: [a, b] }) => {
    const vs = await api.validators();
    assert.equal(vs.length, 1);
    const [v] = vs;
    assert.deepEqual(Object.keys(v).sort(), ['address', 'jailed', 'operator', 'pubkey', 'stake', 'voting_power']);
    assert.equal(v.voting_power, '1');
    assert.equal(v.jailed, false);
    assert.equal(addressOf(Buffer.from(v.pubkey.slice(2), 'hex')), v.address);
    await rejects(() => api.validators(0), 'NOT_FOUND');
    await api.transfer(a, b.address, 1n);
    assert.deepEqual(await api.validators(1), vs);
    const detail = await api.validator(v.address);
    assert.equal(detail.operator, v.operator);
    assert.equal(detail.stake, v.stake);
    assert.equal(detail.voting_power, '1');
    assert.deepEqual(detail.unbonding, []);
  }],

  ['submit and wait', async ({ api, keys: [a, , c] }) => {
    const chainId = await api.chainId;
    const signed = Transaction.transfer(c.address, 5n, 3n).sign(a, await api.nextNonce(a.address), chainId);
    assert.equal(await api.submit(signed.raw), signed.hash);
    const committed = await api.wait(signed.hash, { timeoutMs: 30000 });
    assert.deepEqual(committed, await api.transaction(signed.hash));
    assert.equal(committed.receipt.status, 'success');
    assert.equal(committed.receipt.fee, '3');
    const again = Transaction.transfer(c.address, 6n).sign(a, 1, chainId);
    assert.equal(await api.submit(again.raw, { wait: true }), again.hash);
    // wait: true resolved after the commit: the transaction is readable at once.
    assert.equal((await api.transaction(again.hash)).receipt.status, 'success');
    assert.equal(await api.balance(c.address), DEV_BALANCE + 11n);
    await assert.rejects(async () => api.submit(again.raw), (e) => e instanceof BataraError && e.code === 'TX_REJECTED'
      && e.reason === 'nonce_too_low' && /nonce too low: expected 2, got 1/.test(e.message));
    await rejects(() => api.submit(Buffer.from('junk')), 'TX_REJECTED', 'malformed');
    await rejects(() => api.submit('0x00'), 'INVALID_INPUT');
    // A Uint8Array works as well as a Buffer.
    const third = Transaction.transfer(c.address, 1n).sign(a, 2, chainId);
    assert.equal(await api.submit(new Uint8Array(third.raw), { wait: true }), third.hash);
  }],

  ['submitBatch gives a hash or the rejection per transaction', async ({ api, keys: [a, b] }) => {
    await api.transfer(a, b.address, 1n);
    const chainId = await api.chainId;
    const good = Transaction.transfer(b.address, 2n).sign(a, 1, chainId);
    const stale = Transaction.transfer(b.address, 3n).sign(a, 0, chainId);
    const other = Transaction.transfer(a.address, 4n).sign(b, 0, chainId);
    const forged = Buffer.from(other.raw);
    forged[forged.length - 1] ^= 1; // one bit of the signature flipped
    const results = await api.submitBatch([good.raw, stale.raw, forged]);
    assert.equal(results.length, 3);
    assert.equal(results[0], good.hash);
    const [, low, bad] = results;
    assert.ok(low instanceof BataraError && bad instanceof BataraError);
    assert.equal(low.code, 'TX_REJECTED');
    assert.equal(low.reason, 'nonce_too_low');
    assert.equal(low.message, 'transaction rejected: nonce too low: expected 1, got 0');
    assert.equal(bad.code, 'TX_REJECTED');
    assert.equal(bad.reason, 'bad_signature');
    assert.equal(bad.message, 'transaction rejected: bad signature');
    assert.equal((await api.wait(good.hash, { timeoutMs: 30000 })).receipt.status, 'success');
    assert.equal((await api.account(b.address)).nonce, 0n); // the forged one never ran
    assert.deepEqual(await api.submitBatch([]), []);
    await rejects(() => api.submitBatch(good.raw), 'INVALID_INPUT');
  }],

  ['nextNonce skips transactions after a gap', async ({ api, keys: [a, b] }) => {
    const chainId = await api.chainId;
    assert.equal(await api.nextNonce(a.address), 0);
    // A transaction after a gap waits in the pool but does not move the next nonce.
    const future = Transaction.transfer(b.address, 1n).sign(a, 1, chainId);
    assert.equal(await api.submit(future.raw), future.hash);
    assert.equal(await api.nextNonce(a.address), 0);
    // Filling the gap makes both run.
    await api.submit(Transaction.transfer(b.address, 1n).sign(a, 0, chainId).raw);
    await api.wait(future.hash, { timeoutMs: 30000 });
    assert.equal(await api.nextNonce(a.address), 2);
    assert.equal((await api.account(a.address)).nonce, 2n);
  }],

  ['nextNonce counts pending transactions', async ({ api, keys: [a, b] }) => {
    const chainId = await api.chainId;
    for (let n = 0; n < 3; n++) {
      const nonce = await api.nextNonce(a.address);
      assert.equal(typeof nonce, 'number');
      await api.submit(Transaction.transfer(b.address, 1n).sign(a, nonce, chainId).raw);
      assert.equal(await api.nextNonce(a.address), n + 1);
    }
    assert.equal((await api.account(a.address)).nonce, 0n);
    assert.equal((await api.info()).mempool_txs, 3);
    const [blk, ...rest] = await api.mine();
    assert.equal(rest.length, 0);
    assert.equal(blk.txs.length, 3);
    assert.equal((await api.account(a.address)).nonce, 3n);
    assert.equal(await api.nextNonce(a.address), 3);
  }, { mode: 'manual' }],

  ['dev controls', async ({ api, keys: [a, b] }) => {
    const snap = await api.snapshot();
    assert.equal(typeof snap, 'number');
    const hash = await api.transfer(a, b.address, 7n, { wait: false });
    const blocks = await api.mine(2);
    assert.deepEqual(blocks.map((x) => x.header.height), ['1', '2']);
    assert.deepEqual(blocks, [await api.block(1), await api.block(2)]);
    assert.deepEqual(blocks[0].txs.map((t) => t.hash), [hash]);
    assert.equal(await api.height, 2);
    await api.revert(snap);
    assert.equal(await api.height, 0);
    await rejects(() => api.transaction(hash), 'NOT_FOUND');
    await api.setBalance(b.address, 42n);
    assert.equal(await api.balance(b.address), 42n);
    assert.equal(await api.height, 1);
    assert.equal(await api.increaseTime(1000), 1000);
    assert.equal(await api.increaseTime(500), 1500);
    await rejects(() => api.revert(snap), 'NOT_FOUND'); // used up
  }, { mode: 'manual' }],

  ['errors have the same codes', async ({ api, keys: [a] }) => {
    const nobody = Keypair.generate().address;
    await rejects(() => api.transaction('0x' + '00'.repeat(32)), 'NOT_FOUND');
    await rejects(() => api.block(10000), 'NOT_FOUND');
    await rejects(() => api.header(10000), 'NOT_FOUND');
    await rejects(() => api.receipts(10000), 'NOT_FOUND');
    await rejects(() => api.validator(nobody), 'NOT_FOUND');
    await rejects(() => api.account('bat1notanaddress'), 'INVALID_INPUT');
    await rejects(() => api.account('cosmos1xyz'), 'INVALID_INPUT');
    await rejects(() => api.account(undefined), 'INVALID_INPUT');
    await rejects(() => api.balance('bat1nope'), 'INVALID_INPUT');
    await rejects(() => api.nextNonce('nope'), 'INVALID_INPUT');
    await rejects(() => api.validator('bat1nope'), 'INVALID_INPUT');
    await rejects(() => api.accountPage({ after: 'bat1nope' }), 'INVALID_INPUT');
    await rejects(() => api.accountPage({ limit: 0 }), 'INVALID_INPUT');
    await rejects(() => api.accountPage({ limit: -1 }), 'INVALID_INPUT');
    await rejects(() => api.transaction('0x1234'), 'INVALID_INPUT');
    await rejects(() => api.block('0x1234'), 'INVALID_INPUT');
    await rejects(() => api.block(-1), 'INVALID_INPUT');
    await rejects(() => api.transfer(a, 'bat1nope', 1n), 'INVALID_INPUT');
    await rejects(() => api.transfer(a, a.address, -1n), 'INVALID_INPUT');
    await rejects(() => api.transfer(a, a.address, 2n ** 200n), 'INVALID_INPUT');
    await rejects(() => api.transfer(null, a.address, 1n), 'INVALID_INPUT');
    await rejects(() => api.transfer(Keypair.generate(), a.address, 1n, { wait: false }), 'TX_REJECTED', 'insufficient_balance');
    assert.equal(await api.nextNonce(a.address), 0); // nothing was submitted
    await rejects(() => api.setBalance(a.address, -1n), 'INVALID_INPUT');
  }],
];

for (const [name, make] of targets) {
  for (const [title, run, opts = {}] of cases) {
    test(`${name}: ${title}`, async () => {
      const node = await Node.dev({ accounts: 3, rpcAddr: '127.0.0.1:0', ...opts });
      try {
        await run({ api: make(node), keys: node.accounts });
      } finally {
        await node.close();
      }
    });
  }
}

test('node and client give equal results on one chain', async () => {
  const node = await Node.dev({ accounts: 3, rpcAddr: '127.0.0.1:0' });
  try {
    const client = new Client(node.rpcUrl);
    const [a, b] = node.accounts;
    const hash = await client.transfer(a, b.address, 10n, { fee: 1n });
    const height = Number((await node.transaction(hash)).height);
    assert.deepEqual(await client.info(), await node.info());
    assert.equal(await client.chainId, node.chainId);
    assert.equal(await client.height, node.height);
    for (const read of [
      (s) => s.block(height),
      (s) => s.header(height),
      (s) => s.receipts(height),
      (s) => s.transaction(hash),
      (s) => s.account(a.address),
      (s) => s.balance(b.address),
      (s) => s.accountPage({ limit: 3 }),
      (s) => s.validators(),
      async (s) => s.validator((await node.validators())[0].address),
      (s) => s.nextNonce(a.address),
    ]) {
      assert.deepEqual(await read(client), await read(node));
    }
    const stale = Transaction.transfer(b.address, 1n).sign(a, 0, node.chainId).raw;
    const [[fromClient], [fromNode]] = [await client.submitBatch([stale]), await node.submitBatch([stale])];
    assert.deepEqual([fromClient.code, fromClient.reason, fromClient.message], [fromNode.code, fromNode.reason, fromNode.message]);
  } finally {
    await node.close();
  }
});

// --- proofs, checked independently of the node, from both Node and Client ---

/** jmt 0.12 sparse Merkle proof check (SHA-256, borsh): `value` is [balance, nonce] or null. */
function proofVerifies(stateRoot, address, value, proofHex) {
  const raw = Buffer.from(proofHex.slice(2), 'hex');
  let pos = 0;
  const take = (n) => {
    assert.ok(pos + n <= raw.length, 'truncated proof');
    pos += n;
    return raw.subarray(pos - n, pos);
  };
  const PLACEHOLDER = Buffer.from('SPARSE_MERKLE_PLACEHOLDER_HASH__');
  const LEAF = Buffer.from('JMT::LeafNode');
  const INTERNAL = Buffer.from('JMT::IntrnalNode');
  const leaf = take(1)[0] === 1 ? [take(32), take(32)] : null;
  const siblings = [];
  for (let n = take(4).readUInt32LE(0); n > 0; n--) {
    const tag = take(1)[0];
    siblings.push(tag === 0 ? PLACEHOLDER : sha(tag === 1 ? INTERNAL : LEAF, take(32), take(32)));
  }
  assert.equal(pos, raw.length, 'trailing bytes after the proof');
  const key = sha(Buffer.from('acct/'), address);
  const bit = (h, i) => (h[i >> 3] >> (7 - (i & 7))) & 1;
  if (value !== null) {
    const v = Buffer.alloc(24);
    v.writeBigUInt64LE(value[0] & 0xffffffffffffffffn, 0);
    v.writeBigUInt64LE(value[0] >> 64n, 8);
    v.writeBigUInt64LE(value[1], 16);
    if (leaf === null || !leaf[0].equals(key) || !leaf[1].equals(sha(v))) return false;
  } else if (leaf !== null) {
    let common = 0;
    while (common < 256 && bit(key, common) === bit(leaf[0], common)) common++;
    if (leaf[0].equals(key) || common < siblings.length) return false;
  }
  let h = leaf ? sha(LEAF, leaf[0], leaf[1]) : PLACEHOLDER;
  siblings.forEach((s, i) => {
    h = bit(key, siblings.length - 1 - i) ? sha(INTERNAL, s, h) : sha(INTERNAL, h, s);
  });
  return h.equals(Buffer.from(stateRoot.slice(2), 'hex'));
}

for (const via of ['node', 'client']) test(`${via}: proof verifies and contains the account`, async () => {
  const node = await Node.dev({ accounts: 3, rpcAddr: '127.0.0.1:0' });
  try {
    const api = via === 'node' ? node : new Client(node.rpcUrl);
    const [a, b] = node.accounts;
    await api.transfer(a, b.address, 7n);
    const p = await api.proof(a.address);
    assert.deepEqual(Object.keys(p).sort(), ['height', 'proof', 'state_root', 'value']);
    assert.equal(Number(p.height), await api.height);
    assert.equal(p.state_root, (await api.header(Number(p.height))).header.state_root);
    const acct = await api.account(a.address);
    assert.deepEqual(p.value, { balance: String(acct.balance), nonce: String(acct.nonce) });
    const value = [acct.balance, acct.nonce];
    assert.ok(proofVerifies(p.state_root, addressBytes(a.publicKey), value, p.proof));
    // The check is real: another balance, account or root does not verify.
    assert.ok(!proofVerifies(p.state_root, addressBytes(a.publicKey), [acct.balance + 1n, 1n], p.proof));
    assert.ok(!proofVerifies(p.state_root, addressBytes(b.publicKey), value, p.proof));
    const genesisRoot = (await api.header(0)).header.state_root;
    assert.ok(!proofVerifies(genesisRoot, addressBytes(a.publicKey), value, p.proof));
    const old = await api.proof(a.address, 0);
    assert.equal(old.state_root, genesisRoot);
    assert.ok(proofVerifies(genesisRoot, addressBytes(a.publicKey), [DEV_BALANCE, 0n], old.proof));
    const nobody = Keypair.generate();
    const absent = await api.proof(nobody.address);
    assert.equal(absent.value, null);
    assert.ok(proofVerifies(absent.state_root, addressBytes(nobody.publicKey), null, absent.proof));
    assert.ok(!proofVerifies(absent.state_root, addressBytes(nobody.publicKey), [0n, 0n], absent.proof));
    await rejects(async () => api.proof('bat1nope'), 'INVALID_INPUT');
    // Both give the same proof of the same state.
    if (via === 'node') assert.deepEqual(await new Client(node.rpcUrl).proof(a.address), p);
  } finally {
    await node.close();
  }
});
