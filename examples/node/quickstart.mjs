// Batara from Node.js: a dev chain in memory, a transfer, balances, a block.
import { Node } from '@batara/node';

const node = await Node.dev({ accounts: 2 });
const [alice, bob] = node.accounts;
const hash = await node.transfer(alice, bob.address, 1000n, { fee: 1n }); // resolves after the block
console.log(`transfer ${hash}: ${(await node.transaction(hash)).receipt.status}`);
console.log(`bob has ${await node.balance(bob.address)}`); // every read is a Promise (off the JS thread)
console.log(`head is block ${node.height}`);
await node.close();
