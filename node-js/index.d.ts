/** @batara/node: embed a Batara node or dev chain, or talk to one over JSON-RPC. */

/** Stable error codes. */
export type BataraErrorCode =
  | 'TX_REJECTED'
  | 'NOT_FOUND'
  | 'INVALID_INPUT'
  | 'TIMEOUT'
  | 'NODE_STOPPED'
  | 'NOT_DEV_CHAIN'
  | 'CONFIG'
  | 'IO'
  | 'INTERNAL';

/** The one error class. `reason` is the rejection reason code for TX_REJECTED (e.g. 'nonce_too_low'). */
export class BataraError extends Error {
  readonly code: BataraErrorCode;
  readonly reason?: string;
}

export type Bytes = Buffer | Uint8Array;
export type Amount = bigint | number | string;

/** An ed25519 key pair (RFC 8032). */
export class Keypair {
  static generate(): Keypair;
  static fromSeed(seed: Bytes): Keypair;
  static fromFile(path: string): Keypair;
  /** Well-known funded dev account `index` (never for real value). */
  static devAccount(index: number): Keypair;
  readonly address: string;
  readonly publicKey: Buffer;
  sign(message: Bytes): Buffer;
  verify(message: Bytes, signature: Bytes): boolean;
}

export function verify(publicKey: Bytes, message: Bytes, signature: Bytes): boolean;
export function addressOf(publicKey: Bytes): string;

export interface SignedTransaction {
  raw: Buffer;
  hash: string;
}

/** A transaction kind as JSON-RPC prints it: `type` and the kind's fields (amounts as decimal strings). */
export interface TxKind {
  type: string;
  [field: string]: unknown;
}

/** An unsigned transaction: a kind and a fee. */
export class Transaction {
  /** Any kind, given as its JSON shape; checked when signed. */
  constructor(kind: TxKind, fee?: Amount);
  readonly kind: TxKind;
  readonly fee: bigint;
  /** A transfer of `amount` to `to`. */
  static transfer(to: string, amount: Amount, fee?: Amount): Transaction;
  /** Stake on the validator with consensus key `validatorKey` (32 bytes): registers it or adds to it. */
  static stake(validatorKey: Bytes, amount: Amount, fee?: Amount): Transaction;
  /** Unstake from `validator` (an address); the funds return after the unbonding period. */
  static unstake(validator: string, amount: Amount, fee?: Amount): Transaction;
  /** Bring `validator` back after a downtime jailing. */
  static unjail(validator: string, fee?: Amount): Transaction;
  sign(keypair: Keypair, nonce: number | bigint, chainId: string): SignedTransaction;
}

/** One row of the node's error table (also `tests/vectors/errors.json`). */
export interface ErrorRow {
  kind: string;
  rpc_code: number;
  python: string;
  js: string;
  c: number;
}

/** Every error kind with its JSON-RPC code, Python class, `BataraError.code` and C result. */
export const ERROR_TABLE: ErrorRow[];

export interface Account {
  address: string;
  balance: bigint;
  nonce: bigint;
  staked: bigint;
}

export interface DevOptions {
  accounts?: number;
  mode?: 'auto' | 'interval' | 'manual';
  blockTimeMs?: number;
  /** Data directory; in memory when absent. */
  dataDir?: string;
  /** JSON-RPC address such as '127.0.0.1:0'; none when absent. */
  rpcAddr?: string;
  chainId?: string;
}

/** JSON shapes (amounts and u64 as decimal strings, hashes 0x-hex). */
export type Block = Record<string, any>;
export type TxInfo = Record<string, any>;
/** A member of a validator set (amounts and power as decimal strings). */
export interface Validator {
  address: string;
  pubkey: string;
  voting_power: string;
  stake: string;
  jailed: boolean;
  operator: string;
}
/** A receipt: tx_hash, status ("success" | "failed"), fee, gas_used (decimal strings), events, error. */
export type Receipt = Record<string, any>;
/** Accounts as JSON-RPC `state_getAccounts` reports them (amounts as decimal strings). */
export interface AccountPage {
  accounts: Array<{ address: string; balance: string; nonce: string; staked: string }>;
  /** Pass as `after` for the next page; null after the last. */
  next: string | null;
}

export interface StartOptions {
  /** The fields of config.toml as an object, or the path of a config.toml. */
  config?: Record<string, any> | string;
  /** The genesis.json object, or its path. */
  genesis: Record<string, any> | string;
  /** This node's validator key. */
  validatorKey?: Keypair;
}

export class Node {
  static dev(opts?: DevOptions): Promise<Node>;
  static start(opts: StartOptions): Promise<Node>;
  readonly chainId: string;
  readonly rpcUrl: string | null;
  readonly height: number;
  readonly accounts: Keypair[];
  info(): Record<string, any>;
  submit(raw: Bytes, opts?: { wait?: boolean }): Promise<string>;
  submitBatch(raws: Bytes[]): Promise<Array<string | BataraError>>;
  wait(hash: string, opts?: { timeoutMs?: number }): Promise<TxInfo>;
  transfer(keypair: Keypair, to: string, amount: Amount, opts?: { fee?: Amount; wait?: boolean }): Promise<string>;
  nextNonce(address: string): number;
  account(address: string): Account;
  balance(address: string): bigint;
  block(id?: number | string | null): Block;
  /** The receipts of a block's transactions, in block order. */
  receipts(id?: number | string | null): Receipt[];
  /** Up to `limit` (≤ 10,000) accounts with addresses after `after`, in address order. */
  accountPage(opts?: { after?: string | null; limit?: number }): AccountPage;
  transaction(hash: string): TxInfo;
  /** The validator set of block `height`, or of the next block. */
  validators(height?: number | null): Validator[];
  /** A validator's staking record, power and its operator's unbonding funds. */
  validator(address: string): Record<string, any>;
  blocks(): AsyncIterableIterator<Block>;
  mine(count?: number): Promise<Block[]>;
  snapshot(): number;
  revert(id: number): Promise<void>;
  setBalance(address: string, amount: Amount): Promise<void>;
  increaseTime(ms: number): number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export class Client {
  constructor(url: string);
  readonly url: string;
  call(method: string, ...params: unknown[]): Promise<any>;
  info(): Promise<Record<string, any>>;
  chainId(): Promise<string>;
  submit(raw: Bytes, opts?: { wait?: boolean }): Promise<string>;
  wait(hash: string, opts?: { timeoutMs?: number }): Promise<TxInfo>;
  transfer(keypair: Keypair, to: string, amount: Amount, opts?: { fee?: Amount; wait?: boolean }): Promise<string>;
  account(address: string): Promise<Account>;
  block(id?: number | string | null): Promise<Block>;
  receipts(id?: number | string | null): Promise<Receipt[]>;
  accountPage(opts?: { after?: string | null; limit?: number }): Promise<AccountPage>;
  transaction(hash: string): Promise<TxInfo>;
  validators(height?: number | null): Promise<Validator[]>;
  validator(address: string): Promise<Record<string, any>>;
}
