// ESM entry of @batara/node: the same objects as the CommonJS entry.
import batara from './index.js';

export const { Node, Client, Keypair, Transaction, Contract, CallFailed, BataraError, ERROR_TABLE, verify, addressOf, decodeEvents } = batara;
export default batara;
