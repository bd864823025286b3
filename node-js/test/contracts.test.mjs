// Contracts from Node.js, the same assertions on the embedded Node and on a Client over JSON-RPC:
// the AssemblyScript token of examples/contracts/token (compiled with asc here) through Contract.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Node, Client, Transaction, CallFailed, Keypair } from '../index.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tokenDir = path.join(root, 'examples', 'contracts', 'token');

function tokenWasm() {
  if (!fs.existsSync(path.join(tokenDir, 'node_modules', '.bin', 'asc'))) {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: tokenDir, stdio: 'inherit' });
  }
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: tokenDir, stdio: 'inherit' });
  return fs.readFileSync(path.join(tokenDir, 'build', 'token.wasm'));
}

const wasm = tokenWasm();

for (const via of ['node', 'client']) {
  test(`token through Contract (${via})`, async () => {
    const node = await Node.dev({ accounts: 2, rpcAddr: '127.0.0.1:0' });
    try {
      const api = via === 'node' ? node : new Client(node.rpcUrl);
      const [alice, bob] = node.accounts;
      const codeHash = await api.upload(alice, wasm);
      assert.equal(codeHash, '0x' + crypto.createHash('sha256').update(wasm).digest('hex'));
      assert.equal((await api.code(codeHash)).size, wasm.length);
      const token = await api.instantiate(alice, codeHash, { name: 'Js', symbol: 'JS', supply: '1000' }, { salt: Buffer.from('js') });
      assert.equal((await token.info()).creator, alice.address);
      assert.equal(await token.query('symbol'), 'JS');
      assert.equal(await token.query('balance_of', { owner: alice.address }), '1000');

      const r = await token.call('transfer', { to: bob.address, amount: '250' }, { gasPrice: 3n });
      assert.ok(r.gasUsed > 0n);
      assert.equal(r.fee, 3n * r.gasUsed);
      assert.deepEqual(r.events.filter((e) => e.kind === 'contract'), [{
        kind: 'contract', contract: token.address, topics: ['transfer'],
        data: { from: alice.address, to: bob.address, amount: '250' },
      }]);
      assert.equal(await token.query('balance_of', { owner: bob.address }), '250');
      // Its trace (dev nodes keep them): the token's host calls, the same gas as the receipt.
      const tr = await api.trace(r.hash);
      assert.equal(BigInt(tr.gas_used), r.gasUsed);
      const hosts = tr.calls.map((c) => c.host);
      assert.ok(hosts.includes('storage_set') && hosts[hosts.length - 1] === 'emit', hosts.join());
      assert.ok(tr.calls.every((c) => c.depth === 1 && c.contract === token.address));
      await assert.rejects(api.trace('0x' + '00'.repeat(32)), (e) => e.code === 'NOT_FOUND');

      const asBob = api.contract(token.address, bob);
      await asBob.call('approve', { spender: alice.address, amount: '100' });
      await token.call('transfer_from', { from: bob.address, to: alice.address, amount: '60' });
      assert.equal(await token.query('allowance', { owner: bob.address, spender: alice.address }), '40');
      await assert.rejects(token.call('transfer_from', { from: bob.address, to: alice.address, amount: '41' }),
        (e) => e instanceof CallFailed && /allowance exceeded: 40 < 41/.test(e.message));
      // With a gas limit given, the failure is committed: a failed receipt that paid its gas.
      await assert.rejects(token.call('transfer', { to: bob.address, amount: '999999' }, { gas: 200000, gasPrice: 2n }),
        (e) => e instanceof CallFailed && e.receipt.status === 'failed' && BigInt(e.receipt.fee) === 2n * BigInt(e.receipt.gas_used));
      await assert.rejects(token.query('balance_of', {}), /missing argument owner/);

      const slot = Buffer.concat([Buffer.from('b'), crypto.createHash('sha256').update(bob.publicKey).digest().subarray(0, 20)]);
      assert.equal((await token.storage(slot)).readBigUInt64LE(0), 190n);
      assert.equal(await token.storage(Buffer.from('nothing')), null);
      const proven = await api.storage(token.address, slot, { prove: true });
      assert.equal(proven.proof.state_root, (await api.block()).header.state_root);

      const est = await api.estimateGas(alice.address, Transaction.call(token.address, 'transfer', { to: bob.address, amount: '1' }).kind);
      assert.equal(est.error, null);
      assert.ok(BigInt(est.gas_used) > 10000n);
      await assert.rejects(api.upload(alice, Buffer.from('not wasm')), /code rejected: invalid WebAssembly/);
      await assert.rejects(api.contractInfo(Keypair.fromSeed(Buffer.alloc(32, 5)).address), (e) => e.code === 'NOT_FOUND');
    } finally {
      await node.close();
    }
  });
}
