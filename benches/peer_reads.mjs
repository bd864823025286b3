// The Node.js side of the peer benchmark (run by benches/peer_litesvm.py under
// scripts/bench-peer.sh, with the release addon): READS balance reads of the SENDERS funded
// accounts of a dev node, one per call through balanceSync(), then SENDERS per call through
// balances(); RUNS runs. Prints one JSON line: {"one": reads/s, "bulk": reads/s} (medians).
import { Node } from '@batara/node';

const [READS, SENDERS, RUNS] = process.argv.slice(2).map(Number);
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const node = await Node.dev({ accounts: SENDERS });
const addrs = node.accounts.map((k) => k.address);
const expected = await node.balance(addrs[0]);
const one = [];
const bulk = [];
for (let r = 0; r < RUNS; r++) {
  let t0 = performance.now();
  let sum = 0n;
  for (let i = 0; i < READS; i++) sum += node.balanceSync(addrs[i % SENDERS]);
  one.push(READS / ((performance.now() - t0) / 1000));
  if (sum !== expected * BigInt(READS)) throw new Error(`balanceSync read ${sum}`);
  t0 = performance.now();
  for (let i = 0; i < READS; i += SENDERS) {
    const got = await node.balances(addrs);
    if (got.length !== SENDERS || got[0] !== expected) throw new Error('balances() read the wrong values');
  }
  bulk.push(READS / ((performance.now() - t0) / 1000));
}
await node.close();
console.log(JSON.stringify({ one: median(one), bulk: median(bulk) }));
