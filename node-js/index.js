'use strict';
/**
 * @batara/node: embed a Batara node or dev chain in Node.js, or talk to one over JSON-RPC.
 *
 * The public API is written here by hand over the internal addon (batara.node, found by addon.js); types are in
 * index.d.ts. Every call that reads storage or can wait returns a Promise and runs off the JS
 * thread, so the event loop never blocks; only key, signing and address computations and the
 * chainId / rpcUrl / height getters (in memory) are synchronous. Amounts are bigint. Errors are BataraError with a stable `code`. Node and Client share one surface
 * (`NodeApi` in index.d.ts; test/surface.test.mjs runs the same cases against both).
 */
const native = require('./addon.js').load();

// A process that exits (process.exit(), an uncaught exception) while a node is still starting
// waits for that start and stops its node, instead of tearing down the addon's native libraries
// under it (which crashed). Worker threads exiting leave the process and its starts alone.
if (require('node:worker_threads').isMainThread) process.on('exit', () => native.prepareExit());

/** The node's one error table (kind, JSON-RPC code, Python class, JS code, C result). */
const ERROR_TABLE = native.errorTable().map((r) => ({ kind: r.kind, rpc_code: r.rpcCode, python: r.python, js: r.js, c: r.c }));
const CODES = new Set(ERROR_TABLE.map((r) => r.js));
/** JSON-RPC code → BataraError code; a code several kinds share (-32603) is INTERNAL. */
const RPC_CODES = {};
for (const r of ERROR_TABLE) RPC_CODES[r.rpc_code] = r.rpc_code in RPC_CODES ? 'INTERNAL' : r.js;

/** The one error class of @batara/node. `code` is stable; `reason` is set for TX_REJECTED. */
class BataraError extends Error {
  constructor(code, message, reason) {
    super(message);
    this.name = 'BataraError';
    this.code = code;
    if (reason !== undefined) this.reason = reason;
  }
}

/** Maps an addon error (or a type error of the addon's argument checks) to a BataraError. */
function toBataraError(e) {
  if (e instanceof BataraError) return e;
  const text = e && e.message ? e.message : String(e);
  const m = /^([A-Z_]+): (?:\[([a-z_]+)\] )?(.*)$/s.exec(text);
  if (m && CODES.has(m[1])) return new BataraError(m[1], m[3], m[2]);
  // The addon's own argument checks (a missing or mistyped argument) are invalid input too.
  return new BataraError('INVALID_INPUT', text);
}

function sync(fn) {
  try {
    return fn();
  } catch (e) {
    throw toBataraError(e);
  }
}

async function later(promiseFn) {
  try {
    return await promiseFn();
  } catch (e) {
    throw toBataraError(e);
  }
}

function amount(v, what) {
  if (typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v))) {
    if (v < 0) throw new BataraError('INVALID_INPUT', `${what} must not be negative`);
    return v.toString();
  }
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return v;
  throw new BataraError('INVALID_INPUT', `${what} must be a bigint, a safe integer or a decimal string`);
}

function str(v, what) {
  if (typeof v !== 'string') throw new BataraError('INVALID_INPUT', `${what} must be a string`);
  return v;
}

/** An array of address strings (a lone string is refused, not read as characters). */
function addressList(v) {
  if (!Array.isArray(v)) throw new BataraError('INVALID_INPUT', 'addresses must be an array of strings');
  return v.map((a, i) => str(a, `addresses[${i}]`));
}

const U32_MAX = 0xffffffff;

/**
 * A non-negative integer argument up to `max` (a number or a bigint), as a number. Anything else
 * (negative, fractional, NaN, too large, a string) is INVALID_INPUT: the addon's own conversions
 * would wrap -1 to 2^32 - 1 or truncate 1.5.
 */
function uint(v, what, max = Number.MAX_SAFE_INTEGER) {
  if ((typeof v === 'bigint' || Number.isInteger(v)) && v >= 0 && v <= max) return Number(v);
  const shown = typeof v === 'string' ? JSON.stringify(v) : String(v);
  throw new BataraError('INVALID_INPUT', `${what} must be an integer from 0 to ${max}, got ${shown}`);
}

/** An options object (undefined is {}), refusing names it does not know (a misspelt option). */
function options(opts, known, what) {
  if (opts === undefined) return {};
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new BataraError('INVALID_INPUT', `${what} must be an object`);
  }
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) {
      throw new BataraError('INVALID_INPUT', `${what}: unknown option ${JSON.stringify(k)} (known: ${known.join(', ')})`);
    }
  }
  return opts;
}

/** An optional string option. */
function optStr(v, what) {
  return v === undefined ? undefined : str(v, what);
}

/** A block id as the addon takes it: null (latest), "latest", a 0x hash or a decimal height. */
function blockKey(id) {
  return id === undefined || id === null ? null : String(id);
}

function bytes(v, what) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new BataraError('INVALID_INPUT', `${what} must be a Buffer or Uint8Array`);
}

/** An Account from its JSON shape (decimal strings). */
function account(a) {
  return { address: a.address, balance: BigInt(a.balance), nonce: BigInt(a.nonce), staked: BigInt(a.staked) };
}

/** An ed25519 key pair (RFC 8032). */
class Keypair {
  constructor(inner) {
    this._inner = inner;
  }
  static generate() { return new Keypair(sync(() => native.NativeKeypair.generate())); }
  static fromSeed(seed) { return new Keypair(sync(() => native.NativeKeypair.fromSeed(bytes(seed, 'seed')))); }
  static fromFile(path) { return new Keypair(sync(() => native.NativeKeypair.fromFile(str(path, 'path')))); }
  /** Well-known funded dev account `index` (never for real value). */
  static devAccount(index) { return new Keypair(sync(() => native.NativeKeypair.devAccount(uint(index, 'index', U32_MAX)))); }
  get address() { return this._inner.address; }
  get publicKey() { return this._inner.publicKey; }
  sign(message) { return this._inner.sign(bytes(message, 'message')); }
  verify(message, signature) { return verify(this.publicKey, message, signature); }
}

/** Verifies a signature with the node's rule (strict encodings, cofactored equation). */
function verify(publicKey, message, signature) {
  return native.verify(bytes(publicKey, 'publicKey'), bytes(message, 'message'), bytes(signature, 'signature'));
}

/** The address (bat1…) of a 32-byte public key. */
function addressOf(publicKey) {
  return sync(() => native.addressOf(bytes(publicKey, 'publicKey')));
}

/** A block height for the addon: a number, or null for the head. */
/** Arguments by the calling convention (docs/CONTRACTS.md): bytes as they are, anything else as JSON text. */
function encodeArgs(args) {
  if (Buffer.isBuffer(args) || args instanceof Uint8Array) return Buffer.from(args);
  return Buffer.from(JSON.stringify(args, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

function nativeHeight(height) {
  return height === undefined || height === null ? null : uint(height, 'height');
}

/**
 * An unsigned transaction: `kind` (the JSON shape JSON-RPC prints, e.g. `{ type: 'transfer', to,
 * amount: '5' }`, amounts as decimal strings) and `fee`. The typed builders below are the SDK's only
 * per-kind code: a kind crosses into the addon as JSON, so a new kind needs a builder and nothing
 * native.
 */
class Transaction {
  constructor(kind, fee = 0n) {
    if (kind === null || typeof kind !== 'object') throw new BataraError('INVALID_INPUT', 'kind must be an object');
    this._kind = kind;
    this._fee = amount(fee, 'fee');
  }
  /** The kind. */
  get kind() { return this._kind; }
  /** The fee. */
  get fee() { return BigInt(this._fee); }
  /** A transfer of `amount` to `to`. */
  static transfer(to, amt, fee = 0n) {
    return new Transaction({ type: 'transfer', to: str(to, 'to'), amount: amount(amt, 'amount') }, fee);
  }
  /** Stake `amount` on the validator with consensus key `validatorKey` (32 bytes): registers it or adds to it. */
  static stake(validatorKey, amt, fee = 0n) {
    const key = '0x' + bytes(validatorKey, 'validatorKey').toString('hex');
    return new Transaction({ type: 'stake', validator_key: key, amount: amount(amt, 'amount') }, fee);
  }
  /** Unstake `amount` from `validator` (an address); the funds return after unbonding. */
  static unstake(validator, amt, fee = 0n) {
    return new Transaction({ type: 'unstake', validator: str(validator, 'validator'), amount: amount(amt, 'amount') }, fee);
  }
  /** Bring `validator` back after a downtime jailing. */
  static unjail(validator, fee = 0n) {
    return new Transaction({ type: 'unjail', validator: str(validator, 'validator') }, fee);
  }
  /** Delegate `amount` to `validator` (an address) for shares of its stake. */
  static delegate(validator, amt, fee = 0n) {
    return new Transaction({ type: 'delegate', validator: str(validator, 'validator'), amount: amount(amt, 'amount') }, fee);
  }
  /** Take `amount` of stake out of the delegation to `validator`; the funds return after unbonding. */
  static undelegate(validator, amt, fee = 0n) {
    return new Transaction({ type: 'undelegate', validator: str(validator, 'validator'), amount: amount(amt, 'amount') }, fee);
  }
  /** Move `amount` of delegated stake from `srcValidator` to `dstValidator` at once. */
  static redelegate(srcValidator, dstValidator, amt, fee = 0n) {
    return new Transaction({
      type: 'redelegate',
      src_validator: str(srcValidator, 'srcValidator'),
      dst_validator: str(dstValidator, 'dstValidator'),
      amount: amount(amt, 'amount'),
    }, fee);
  }
  /** Pay the signer's pending rewards from `validator`, or from every validator (undefined). */
  static withdrawRewards(validator, fee = 0n) {
    const kind = { type: 'withdraw_rewards' };
    if (validator !== undefined && validator !== null) kind.validator = str(validator, 'validator');
    return new Transaction(kind, fee);
  }
  /** Set a validator's commission in parts per million: `{ rate, maxRate, maxChange }`. */
  static editCommission(validator, rates, fee = 0n) {
    const { rate, maxRate, maxChange } = options(rates, ['rate', 'maxRate', 'maxChange'], 'editCommission rates');
    const kind = { type: 'edit_commission', validator: str(validator, 'validator') };
    for (const [name, field, v] of [['rate', 'rate_ppm', rate], ['maxRate', 'max_rate_ppm', maxRate], ['maxChange', 'max_change_ppm', maxChange]]) {
      if (!Number.isInteger(v) || v < 0 || v > 1_000_000) {
        throw new BataraError('INVALID_INPUT', `${name} must be an integer 0..=1000000 (parts per million), got ${v}`);
      }
      kind[field] = v;
    }
    return new Transaction(kind, fee);
  }
  /** Submit a governance proposal: `content` is `{ kind: 'text' }`, `Transaction.paramsChange({...})`, `{ kind: 'upgrade', name, height, info }` or `{ kind: 'spend', recipient, amount }`. */
  static propose(title, content, deposit, opts, fee = 0n) {
    const { summary = '', expedited = false } = options(opts, ['summary', 'expedited'], 'propose options');
    if (content === null || typeof content !== 'object') throw new BataraError('INVALID_INPUT', 'content must be an object');
    if (typeof expedited !== 'boolean') throw new BataraError('INVALID_INPUT', 'expedited must be a boolean');
    return new Transaction({
      type: 'propose', title: str(title, 'title'), summary: str(summary, 'summary'), content,
      deposit: amount(deposit, 'deposit'), expedited,
    }, fee);
  }
  /** The content of a parameter-change proposal: parameter sets to the fields to change, e.g. `{ chain: { max_block_txs: 5000 } }`. */
  static paramsChange(changes) {
    if (changes === null || typeof changes !== 'object' || Object.keys(changes).length === 0) {
      throw new BataraError('INVALID_INPUT', 'changes must be a non-empty object of parameter sets');
    }
    return {
      kind: 'params',
      changes: Object.entries(changes).map(([params, values]) => {
        if (values === null || typeof values !== 'object') throw new BataraError('INVALID_INPUT', `changes.${params} must be an object of fields`);
        return { params, values };
      }),
    };
  }
  /** Add `amount` to proposal `proposal`'s deposit. */
  static deposit(proposal, amt, fee = 0n) {
    return new Transaction({ type: 'deposit', proposal: uint(proposal, 'proposal').toString(), amount: amount(amt, 'amount') }, fee);
  }
  /** Vote on `proposal`: one option ('yes', 'no', 'abstain', 'veto') or weights summing to 1 (`{ yes: 0.7, no: 0.3 }`). */
  static vote(proposal, option, fee = 0n) {
    let opts;
    if (typeof option === 'string') {
      opts = [{ option, weight_ppm: 1_000_000 }];
    } else if (option !== null && typeof option === 'object') {
      opts = Object.entries(option).map(([name, w]) => {
        if (typeof w !== 'number' || !(w > 0 && w <= 1)) throw new BataraError('INVALID_INPUT', `weight of ${name} must be a number in (0, 1], got ${w}`);
        return { option: name, weight_ppm: Math.round(w * 1_000_000) };
      });
    } else {
      throw new BataraError('INVALID_INPUT', 'option must be a string or an object of weights');
    }
    return new Transaction({ type: 'vote', proposal: uint(proposal, 'proposal').toString(), options: opts }, fee);
  }
  /** Withdraw a proposal the signer submitted, before its vote ends. */
  static cancelProposal(proposal, fee = 0n) {
    return new Transaction({ type: 'cancel_proposal', proposal: uint(proposal, 'proposal').toString() }, fee);
  }
  /** Store WebAssembly `code` (binary) under its SHA-256 hash, paying its deposit. */
  static upload(code, gasLimit, gasPrice, fee = 0n) {
    return new Transaction({
      type: 'upload', code: '0x' + bytes(code, 'code').toString('hex'),
      gas_limit: uint(gasLimit, 'gasLimit').toString(), gas_price: amount(gasPrice, 'gasPrice'),
    }, fee);
  }
  /** Create a contract from uploaded code `codeHash`; `init` runs with `args` (bytes, or a value sent as JSON). */
  static instantiate(codeHash, args = Buffer.alloc(0), salt = Buffer.alloc(0), value = 0n, gasLimit = 0n, gasPrice = 0n, fee = 0n) {
    return new Transaction({
      type: 'instantiate', code_hash: str(codeHash, 'codeHash'), args: '0x' + encodeArgs(args).toString('hex'),
      salt: '0x' + bytes(salt, 'salt').toString('hex'), value: amount(value, 'value'),
      gas_limit: uint(gasLimit, 'gasLimit').toString(), gas_price: amount(gasPrice, 'gasPrice'),
    }, fee);
  }
  /** Call `method` of `contract` with `args` (bytes, or a value sent as JSON), moving `value` to it. */
  static call(contract, method, args = Buffer.alloc(0), value = 0n, gasLimit = 0n, gasPrice = 0n, fee = 0n) {
    return new Transaction({
      type: 'call', contract: str(contract, 'contract'), method: str(method, 'method'),
      args: '0x' + encodeArgs(args).toString('hex'), value: amount(value, 'value'),
      gas_limit: uint(gasLimit, 'gasLimit').toString(), gas_price: amount(gasPrice, 'gasPrice'),
    }, fee);
  }
  /** Signs: `{ raw: Buffer, hash: string }`. */
  sign(keypair, nonce, chainId) {
    if (!(keypair instanceof Keypair)) throw new BataraError('INVALID_INPUT', 'keypair must be a Keypair');
    return sync(() => keypair._inner.signTx(str(chainId, 'chainId'), uint(nonce, 'nonce'), this._fee, JSON.stringify(this._kind)));
  }
}

/** An embedded node. */
class Node {
  constructor(inner) {
    this._inner = inner;
    this._accounts = null;
  }

  /** A dev chain: `{ accounts = 10, mode = 'auto' | 'interval' | 'manual', blockTimeMs, dataDir, rpcAddr, chainId }`. */
  static async dev(opts) {
    const o = options(opts, ['accounts', 'mode', 'blockTimeMs', 'dataDir', 'rpcAddr', 'chainId'], 'Node.dev options');
    const checked = {
      accounts: o.accounts === undefined ? undefined : uint(o.accounts, 'accounts', U32_MAX),
      mode: optStr(o.mode, 'mode'),
      blockTimeMs: o.blockTimeMs === undefined ? undefined : uint(o.blockTimeMs, 'blockTimeMs', U32_MAX),
      dataDir: optStr(o.dataDir, 'dataDir'),
      rpcAddr: optStr(o.rpcAddr, 'rpcAddr'),
      chainId: optStr(o.chainId, 'chainId'),
    };
    return new Node(await later(() => native.startDev(checked)));
  }

  /**
   * A node from `{ config, genesis, validatorKey }`: config and genesis each an object (the JSON
   * shapes of config.toml and genesis.json) or a file path; validatorKey a Keypair.
   */
  static async start(startOpts) {
    const { config, genesis, validatorKey } = options(startOpts, ['config', 'genesis', 'validatorKey'], 'Node.start options');
    const opts = {};
    if (typeof config === 'string') opts.configPath = config;
    else if (config !== undefined) opts.configJson = JSON.stringify(config);
    if (typeof genesis === 'string') opts.genesisPath = genesis;
    else if (genesis !== undefined) opts.genesisJson = JSON.stringify(genesis);
    if (validatorKey !== undefined) {
      if (!(validatorKey instanceof Keypair)) throw new BataraError('INVALID_INPUT', 'validatorKey must be a Keypair');
      opts.validatorSeed = validatorKey._inner.seed;
    }
    return new Node(await later(() => native.startNode(opts)));
  }

  get chainId() { return this._inner.chainId; }
  get rpcUrl() { return this._inner.rpcUrl ?? null; }
  get height() { return this._inner.height; }
  /** The funded dev accounts. */
  get accounts() {
    if (!this._accounts) {
      this._accounts = Array.from({ length: this._inner.devAccounts }, (_, i) => Keypair.devAccount(i));
    }
    return this._accounts;
  }

  async info() { return JSON.parse(await later(() => this._inner.info())); }
  async submit(raw, opts) {
    const { wait = false } = options(opts, ['wait'], 'submit options');
    return later(() => this._inner.submit(bytes(raw, 'tx'), Boolean(wait)));
  }
  /** One item per tx: its hash, or the BataraError it got (not thrown). */
  async submitBatch(raws) {
    if (!Array.isArray(raws)) throw new BataraError('INVALID_INPUT', 'raws must be an array');
    const out = JSON.parse(await later(() => this._inner.submitBatch(raws.map((r) => bytes(r, 'tx')))));
    return out.map((r) => (r.hash ? r.hash : new BataraError('TX_REJECTED', r.error, r.reason)));
  }
  async wait(hash, opts) {
    const { timeoutMs = 60000 } = options(opts, ['timeoutMs'], 'wait options');
    return JSON.parse(await later(() => this._inner.wait(str(hash, 'hash'), uint(timeoutMs, 'timeoutMs', U32_MAX))));
  }
  /** `fee` defaults to the node's minimum (`info().min_fee`). */
  async transfer(keypair, to, amt, opts) {
    const { fee, wait = true } = options(opts, ['fee', 'wait'], 'transfer options');
    if (!(keypair instanceof Keypair)) throw new BataraError('INVALID_INPUT', 'keypair must be a Keypair');
    const f = fee === undefined ? null : amount(fee, 'fee');
    return later(() => this._inner.transfer(keypair._inner.seed, str(to, 'to'), amount(amt, 'amount'), f, Boolean(wait)));
  }
  async nextNonce(address) { return later(() => this._inner.nextNonce(str(address, 'address'))); }
  /** An account, at the head or after block `height`. */
  async account(address, height) { return account(JSON.parse(await later(() => this._inner.account(str(address, 'address'), nativeHeight(height))))); }
  /**
   * An account with a proof against the state root of block `height` (default: the head):
   * `{ value: { balance, nonce } | null, proof: 0x-hex (borsh jmt proof), state_root, height }`.
   */
  async proof(address, height) { return JSON.parse(await later(() => this._inner.proof(str(address, 'address'), nativeHeight(height)))); }
  async balance(address) { return BigInt(await later(() => this._inner.balance(str(address, 'address')))); }
  /** The latest balance, on the calling thread (the hot read: no Promise, no thread hop). */
  balanceSync(address) { return sync(() => this._inner.balanceSync(str(address, 'address'))); }
  /** The latest balances of up to 10,000 addresses, in order, all after one block. */
  async balances(addresses) {
    return (await later(() => this._inner.balances(addressList(addresses)))).map(BigInt);
  }
  async block(id) { return JSON.parse(await later(() => this._inner.block(blockKey(id)))); }
  /** A block's header: `{ hash, header }` (the shape of JSON-RPC chain_getHeader). */
  async header(id) {
    const b = await this.block(id);
    return { hash: b.hash, header: b.header };
  }
  async receipts(id) { return JSON.parse(await later(() => this._inner.receipts(blockKey(id)))); }
  async accountPage(opts) {
    const { after = null, limit = 1000 } = options(opts, ['after', 'limit'], 'accountPage options');
    return JSON.parse(await later(() => this._inner.accountPage(after === null ? null : str(after, 'after'), uint(limit, 'limit', U32_MAX))));
  }
  async transaction(hash) { return JSON.parse(await later(() => this._inner.transaction(str(hash, 'hash')))); }
  async validators(height) { return JSON.parse(await later(() => this._inner.validators(nativeHeight(height)))); }
  async validator(address) { return JSON.parse(await later(() => this._inner.validator(str(address, 'address')))); }
  async delegations(delegator) { return JSON.parse(await later(() => this._inner.delegations(str(delegator, 'delegator')))); }
  async delegators(validator, opts) {
    const { after = null, limit = 1000 } = options(opts, ['after', 'limit'], 'delegators options');
    return JSON.parse(await later(() => this._inner.delegators(str(validator, 'validator'), after === null ? null : str(after, 'after'), uint(limit, 'limit', U32_MAX))));
  }
  async rewards(delegator) { return JSON.parse(await later(() => this._inner.rewards(str(delegator, 'delegator')))); }
  async communityPool() { return JSON.parse(await later(() => this._inner.communityPool())); }
  async proposal(id) { return JSON.parse(await later(() => this._inner.proposal(uint(id, 'id')))); }
  async proposals(opts) {
    const { status = null, after = null, limit = 100 } = options(opts, ['status', 'after', 'limit'], 'proposals options');
    return JSON.parse(await later(() => this._inner.proposals(status === null ? null : str(status, 'status'), after === null ? null : uint(after, 'after'), uint(limit, 'limit', U32_MAX))));
  }
  async votes(id, opts) {
    const { after = null, limit = 1000 } = options(opts, ['after', 'limit'], 'votes options');
    return JSON.parse(await later(() => this._inner.votes(uint(id, 'id'), after === null ? null : str(after, 'after'), uint(limit, 'limit', U32_MAX))));
  }
  async govParams() { return JSON.parse(await later(() => this._inner.govParams())); }
  /** A contract's record: `{ address, code_hash, creator, instantiated_at, balance }`. */
  async contractInfo(address, height) { return JSON.parse(await later(() => this._inner.contract(str(address, 'address'), nativeHeight(height)))); }
  /** Stored code: `{ code_hash, uploader, size, deposit, uploaded_at, wasm (0x-hex) }`. */
  async code(codeHash) { return JSON.parse(await later(() => this._inner.code(str(codeHash, 'codeHash')))); }
  async trace(txHash) { return JSON.parse(await later(() => this._inner.trace(str(txHash, 'txHash')))); }
  async submitEvidence(evidence) {
    return later(() => this._inner.submitEvidence(JSON.stringify(evidence)));
  }
  async backup(dir) {
    return JSON.parse(await later(() => this._inner.backup(dir === undefined || dir === null ? null : str(dir, 'dir'))));
  }
  /** A storage slot: `{ contract, slot, value (0x-hex or null), height, proof? }`; `opts`: `{ height, prove }`. */
  async storage(contract, slot, opts) {
    const { height, prove = false } = options(opts, ['height', 'prove'], 'storage options');
    return JSON.parse(await later(() => this._inner.storage(str(contract, 'contract'), bytes(slot, 'slot'), nativeHeight(height), Boolean(prove))));
  }
  /** A read-only call with input bytes: `{ output (0x-hex), gas_used, events, error }`; `opts`: `{ caller, gas }`. */
  async queryRaw(contract, method, args, opts) {
    const { caller, gas = 0 } = options(opts, ['caller', 'gas'], 'query options');
    return JSON.parse(await later(() => this._inner.queryRaw(str(contract, 'contract'), str(method, 'method'), bytes(args, 'args'), optStr(caller, 'caller'), uint(gas, 'gas'))));
  }
  /** The gas a contract transaction's `kind` from `sender` would use: `{ gas_used, error }`. */
  async estimateGas(sender, kind) { return JSON.parse(await later(() => this._inner.estimateGas(str(sender, 'sender'), JSON.stringify(kind)))); }
  /**
   * Committed blocks from now on: `for await (const block of node.blocks())`. Ends when the node
   * stops. Each `next()` awaits the node's block channel (nothing polls). A consumer that falls
   * more than 1024 blocks behind skips the oldest ones: the iterator's `missed` counts them.
   */
  blocks() {
    // Subscribe now, not at the first next(): async generators start lazily.
    const stream = this._inner.blocks();
    const gen = (async function* () {
      for (;;) {
        const b = await later(() => stream.next());
        if (b === null) return;
        yield JSON.parse(b);
      }
    })();
    Object.defineProperty(gen, 'missed', { get: () => stream.missed, enumerable: true });
    return gen;
  }
  async mine(count = 1) { return JSON.parse(await later(() => this._inner.mine(uint(count, 'count', U32_MAX)))); }
  async snapshot() { return later(() => this._inner.snapshot()); }
  async revert(id) { return later(() => this._inner.revert(uint(id, 'snapshot id'))); }
  async setBalance(address, amt) { return later(() => this._inner.setBalance(str(address, 'address'), amount(amt, 'amount'))); }
  async increaseTime(ms) { return later(() => this._inner.increaseTime(uint(ms, 'ms'))); }
  async skipTo(target) {
    const [kind, value] = skipTarget(target);
    return JSON.parse(await later(() => this._inner.skipTo(kind, value === null ? null : uint(value, kind))));
  }
  async close() { return later(() => this._inner.stop()); }
  async [Symbol.asyncDispose]() { return this.close(); }
}

/** `{ votingEnd: id }`, `{ unbondingEnd: true }` or `{ height: n }` as [wire name, value or null]. */
function skipTarget(target) {
  const { votingEnd = null, unbondingEnd = false, height = null } = options(target, ['votingEnd', 'unbondingEnd', 'height'], 'skipTo target');
  const given = [votingEnd !== null, unbondingEnd === true, height !== null].filter(Boolean).length;
  if (given !== 1) throw new BataraError('INVALID_INPUT', 'skipTo needs exactly one of votingEnd, unbondingEnd: true or height');
  if (votingEnd !== null) return ['voting_end', votingEnd];
  if (height !== null) return ['height', height];
  return ['unbonding_end', null];
}

/** A block id for JSON-RPC: null (latest), "latest", a 0x hash or a height (number or decimal). */
function rpcBlock(id) {
  if (id === undefined || id === null) return null;
  return typeof id === 'bigint' ? id.toString() : id;
}

function rpcHeight(height) {
  if (height === undefined || height === null) return null;
  return uint(height, 'height');
}

/**
 * A client of a node's JSON-RPC URL with the same surface as Node for everything JSON-RPC can do:
 * the same method names, arguments and result shapes. Every method returns a Promise, as Node's
 * do, and `chainId` / `height` are getters that resolve to what Node's getters give. Errors are the same BataraError codes. Only Node has `blocks()`,
 * `accounts`, `rpcUrl` and `close()`.
 */
class Client {
  constructor(url) {
    this.url = str(url, 'url');
    this._id = 0;
    this._chainId = null;
  }
  /** Calls a JSON-RPC method with positional params; resolves to its result. */
  async call(method, ...params) {
    let res;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: ++this._id, method, params }),
      });
    } catch (e) {
      throw new BataraError('IO', `cannot reach node at ${this.url}: ${e.message}`);
    }
    let reply;
    try {
      reply = await res.json();
    } catch (e) {
      throw new BataraError('IO', `node at ${this.url} answered HTTP ${res.status} without JSON-RPC: ${e.message}`);
    }
    if (reply.error) {
      const code = RPC_CODES[String(reply.error.code)] || 'INTERNAL';
      throw new BataraError(code, reply.error.message, reply.error.data && reply.error.data.reason);
    }
    return reply.result;
  }
  /** The chain id (a Promise; asked once, as it never changes). */
  get chainId() {
    if (!this._chainId) {
      this._chainId = this.info().then((i) => i.chain_id);
      this._chainId.catch(() => { this._chainId = null; });
    }
    return this._chainId;
  }
  /** The head height (a Promise of a number). */
  get height() { return this.info().then((i) => Number(i.height)); }
  async info() { return this.call('node_info'); }
  async submit(raw, opts) {
    const { wait = false } = options(opts, ['wait'], 'submit options');
    const hash = await this.call('tx_submit', '0x' + bytes(raw, 'tx').toString('hex'));
    if (wait) await this.wait(hash);
    return hash;
  }
  /** One item per tx: its hash, or the BataraError it got (not thrown). */
  async submitBatch(raws) {
    if (!Array.isArray(raws)) throw new BataraError('INVALID_INPUT', 'raws must be an array');
    const hexes = raws.map((r) => '0x' + bytes(r, 'tx').toString('hex'));
    const out = await this.call('tx_submitBatch', hexes);
    // The same message as the addon's: "transaction rejected: <cause>".
    return out.map((r) => (r.hash ? r.hash : new BataraError('TX_REJECTED', `transaction rejected: ${r.error}`, r.reason)));
  }
  /**
   * Polls until the transaction is committed. Unlike Node, which rejects with NOT_FOUND at once for
   * a hash that is neither pending nor committed, JSON-RPC cannot tell such a hash from a pending
   * one: the client waits for it until TIMEOUT.
   */
  async wait(hash, opts) {
    const { timeoutMs = 60000 } = options(opts, ['timeoutMs'], 'wait options');
    uint(timeoutMs, 'timeoutMs', U32_MAX);
    str(hash, 'hash');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await this.call('chain_getTransaction', hash);
      } catch (e) {
        if (e.code !== 'NOT_FOUND') throw e;
        if (Date.now() > deadline) throw new BataraError('TIMEOUT', `transaction ${hash} not committed within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
  /** `fee` defaults to the node's minimum (`info().min_fee`). */
  async transfer(keypair, to, amt, opts) {
    const { fee, wait = true } = options(opts, ['fee', 'wait'], 'transfer options');
    if (!(keypair instanceof Keypair)) throw new BataraError('INVALID_INPUT', 'keypair must be a Keypair');
    const f = fee === undefined ? BigInt((await this.info()).min_fee) : fee;
    const tx = Transaction.transfer(to, amt, f);
    const nonce = await this.nextNonce(keypair.address);
    return this.submit(tx.sign(keypair, nonce, await this.chainId).raw, { wait });
  }
  async nextNonce(address) { return Number(await this.call('tx_nextNonce', str(address, 'address'))); }
  /** An account, at the head or after block `height`. */
  async account(address, height) { return account(await this.call('state_getAccount', str(address, 'address'), rpcHeight(height))); }
  async balance(address) { return (await this.account(address)).balance; }
  /** JSON-RPC `state_getBalances`. */
  async balances(addresses) { return (await this.call('state_getBalances', addressList(addresses))).map(BigInt); }
  async block(id) { return this.call('chain_getBlock', rpcBlock(id)); }
  /** A block's header: `{ hash, header }`. */
  async header(id) { return this.call('chain_getHeader', rpcBlock(id)); }
  async receipts(id) { return this.call('chain_getBlockReceipts', rpcBlock(id)); }
  async accountPage(opts) {
    const { after = null, limit = 1000 } = options(opts, ['after', 'limit'], 'accountPage options');
    return this.call('state_getAccounts', after === null ? null : str(after, 'after'), uint(limit, 'limit', U32_MAX));
  }
  async transaction(hash) { return this.call('chain_getTransaction', str(hash, 'hash')); }
  /**
   * An account with a proof against the state root of block `height` (default: the head):
   * `{ value: { balance, nonce } | null, proof: 0x-hex (borsh jmt proof), state_root, height }`.
   */
  async proof(address, height) {
    const p = await this.call('state_getProof', str(address, 'address'), rpcHeight(height));
    delete p.address; // JSON-RPC repeats the address it was asked about
    return p;
  }
  async validators(height) { return this.call('staking_getValidators', rpcHeight(height)); }
  async validator(address) { return this.call('staking_getValidator', str(address, 'address')); }
  async delegations(delegator) { return this.call('staking_getDelegations', str(delegator, 'delegator')); }
  async delegators(validator, opts) {
    const { after = null, limit = 1000 } = options(opts, ['after', 'limit'], 'delegators options');
    return this.call('staking_getDelegators', str(validator, 'validator'), after === null ? null : str(after, 'after'), uint(limit, 'limit', U32_MAX));
  }
  async rewards(delegator) { return this.call('distribution_getRewards', str(delegator, 'delegator')); }
  async communityPool() { return this.call('distribution_getCommunityPool'); }
  async proposal(id) { return this.call('gov_getProposal', uint(id, 'id').toString()); }
  async proposals(opts) {
    const { status = null, after = null, limit = 100 } = options(opts, ['status', 'after', 'limit'], 'proposals options');
    return this.call('gov_listProposals', status === null ? null : str(status, 'status'), after === null ? null : uint(after, 'after').toString(), uint(limit, 'limit', U32_MAX));
  }
  async votes(id, opts) {
    const { after = null, limit = 1000 } = options(opts, ['after', 'limit'], 'votes options');
    return this.call('gov_getVotes', uint(id, 'id').toString(), after === null ? null : str(after, 'after'), uint(limit, 'limit', U32_MAX));
  }
  async govParams() { return this.call('gov_getParams'); }
  async contractInfo(address, height) { return this.call('vm_getContract', str(address, 'address'), rpcHeight(height)); }
  async code(codeHash) { return this.call('vm_getCode', str(codeHash, 'codeHash')); }
  async trace(txHash) { return this.call('vm_traceTransaction', str(txHash, 'txHash')); }
  async backup() { return this.call('node_backup'); }
  async submitEvidence(evidence) { return this.call('evidence_submit', evidence); }
  async storage(contract, slot, opts) {
    const { height, prove = false } = options(opts, ['height', 'prove'], 'storage options');
    return this.call('vm_getStorage', str(contract, 'contract'), '0x' + bytes(slot, 'slot').toString('hex'), rpcHeight(height), Boolean(prove));
  }
  async queryRaw(contract, method, args, opts) {
    const { caller, gas = 0 } = options(opts, ['caller', 'gas'], 'query options');
    const r = await this.call('vm_query', str(contract, 'contract'), str(method, 'method'), null, null,
      optStr(caller, 'caller') ?? null, uint(gas, 'gas'), '0x' + bytes(args, 'args').toString('hex'));
    // JSON-RPC adds the output read as JSON; the addon's result has no such field.
    delete r.result;
    return r;
  }
  async estimateGas(sender, kind) { return this.call('vm_estimateGas', { from: str(sender, 'sender'), kind }); }
  /** Makes blocks now (dev chains); resolves to them, as `block()` gives them. */
  async mine(count = 1) {
    const made = await this.call('dev_mine', uint(count, 'count', U32_MAX));
    return Promise.all(made.map((b) => this.block(b.hash)));
  }
  async snapshot() { return Number(await this.call('dev_snapshot')); }
  async revert(id) { await this.call('dev_revert', uint(id, 'snapshot id')); }
  async setBalance(address, amt) { await this.call('dev_setBalance', str(address, 'address'), amount(amt, 'amount')); }
  async increaseTime(ms) { return Number(await this.call('dev_increaseTime', uint(ms, 'ms'))); }
  async skipTo(target) {
    const [kind, value] = skipTarget(target);
    return this.call('dev_skipTo', { [kind]: value === null ? true : uint(value, kind).toString() });
  }
}

/** A contract call that failed: `receipt` is its committed receipt (null for a query or an estimate). */
class CallFailed extends BataraError {
  constructor(message, receipt = null) {
    super('INTERNAL', message);
    this.receipt = receipt;
  }
}

/** A result or output as the calling convention gives it: JSON decoded, else a Buffer (null when empty). */
function decodeOutput(hexOut) {
  const raw = Buffer.from(String(hexOut || '0x').replace(/^0x/, ''), 'hex');
  if (raw.length === 0) return null;
  try { return JSON.parse(raw.toString('utf8')); } catch { return raw; }
}

/** Receipt events with contract events decoded: `{ kind: 'contract', contract, topics, data }`. */
function decodeEvents(events) {
  return events.map((e) => {
    const attrs = Object.fromEntries(e.attributes);
    if (e.kind !== 'contract') return { kind: e.kind, ...attrs };
    const topics = e.attributes.filter(([k]) => k.startsWith('topic')).map(([, v]) => v);
    return { kind: 'contract', contract: attrs.contract, topics, data: decodeOutput(attrs.data) };
  });
}

/** Fills in gas (estimate + a quarter), gas price and fee, signs with the next nonce, submits, waits. */
async function sendContractTx(api, signer, tx, opts) {
  const { gas, gasPrice, fee } = opts;
  if (!(signer instanceof Keypair)) throw new BataraError('INVALID_INPUT', 'signer must be a Keypair');
  const info = await api.info();
  const kind = { ...tx.kind, gas_price: gasPrice === undefined ? info.min_gas_price : amount(gasPrice, 'gasPrice') };
  if (gas === undefined) {
    const est = await api.estimateGas(signer.address, { ...kind, gas_limit: '0' });
    if (est.error !== null) throw new CallFailed(`the transaction would fail: ${est.error}`);
    const used = BigInt(est.gas_used);
    kind.gas_limit = (used + used / 4n).toString();
  } else {
    kind.gas_limit = uint(gas, 'gas').toString();
  }
  const f = fee === undefined ? info.min_fee : amount(fee, 'fee');
  const signed = new Transaction(kind, f).sign(signer, await api.nextNonce(signer.address), await api.chainId);
  const done = await api.wait(await api.submit(signed.raw));
  const r = done.receipt;
  if (r.status !== 'success') throw new CallFailed(String(r.error), r);
  return {
    hash: done.hash, height: Number(done.height), gasUsed: BigInt(r.gas_used), fee: BigInt(r.fee),
    result: decodeOutput(r.output), events: decodeEvents(r.events), receipt: r,
  };
}

const CALL_OPTS = ['gas', 'gasPrice', 'fee'];

/** A contract at `address`; `signer` signs its calls unless a call names another. */
class Contract {
  constructor(api, address, signer = null) {
    this._api = api;
    this.address = str(address, 'address');
    this.signer = signer;
  }
  /** Its record: code hash, creator, height, balance. */
  async info() { return this._api.contractInfo(this.address); }
  /** Runs `method` read-only; resolves to its result (JSON decoded). Rejects with CallFailed. */
  async query(method, args, opts) {
    const { caller } = options(opts, ['caller'], 'query options');
    const raw = args === undefined ? Buffer.alloc(0) : encodeArgs(args);
    const r = await this._api.queryRaw(this.address, method, raw, { caller });
    if (r.error !== null) throw new CallFailed(`${method}: ${r.error}`);
    return decodeOutput(r.output);
  }
  /** Calls `method` in a transaction and waits: `{ hash, height, gasUsed, fee, result, events, receipt }`. */
  async call(method, args, opts) {
    const o = options(opts, ['signer', 'value', ...CALL_OPTS], 'call options');
    const signer = o.signer || this.signer;
    if (!signer) throw new BataraError('INVALID_INPUT', 'Contract.call needs a signer (contract(address, signer) or opts.signer)');
    const tx = Transaction.call(this.address, method, args === undefined ? Buffer.alloc(0) : args, o.value ?? 0n);
    return sendContractTx(this._api, signer, tx, o);
  }
  /** One storage slot's raw value (a Buffer), or null. */
  async storage(slot) {
    const v = (await this._api.storage(this.address, slot)).value;
    return v === null ? null : Buffer.from(v.replace(/^0x/, ''), 'hex');
  }
}

/** Contract writes on Node and Client alike (both have info, estimateGas, nextNonce, submit, wait). */
const contractMethods = {
  /** Uploads WebAssembly `code` and waits; resolves to its code hash. */
  async upload(signer, code, opts) {
    const o = options(opts, CALL_OPTS, 'upload options');
    const r = await sendContractTx(this, signer, Transaction.upload(code, 0, 0n), o);
    return r.events[0].code_hash;
  },
  /** Instantiates uploaded code (`init` runs with `args`) and waits; resolves to the Contract. */
  async instantiate(signer, codeHash, args, opts) {
    const o = options(opts, ['salt', 'value', ...CALL_OPTS], 'instantiate options');
    const tx = Transaction.instantiate(codeHash, args === undefined ? Buffer.alloc(0) : args, o.salt ?? Buffer.alloc(0), o.value ?? 0n);
    const r = await sendContractTx(this, signer, tx, o);
    return new Contract(this, r.events[0].contract, signer);
  },
  /** The contract at `address` (calls signed by `signer` unless a call names another). */
  contract(address, signer = null) { return new Contract(this, address, signer); },
};
Object.assign(Node.prototype, contractMethods);
Object.assign(Client.prototype, contractMethods);

module.exports = { Node, Client, Keypair, Transaction, Contract, CallFailed, BataraError, ERROR_TABLE, verify, addressOf, decodeEvents };
