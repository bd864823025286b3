// ESM entry of @batara/node: the same objects as the CommonJS entry.
import batara from './index.js';

export const { Node, Client, Keypair, Transaction, BataraError, ERROR_TABLE, verify, addressOf } = batara;
export default batara;
