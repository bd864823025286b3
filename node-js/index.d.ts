/**
 * @batara/node: embed a Batara node or dev chain, or talk to one over JSON-RPC.
 *
 * `Node` (embedded) and `Client` (JSON-RPC) share one surface, `NodeApi`: the same method names,
 * arguments and result shapes, and the same `BataraError` codes. Every method of both returns a
 * Promise: Node's run off the JS thread (storage reads, waits and dev controls never block the
 * event loop). Only key, signing and address computations are synchronous. Checked by
 * `npm run typecheck` (tsc over this file and test/typed-sample.ts).
 *
 * Arguments are checked before they reach the node: a count, height, index, nonce or timeout is
 * a non-negative integer (number or bigint) in its range, an options object holds only the names
 * declared here; anything else rejects (or throws, for the synchronous calls) a BataraError with
 * code INVALID_INPUT.
 */

/// <reference types="node" />

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
  constructor(code: BataraErrorCode, message: string, reason?: string);
  readonly name: 'BataraError';
  readonly code: BataraErrorCode;
  readonly reason?: string;
}

export type Bytes = Buffer | Uint8Array;
/** An amount: a bigint, a non-negative safe integer, or a decimal string. */
export type Amount = bigint | number | string;
/** A block: its height, its 0x hash, 'latest', or null / absent for the latest. */
export type BlockId = number | bigint | string | null;

/** An ed25519 key pair (RFC 8032). */
export class Keypair {
  private constructor();
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

/** Verifies a signature with the node's rule (strict encodings, cofactored equation). */
export function verify(publicKey: Bytes, message: Bytes, signature: Bytes): boolean;
/** The address (bat1…) of a 32-byte public key. */
export function addressOf(publicKey: Bytes): string;

export interface SignedTransaction {
  /** The canonical bytes (what `submit` takes). */
  raw: Buffer;
  /** The transaction hash, 0x-hex. */
  hash: string;
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
  /** Delegate `amount` to `validator` (an address) for shares of its stake. */
  static delegate(validator: string, amount: Amount, fee?: Amount): Transaction;
  /** Take `amount` of stake out of the delegation to `validator`; the funds return after unbonding. */
  static undelegate(validator: string, amount: Amount, fee?: Amount): Transaction;
  /** Move `amount` of delegated stake from `srcValidator` to `dstValidator` at once (one hop at a time). */
  static redelegate(srcValidator: string, dstValidator: string, amount: Amount, fee?: Amount): Transaction;
  /** Pay the signer's pending rewards from `validator`, or from every validator it delegates to. */
  static withdrawRewards(validator?: string | null, fee?: Amount): Transaction;
  /** Set the commission of a validator the signer operates, in parts per million. */
  static editCommission(validator: string, rates: { rate: number; maxRate: number; maxChange: number }, fee?: Amount): Transaction;
  /** Submit a governance proposal with an initial deposit. */
  static propose(title: string, content: ProposalContent, deposit: Amount, opts?: { summary?: string; expedited?: boolean }, fee?: Amount): Transaction;
  /** The content of a parameter-change proposal: parameter sets (`chain`, `staking`, `vm`, `gov`) to the fields to change. */
  static paramsChange(changes: Record<string, Record<string, unknown>>): ProposalContent;
  /** Add to a proposal's deposit. */
  static deposit(proposal: number | bigint, amount: Amount, fee?: Amount): Transaction;
  /** Vote: one option, or weights summing to 1 (`{ yes: 0.7, no: 0.3 }`). */
  static vote(proposal: number | bigint, option: VoteOption | Partial<Record<VoteOption, number>>, fee?: Amount): Transaction;
  /** Withdraw a proposal the signer submitted, before its vote ends. */
  static cancelProposal(proposal: number | bigint, fee?: Amount): Transaction;
  /** Store WebAssembly `code` (binary) under its SHA-256 hash, paying its deposit. */
  static upload(code: Bytes, gasLimit: number | bigint, gasPrice: Amount, fee?: Amount): Transaction;
  /** Create a contract from uploaded code `codeHash`; `init` runs with `args` (bytes, or a value sent as JSON). */
  static instantiate(codeHash: string, args?: unknown, salt?: Bytes, value?: Amount, gasLimit?: number | bigint, gasPrice?: Amount, fee?: Amount): Transaction;
  /** Call `method` of `contract` with `args` (bytes, or a value sent as JSON), moving `value` to it. */
  static call(contract: string, method: string, args?: unknown, value?: Amount, gasLimit?: number | bigint, gasPrice?: Amount, fee?: Amount): Transaction;
  /** Signs for `chainId` with `nonce`. */
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

/** An account (amounts and nonce as bigint). */
export interface Account {
  address: string;
  balance: bigint;
  nonce: bigint;
  staked: bigint;
}

export interface DevOptions {
  /** Funded dev accounts (default 10, at most 10000). */
  accounts?: number;
  /** 'auto' (a block as soon as transactions wait, the default), 'interval' or 'manual' (`mine()`). */
  mode?: 'auto' | 'interval' | 'manual';
  /** Block interval of 'interval' mode (default 1000). */
  blockTimeMs?: number;
  /** Data directory; in memory when absent. */
  dataDir?: string;
  /** JSON-RPC address such as '127.0.0.1:0'; none when absent. */
  rpcAddr?: string;
  /** Default 'batara-dev'. */
  chainId?: string;
}

export interface StartOptions {
  /** The fields of config.toml as an object, or the path of a config.toml. */
  config?: Record<string, unknown> | string;
  /** The genesis.json object, or its path. */
  genesis: Record<string, unknown> | string;
  /** This node's validator key. */
  validatorKey?: Keypair;
}

// JSON shapes, as JSON-RPC reports them: amounts and u64 as decimal strings, hashes, keys and
// signatures 0x-hex, addresses bech32.

/** Node status (`node_info`). */
export interface NodeInfo {
  chain_id: string;
  version: string;
  height: string;
  latest_hash: string;
  genesis_hash: string;
  peers: number;
  /** This node's peer id (null without p2p). */
  peer_id: string | null;
  /** Where it listens for peers (usable as bootnodes). */
  listen_addrs: string[];
  is_validator: boolean;
  syncing: boolean;
  /** Consensus engine: 'dev', 'bft', 'follower'. */
  engine: string;
  /** Pending transactions. */
  mempool_txs: number;
  /** The least fee this node accepts (decimal string): the default fee of `transfer` and the CLI. */
  min_fee: string;
  /** The least gas price of a contract transaction (decimal string). */
  min_gas_price: string;
}

export interface Header {
  chain_id: string;
  height: string;
  /** Unix time in ms. */
  time: string;
  parent: string;
  proposer: string;
  txs_root: string;
  state_root: string;
  validator_set_hash: string;
  last_commit_hash: string;
  evidence_root: string;
}

/** A header with its hash (`chain_getHeader`). */
export interface HeaderInfo {
  hash: string;
  header: Header;
}

export interface Commit {
  height: string;
  round: number;
  block_hash: string;
  signatures: Array<{ validator: string; signature: string }>;
}

/** A transaction kind as JSON-RPC prints it (amounts as decimal strings); `new Transaction(kind)` signs any of them. */
export type TxKind =
  | { type: 'transfer'; to: string; amount: string }
  | { type: 'stake'; validator_key: string; amount: string }
  | { type: 'unstake'; validator: string; amount: string }
  | { type: 'unjail'; validator: string }
  | { type: 'delegate'; validator: string; amount: string }
  | { type: 'undelegate'; validator: string; amount: string }
  | { type: 'redelegate'; src_validator: string; dst_validator: string; amount: string }
  | { type: 'withdraw_rewards'; validator?: string }
  | { type: 'edit_commission'; validator: string; rate_ppm: number; max_rate_ppm: number; max_change_ppm: number }
  | { type: 'upload'; code: string; gas_limit: string; gas_price: string }
  | { type: 'instantiate'; code_hash: string; args: string; salt: string; value: string; gas_limit: string; gas_price: string }
  | { type: 'call'; contract: string; method: string; args: string; value: string; gas_limit: string; gas_price: string }
  | { type: 'propose'; title: string; summary?: string; content: ProposalContent; deposit: string; expedited?: boolean }
  | { type: 'deposit'; proposal: string; amount: string }
  | { type: 'vote'; proposal: string; options: WeightedVote[] }
  | { type: 'cancel_proposal'; proposal: string };

/** What a proposal does if it passes. */
export type ProposalContent =
  | { kind: 'text' }
  | { kind: 'params'; changes: Array<{ params: string; values: Record<string, unknown> }> }
  | { kind: 'upgrade'; name: string; height: string | number; info?: string }
  | { kind: 'spend'; recipient: string; amount: string };

export type VoteOption = 'yes' | 'no' | 'abstain' | 'veto';

/** One option of a vote and its share of the voter's power (ppm; a vote's weights sum to 1,000,000). */
export interface WeightedVote {
  option: VoteOption;
  weight_ppm: number;
}

export type ProposalStatus = 'deposit_period' | 'voting_period' | 'passed' | 'rejected' | 'failed' | 'canceled';

/** Stake behind each option and the bonded stake quorum is measured against. */
export interface Tally {
  yes: string;
  no: string;
  abstain: string;
  veto: string;
  bonded: string;
}

/** A governance proposal (times in ms of block time; `result` says why it ended as it did). */
export interface Proposal {
  id: string;
  proposer: string;
  title: string;
  summary: string;
  content: ProposalContent;
  expedited: boolean;
  status: ProposalStatus;
  submit_height: string;
  submit_ms: string;
  deposit_end_ms: string;
  voting_start_ms: string;
  voting_end_ms: string;
  total_deposit: string;
  /** The final tally (once voted). */
  tally: Tally | null;
  result: string;
  deposits_burned: boolean;
  end_height: string;
}

/** A proposal with its deposits and its tally: final, or live while the vote runs (`gov_getProposal`). */
export interface ProposalDetail extends Proposal {
  deposits: Array<{ depositor: string; amount: string }>;
  current_tally: Tally | null;
}

/** A page of proposals (`gov_listProposals`); pass `next` as `after`. */
export interface ProposalPage {
  proposals: Proposal[];
  next: string | null;
}

/** A page of a proposal's votes (`gov_getVotes`); `power` is the voter's bonded stake now. */
export interface VotePage {
  proposal: string;
  votes: Array<{ voter: string; options: WeightedVote[]; power: string }>;
  next: string | null;
}

/** Governance parameters in force (`gov_getParams`). */
export interface GovParams {
  min_deposit: string;
  expedited_min_deposit: string;
  min_initial_deposit_ratio_ppm: number;
  min_deposit_ratio_ppm: number;
  max_deposit_period_ms: string;
  voting_period_ms: string;
  expedited_voting_period_ms: string;
  quorum_ppm: number;
  threshold_ppm: number;
  expedited_threshold_ppm: number;
  veto_threshold_ppm: number;
  burn_vote_veto: boolean;
  burn_vote_quorum: boolean;
  burn_proposal_deposit_prevote: boolean;
  proposal_cancel_ratio_ppm: number;
  /** Every parameter set proposals may change, with its values in force. */
  governed: Record<'chain' | 'staking' | 'vm' | 'gov', Record<string, unknown>>;
}

/** What `skipTo` fast-forwards to (exactly one). */
export type SkipTarget = { votingEnd: number | bigint } | { unbondingEnd: true } | { height: number | bigint };

export interface TxBody {
  chain_id: string;
  /** The signer's public key. */
  signer: string;
  nonce: string;
  fee: string;
  kind: TxKind;
}

export interface SignedTx {
  body: TxBody;
  signature: string;
}

export interface Block {
  hash: string;
  header: Header;
  /** The commit that finalized it (null for genesis). */
  commit: Commit | null;
  /** The commit of the block before, as carried in this one (null for the first blocks). */
  last_commit: Commit | null;
  txs: Array<SignedTx & { hash: string }>;
  /** Evidence of double signing the block carries (each offender was slashed and tombstoned). */
  evidence: DuplicateVoteEvidence[];
  /** Events of the block itself (a proposal's vote or deposit period ending); absent when none. */
  events?: Event[];
}

export interface Vote {
  kind: 'prevote' | 'precommit';
  height: string;
  round: number;
  /** null for a vote for no block. */
  block_hash: string | null;
  validator: string;
  signature: string;
}

/** Two votes of one validator for one height, round and kind, for different blocks. */
export interface DuplicateVoteEvidence {
  vote_a: Vote;
  vote_b: Vote;
}

export interface Event {
  kind: string;
  /** Key/value pairs. */
  attributes: Array<[string, string]>;
}

export interface Receipt {
  tx_hash: string;
  status: 'success' | 'failed';
  fee: string;
  gas_used: string;
  /** None when failed. */
  events: Event[];
  /** Why it failed. */
  error: string | null;
  /** What a contract call returned, 0x-hex (absent when empty). */
  output?: string;
}

/** A committed transaction with its receipt. */
export interface TxInfo {
  hash: string;
  tx: SignedTx;
  receipt: Receipt;
  /** Height of its block. */
  height: string;
  /** Position in the block. */
  index: number;
}

/** A member of a validator set (amounts and power as decimal strings). */
export interface Validator {
  address: string;
  pubkey: string;
  voting_power: string;
  stake: string;
  jailed: boolean;
  operator: string;
}

/** A validator's staking record, power and its operator's unbonding funds. */
export interface ValidatorDetail {
  address: string;
  operator: string;
  pubkey: string;
  stake: string;
  jailed: boolean;
  /** `unjail` is refused before this height. */
  jailed_until: string;
  /** Jailed for good (double signing). */
  tombstoned: boolean;
  /** Heights within the downtime window whose commit it did not sign. */
  missed: number[];
  /** Delegator shares outstanding (`stake` is what they are worth). */
  shares: string;
  /** The operator's own shares. */
  self_shares: string;
  /** Number of delegations, the operator's own included. */
  delegators: string;
  /** Commission in parts per million; `updated_ms` is the block time of the last change. */
  commission: { rate_ppm: number; max_rate_ppm: number; max_change_ppm: number; updated_ms: string };
  /** Voting power in the set of the next block ('0': not in it). */
  voting_power: string;
  /** The operator's funds still unbonding. */
  unbonding: Unbonding[];
}

/** Funds unbonding: paid to `delegator` at `height`. */
export interface Unbonding {
  delegator: string;
  validator: string;
  height: string;
  amount: string;
}

/** One delegation: its shares, what they are worth and its pending rewards. */
export interface Delegation {
  delegator: string;
  validator: string;
  shares: string;
  amount: string;
  pending_rewards: string;
}

/** An account's delegations (`staking_getDelegations`). */
export interface Delegations {
  delegator: string;
  delegations: Delegation[];
  total_amount: string;
  total_rewards: string;
  unbonding: Unbonding[];
}

/** A page of a validator's delegators (`staking_getDelegators`); pass `next` as `after`. */
export interface DelegatorPage {
  validator: string;
  delegations: Delegation[];
  next: string | null;
}

/** A delegator's pending rewards per validator (`distribution_getRewards`). */
export interface Rewards {
  delegator: string;
  rewards: Array<{ validator: string; amount: string }>;
  total: string;
}

/** The community pool, the rewards not yet withdrawn and the supply counters. */
export interface CommunityPool {
  amount: string;
  outstanding_rewards: string;
  minted: string;
  burned: string;
}

/** Accounts as JSON-RPC `state_getAccounts` reports them (amounts as decimal strings). */
export interface AccountPage {
  accounts: Array<{ address: string; balance: string; nonce: string; staked: string }>;
  /** Pass as `after` for the next page; null after the last. */
  next: string | null;
}

/** An account with a proof against the state root of block `height`. */
export interface AccountProof {
  /** The account (null: the proof shows it does not exist). */
  value: { balance: string; nonce: string } | null;
  /** borsh bytes of the jmt sparse Merkle proof (SHA-256), 0x-hex. */
  proof: string;
  /** The header's state_root at `height`. */
  state_root: string;
  height: string;
}

/** A value, or a Promise of it: Node's `chainId` and `height` getters are values, Client's Promises. */
export type Awaitable<T> = T | Promise<T>;

/**
 * What Node and Client both offer: the same methods, arguments and result shapes, every method a
 * Promise. Write code that takes a `NodeApi` and `await`s each call (and the two getters) to run
 * it against either.
 */
export interface NodeApi {
  readonly chainId: Awaitable<string>;
  /** The head height. */
  readonly height: Awaitable<number>;
  info(): Promise<NodeInfo>;
  /** Resolves to the hash (after the commit with `wait`); rejects with TX_REJECTED and a `reason`. */
  submit(raw: Bytes, opts?: { wait?: boolean }): Promise<string>;
  /** One item per tx, in order: its hash, or the BataraError it got (returned, not thrown). */
  submitBatch(raws: Bytes[]): Promise<Array<string | BataraError>>;
  /** Resolves when the transaction is committed; TIMEOUT after `timeoutMs` (default 60000). */
  wait(hash: string, opts?: { timeoutMs?: number }): Promise<TxInfo>;
  /**
   * Builds, signs (next nonce) and submits a transfer; with `wait` (default), resolves after the
   * commit. `opts.fee` defaults to the node's minimum fee (`info().min_fee`).
   */
  transfer(keypair: Keypair, to: string, amount: Amount, opts?: { fee?: Amount; wait?: boolean }): Promise<string>;
  /** The next nonce of `address`, counting its gap-free pending transactions. */
  nextNonce(address: string): Promise<number>;
  /** An account, at the head or after block `height`. */
  account(address: string, height?: number | bigint | null): Promise<Account>;
  /** An account with a proof against the state root of block `height` (default: the head). */
  proof(address: string, height?: number | bigint | null): Promise<AccountProof>;
  balance(address: string): Promise<bigint>;
  /** The latest balances of up to 10,000 addresses, in order, all after one block (0 for an address with no account). */
  balances(addresses: string[]): Promise<bigint[]>;
  /** NOT_FOUND if there is no such block. */
  block(id?: BlockId): Promise<Block>;
  header(id?: BlockId): Promise<HeaderInfo>;
  /** The receipts of a block's transactions, in block order. */
  receipts(id?: BlockId): Promise<Receipt[]>;
  /** Up to `limit` (1..10,000, default 1000) accounts with addresses after `after`, in address order. */
  accountPage(opts?: { after?: string | null; limit?: number }): Promise<AccountPage>;
  /** NOT_FOUND unless committed. */
  transaction(hash: string): Promise<TxInfo>;
  /** The validator set of block `height`, or of the next block. */
  validators(height?: number | bigint | null): Promise<Validator[]>;
  /** NOT_FOUND if there is no such validator. */
  validator(address: string): Promise<ValidatorDetail>;
  /** An account's delegations, their totals and its unbonding funds. */
  delegations(delegator: string): Promise<Delegations>;
  /** A page of a validator's delegators, by delegator address. */
  delegators(validator: string, opts?: { after?: string | null; limit?: number }): Promise<DelegatorPage>;
  /** A delegator's pending rewards per validator. */
  rewards(delegator: string): Promise<Rewards>;
  /** The community pool, outstanding rewards and supply counters. */
  communityPool(): Promise<CommunityPool>;
  /** A governance proposal with its deposits and tally; NOT_FOUND if none. */
  proposal(id: number | bigint): Promise<ProposalDetail>;
  /** A page of proposals by id, of `status` if given (default limit 100). */
  proposals(opts?: { status?: ProposalStatus | null; after?: number | bigint | null; limit?: number }): Promise<ProposalPage>;
  /** A page of a proposal's votes by voter address. */
  votes(id: number | bigint, opts?: { after?: string | null; limit?: number }): Promise<VotePage>;
  /** Governance parameters in force. */
  govParams(): Promise<GovParams>;
  /** A contract's record; NOT_FOUND if there is none. */
  contractInfo(address: string, height?: number | bigint | null): Promise<ContractInfo>;
  /** Stored contract code; NOT_FOUND if there is none. */
  code(codeHash: string): Promise<CodeInfo>;
  /** Every host call of contract transaction `txHash` (dev nodes keep the latest 4096); NOT_FOUND if none is kept. */
  trace(txHash: string): Promise<Trace>;
  /** One storage slot of a contract, with a proof on request. */
  storage(contract: string, slot: Bytes, opts?: { height?: number | bigint | null; prove?: boolean }): Promise<StorageSlot>;
  /** A read-only call with input bytes; nothing is written. */
  queryRaw(contract: string, method: string, args: Bytes, opts?: { caller?: string; gas?: number }): Promise<QueryOutput>;
  /** The gas a contract transaction's kind sent by `sender` would use. */
  estimateGas(sender: string, kind: TxKind): Promise<GasEstimate>;
  /** Uploads WebAssembly `code` (gas estimated unless given) and waits; resolves to its code hash. */
  upload(signer: Keypair, code: Bytes, opts?: ContractTxOptions): Promise<string>;
  /** Instantiates uploaded code (`init` runs with `args`: bytes, or a value sent as JSON) and waits. */
  instantiate(signer: Keypair, codeHash: string, args?: unknown, opts?: ContractTxOptions & { salt?: Bytes; value?: Amount }): Promise<Contract>;
  /** The contract at `address`; `signer` signs its calls unless a call names another. */
  contract(address: string, signer?: Keypair | null): Contract;
  /** Makes `count` (default 1, at most 10000) blocks now (dev chains; NOT_DEV_CHAIN elsewhere). */
  mine(count?: number): Promise<Block[]>;
  /** Remembers the head (dev chains); the id for `revert`. */
  snapshot(): Promise<number>;
  /** Returns to a snapshot, which is used up (dev chains). */
  revert(id: number): Promise<void>;
  /** Sets a balance in a new block (dev chains). */
  setBalance(address: string, amount: Amount): Promise<void>;
  /** Moves block time forward by `ms` (dev chains); the total offset in ms. */
  increaseTime(ms: number): Promise<number>;
  /** Fast-forwards so a proposal's period, the earliest unbonding or a height comes in the next block (dev chains). */
  skipTo(target: SkipTarget): Promise<{ height: string; time_offset_ms: string }>;
}

/** An embedded node. */
export class Node implements NodeApi {
  private constructor();
  static dev(opts?: DevOptions): Promise<Node>;
  static start(opts: StartOptions): Promise<Node>;
  readonly chainId: string;
  /** The JSON-RPC URL, or null when the node serves none. */
  readonly rpcUrl: string | null;
  /** The head height (kept in memory: a synchronous getter). */
  readonly height: number;
  /** The funded dev accounts (empty for other chains). */
  readonly accounts: Keypair[];
  info(): Promise<NodeInfo>;
  submit(raw: Bytes, opts?: { wait?: boolean }): Promise<string>;
  submitBatch(raws: Bytes[]): Promise<Array<string | BataraError>>;
  /** Rejects with NOT_FOUND at once for a hash that is neither pending nor committed. */
  wait(hash: string, opts?: { timeoutMs?: number }): Promise<TxInfo>;
  /** `opts.fee` defaults to the node's minimum fee (`info().min_fee`). */
  transfer(keypair: Keypair, to: string, amount: Amount, opts?: { fee?: Amount; wait?: boolean }): Promise<string>;
  nextNonce(address: string): Promise<number>;
  account(address: string, height?: number | bigint | null): Promise<Account>;
  proof(address: string, height?: number | bigint | null): Promise<AccountProof>;
  balance(address: string): Promise<bigint>;
  /**
   * The latest balance, read on the calling thread: no Promise and no hop to the worker pool,
   * for hot loops (one read of the latest state, from memory while the account is hot).
   */
  balanceSync(address: string): bigint;
  balances(addresses: string[]): Promise<bigint[]>;
  block(id?: BlockId): Promise<Block>;
  header(id?: BlockId): Promise<HeaderInfo>;
  receipts(id?: BlockId): Promise<Receipt[]>;
  accountPage(opts?: { after?: string | null; limit?: number }): Promise<AccountPage>;
  transaction(hash: string): Promise<TxInfo>;
  validators(height?: number | bigint | null): Promise<Validator[]>;
  validator(address: string): Promise<ValidatorDetail>;
  /** An account's delegations, their totals and its unbonding funds. */
  delegations(delegator: string): Promise<Delegations>;
  /** A page of a validator's delegators, by delegator address. */
  delegators(validator: string, opts?: { after?: string | null; limit?: number }): Promise<DelegatorPage>;
  /** A delegator's pending rewards per validator. */
  rewards(delegator: string): Promise<Rewards>;
  /** The community pool, outstanding rewards and supply counters. */
  communityPool(): Promise<CommunityPool>;
  /** A governance proposal with its deposits and tally; NOT_FOUND if none. */
  proposal(id: number | bigint): Promise<ProposalDetail>;
  /** A page of proposals by id, of `status` if given (default limit 100). */
  proposals(opts?: { status?: ProposalStatus | null; after?: number | bigint | null; limit?: number }): Promise<ProposalPage>;
  /** A page of a proposal's votes by voter address. */
  votes(id: number | bigint, opts?: { after?: string | null; limit?: number }): Promise<VotePage>;
  /** Governance parameters in force. */
  govParams(): Promise<GovParams>;
  /** A contract's record; NOT_FOUND if there is none. */
  contractInfo(address: string, height?: number | bigint | null): Promise<ContractInfo>;
  /** Stored contract code; NOT_FOUND if there is none. */
  code(codeHash: string): Promise<CodeInfo>;
  /** Every host call of contract transaction `txHash` (dev nodes keep the latest 4096); NOT_FOUND if none is kept. */
  trace(txHash: string): Promise<Trace>;
  /** Writes a consistent backup of the chain into the new directory `dir` while the node runs (none: a new directory in the node's `backup_dir`); INVALID_INPUT if `dir` exists. */
  backup(dir?: string | null): Promise<Backup>;
  /** Submits evidence that a validator signed two conflicting votes (`{vote_a, vote_b}`, the shape blocks carry) to this BFT node; its hash. INVALID_INPUT naming the cause. */
  submitEvidence(evidence: DuplicateVoteEvidence): Promise<string>;
  /** One storage slot of a contract, with a proof on request. */
  storage(contract: string, slot: Bytes, opts?: { height?: number | bigint | null; prove?: boolean }): Promise<StorageSlot>;
  /** A read-only call with input bytes; nothing is written. */
  queryRaw(contract: string, method: string, args: Bytes, opts?: { caller?: string; gas?: number }): Promise<QueryOutput>;
  /** The gas a contract transaction's kind sent by `sender` would use. */
  estimateGas(sender: string, kind: TxKind): Promise<GasEstimate>;
  /** Uploads WebAssembly `code` (gas estimated unless given) and waits; resolves to its code hash. */
  upload(signer: Keypair, code: Bytes, opts?: ContractTxOptions): Promise<string>;
  /** Instantiates uploaded code (`init` runs with `args`: bytes, or a value sent as JSON) and waits. */
  instantiate(signer: Keypair, codeHash: string, args?: unknown, opts?: ContractTxOptions & { salt?: Bytes; value?: Amount }): Promise<Contract>;
  /** The contract at `address`; `signer` signs its calls unless a call names another. */
  contract(address: string, signer?: Keypair | null): Contract;
  /** Committed blocks from now on; ends when the node stops. */
  blocks(): BlockStream;
  mine(count?: number): Promise<Block[]>;
  /** Waits for a block being made, then remembers the head. */
  snapshot(): Promise<number>;
  revert(id: number): Promise<void>;
  setBalance(address: string, amount: Amount): Promise<void>;
  increaseTime(ms: number): Promise<number>;
  skipTo(target: SkipTarget): Promise<{ height: string; time_offset_ms: string }>;
  /** Stops the node and ends its block streams. A node garbage-collected without `close()` stops on a background thread. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * `node.blocks()`: committed blocks, from the call on, until the node stops. Each `next()` awaits
 * the node's block channel (nothing polls). The node keeps the last 1024 blocks for a slow
 * consumer; one that falls further behind skips the oldest blocks, counted in `missed`, and goes
 * on with the oldest block still kept.
 */
export interface BlockStream extends AsyncGenerator<Block, void, undefined> {
  /** Blocks skipped so far because this consumer fell more than 1024 blocks behind. */
  readonly missed: number;
}

/** A client of a node's JSON-RPC URL, with Node's surface (every call a Promise). */
export class Client implements NodeApi {
  constructor(url: string);
  readonly url: string;
  /** Calls a JSON-RPC method with positional params; resolves to its result. */
  call(method: string, ...params: unknown[]): Promise<any>;
  /** Asked once, then remembered. */
  readonly chainId: Promise<string>;
  readonly height: Promise<number>;
  info(): Promise<NodeInfo>;
  submit(raw: Bytes, opts?: { wait?: boolean }): Promise<string>;
  submitBatch(raws: Bytes[]): Promise<Array<string | BataraError>>;
  /** JSON-RPC cannot tell an unknown hash from a pending one: waits for either until TIMEOUT. */
  wait(hash: string, opts?: { timeoutMs?: number }): Promise<TxInfo>;
  /** `opts.fee` defaults to the node's minimum fee (`info().min_fee`). */
  transfer(keypair: Keypair, to: string, amount: Amount, opts?: { fee?: Amount; wait?: boolean }): Promise<string>;
  nextNonce(address: string): Promise<number>;
  account(address: string, height?: number | bigint | null): Promise<Account>;
  balance(address: string): Promise<bigint>;
  balances(addresses: string[]): Promise<bigint[]>;
  block(id?: BlockId): Promise<Block>;
  header(id?: BlockId): Promise<HeaderInfo>;
  receipts(id?: BlockId): Promise<Receipt[]>;
  accountPage(opts?: { after?: string | null; limit?: number }): Promise<AccountPage>;
  transaction(hash: string): Promise<TxInfo>;
  /** An account with a proof against the state root of block `height` (default: the head). */
  proof(address: string, height?: number | bigint | null): Promise<AccountProof>;
  validators(height?: number | bigint | null): Promise<Validator[]>;
  validator(address: string): Promise<ValidatorDetail>;
  /** An account's delegations, their totals and its unbonding funds. */
  delegations(delegator: string): Promise<Delegations>;
  /** A page of a validator's delegators, by delegator address. */
  delegators(validator: string, opts?: { after?: string | null; limit?: number }): Promise<DelegatorPage>;
  /** A delegator's pending rewards per validator. */
  rewards(delegator: string): Promise<Rewards>;
  /** The community pool, outstanding rewards and supply counters. */
  communityPool(): Promise<CommunityPool>;
  /** A governance proposal with its deposits and tally; NOT_FOUND if none. */
  proposal(id: number | bigint): Promise<ProposalDetail>;
  /** A page of proposals by id, of `status` if given (default limit 100). */
  proposals(opts?: { status?: ProposalStatus | null; after?: number | bigint | null; limit?: number }): Promise<ProposalPage>;
  /** A page of a proposal's votes by voter address. */
  votes(id: number | bigint, opts?: { after?: string | null; limit?: number }): Promise<VotePage>;
  /** Governance parameters in force. */
  govParams(): Promise<GovParams>;
  /** A contract's record; NOT_FOUND if there is none. */
  contractInfo(address: string, height?: number | bigint | null): Promise<ContractInfo>;
  /** Stored contract code; NOT_FOUND if there is none. */
  code(codeHash: string): Promise<CodeInfo>;
  /** Every host call of contract transaction `txHash` (dev nodes keep the latest 4096); NOT_FOUND if none is kept. */
  trace(txHash: string): Promise<Trace>;
  /** A backup written by the node into a new directory of its `backup_dir` (JSON-RPC `node_backup`; off unless the node sets `backup_dir`). */
  backup(): Promise<Backup>;
  /** Submits evidence (JSON-RPC `evidence_submit`); its hash. */
  submitEvidence(evidence: DuplicateVoteEvidence): Promise<string>;
  /** One storage slot of a contract, with a proof on request. */
  storage(contract: string, slot: Bytes, opts?: { height?: number | bigint | null; prove?: boolean }): Promise<StorageSlot>;
  /** A read-only call with input bytes; nothing is written. */
  queryRaw(contract: string, method: string, args: Bytes, opts?: { caller?: string; gas?: number }): Promise<QueryOutput>;
  /** The gas a contract transaction's kind sent by `sender` would use. */
  estimateGas(sender: string, kind: TxKind): Promise<GasEstimate>;
  /** Uploads WebAssembly `code` (gas estimated unless given) and waits; resolves to its code hash. */
  upload(signer: Keypair, code: Bytes, opts?: ContractTxOptions): Promise<string>;
  /** Instantiates uploaded code (`init` runs with `args`: bytes, or a value sent as JSON) and waits. */
  instantiate(signer: Keypair, codeHash: string, args?: unknown, opts?: ContractTxOptions & { salt?: Bytes; value?: Amount }): Promise<Contract>;
  /** The contract at `address`; `signer` signs its calls unless a call names another. */
  contract(address: string, signer?: Keypair | null): Contract;
  mine(count?: number): Promise<Block[]>;
  snapshot(): Promise<number>;
  revert(id: number): Promise<void>;
  setBalance(address: string, amount: Amount): Promise<void>;
  increaseTime(ms: number): Promise<number>;
  skipTo(target: SkipTarget): Promise<{ height: string; time_offset_ms: string }>;
}

/** A contract's record (`vm_getContract`). */
export interface ContractInfo {
  address: string;
  code_hash: string;
  creator: string;
  instantiated_at: string;
  balance: string;
}

/** Stored code (`vm_getCode`). */
export interface CodeInfo {
  code_hash: string;
  uploader: string;
  size: number;
  deposit: string;
  uploaded_at: string;
  /** The WebAssembly module, 0x-hex. */
  wasm: string;
}

/** One host call of a traced contract transaction. */
export interface HostCall {
  /** Call frames on the stack (1: the transaction's own contract). */
  depth: number;
  /** The contract that made the call. */
  contract: string;
  /** The host function, e.g. `storage_get`. */
  host: string;
  /** Its arguments as the contract passed them. */
  args: number[];
  /** Bytes it read from the contract's memory, 0x-hex. */
  read: string;
  /** Bytes it wrote into the contract's memory, 0x-hex. */
  wrote: string;
  result: number | null;
  /** Why it stopped the contract, when it did. */
  error: string | null;
  /** Gas it used (with the sub-call's, for `call` and `instantiate`). */
  gas: string;
}

/** A backup (`node.backup`, `client.backup`): a node home without keys, whose `data/` restores a node. */
export interface Backup {
  /** The directory written (on the node's machine). */
  dir: string;
  chain_id: string;
  /** The height it holds (decimal string). */
  height: string;
  hash: string;
  /** The state root at that height: what a restore must reproduce. */
  state_root: string;
  /** Bytes of its database files (decimal string). */
  bytes: string;
  /** When it was taken, Unix ms (decimal string). */
  created_ms: string;
}

/** The host calls of a contract transaction (`vm_traceTransaction`). */
export interface Trace {
  tx_hash: string;
  height: string;
  status: 'success' | 'failed';
  gas_used: string;
  error: string | null;
  calls: HostCall[];
  /** More than 100,000 host calls: the rest are not recorded. */
  truncated: boolean;
}

/** One storage slot (`vm_getStorage`). */
export interface StorageSlot {
  contract: string;
  slot: string;
  /** 0x-hex, or null when empty. */
  value: string | null;
  height: string;
  proof?: { key: string; value: string | null; proof: string; state_root: string; height: string };
}

/** A read-only call's output (`vm_query`). */
export interface QueryOutput {
  /** What the method returned, 0x-hex. */
  output: string;
  gas_used: string;
  events: Array<{ kind: string; attributes: Array<[string, string]> }>;
  error: string | null;
}

/** `vm_estimateGas`. */
export interface GasEstimate {
  gas_used: string;
  error: string | null;
}

/** Gas and fee of a contract transaction; each defaults as the CLI does (estimate + a quarter, the chain's minimums). */
export interface ContractTxOptions {
  gas?: number | bigint;
  gasPrice?: Amount;
  fee?: Amount;
}

/** A receipt event, contract events decoded. */
export type DecodedEvent =
  | { kind: 'contract'; contract: string; topics: string[]; data: unknown }
  | { kind: string; [attribute: string]: unknown };

/** What a committed contract call gives. */
export interface CallResult {
  hash: string;
  height: number;
  gasUsed: bigint;
  fee: bigint;
  /** The method's result, JSON decoded (a Buffer if it is not JSON; null if empty). */
  result: unknown;
  events: DecodedEvent[];
  receipt: Receipt;
}

/** A contract call that failed; `receipt` is its committed receipt (null for a query or an estimate). */
export class CallFailed extends BataraError {
  constructor(message: string, receipt?: Receipt | null);
  readonly name: 'BataraError';
  /** Always INTERNAL: the cause is in the message and the receipt. */
  readonly code: BataraErrorCode;
  readonly receipt: Receipt | null;
}

/** A contract on a Node or a Client (`node.contract(address, signer)`). */
export class Contract {
  constructor(api: Node | Client, address: string, signer?: Keypair | null);
  readonly address: string;
  signer: Keypair | null;
  /** Its record. */
  info(): Promise<ContractInfo>;
  /** Runs `method` read-only; resolves to its result (JSON decoded). Rejects with CallFailed. */
  query(method: string, args?: unknown, opts?: { caller?: string }): Promise<unknown>;
  /** Calls `method` in a transaction and waits. Rejects with CallFailed if it fails. */
  call(method: string, args?: unknown, opts?: ContractTxOptions & { signer?: Keypair; value?: Amount }): Promise<CallResult>;
  /** One storage slot's raw value, or null. */
  storage(slot: Bytes): Promise<Buffer | null>;
}

/** Receipt events with contract events decoded. */
export function decodeEvents(events: Array<{ kind: string; attributes: Array<[string, string]> }>): DecodedEvent[];
