// A typed sample of the public API, checked by `npm run typecheck` (tsc, strict, no emit): every
// public class and method used with its declared types, and one `@ts-expect-error` per wrong-type
// call that the declarations must refuse. It is type-checked, not run.
import {
  GovParams,
  ProposalDetail,
  ProposalPage,
  VotePage,
  CommunityPool,
  Delegations,
  DelegatorPage,
  Rewards,
  Account,
  AccountPage,
  AccountProof,
  BataraError,
  BataraErrorCode,
  ERROR_TABLE,
  ErrorRow,
  Block,
  BlockStream,
  Client,
  HeaderInfo,
  Keypair,
  Node,
  NodeApi,
  NodeInfo,
  Receipt,
  SignedTransaction,
  Transaction,
  TxInfo,
  Validator,
  ValidatorDetail,
  addressOf,
  verify,
} from '@batara/node';

/** Code written once against the shared surface, for a Node or a Client. */
async function useSurface(api: NodeApi, alice: Keypair, bob: Keypair): Promise<bigint> {
  const chainId: string = await api.chainId;
  const height: number = await api.height;
  const info: NodeInfo = await api.info();
  const peers: number = info.peers;
  const nonce: number = await api.nextNonce(alice.address);
  const signed: SignedTransaction = Transaction.transfer(bob.address, 1n, 0n).sign(alice, nonce, chainId);
  const hash: string = await api.submit(signed.raw, { wait: false });
  const committed: TxInfo = await api.wait(hash, { timeoutMs: 10_000 });
  const status: 'success' | 'failed' = committed.receipt.status;
  const again: string = await api.transfer(alice, bob.address, 5n, { fee: 1n, wait: true });
  const batch: Array<string | BataraError> = await api.submitBatch([signed.raw, new Uint8Array(signed.raw)]);
  for (const r of batch) {
    if (r instanceof BataraError) {
      const code: BataraErrorCode = r.code;
      const reason: string | undefined = r.reason;
      void [code, reason];
    }
  }
  const account: Account = await api.account(alice.address);
  const balance: bigint = await api.balance(bob.address);
  const both: bigint[] = await api.balances([alice.address, bob.address]);
  void both;
  const block: Block = await api.block(height);
  const byHash: Block = await api.block(block.hash);
  const latest: Block = await api.block();
  const big: Block = await api.block(1n);
  const header: HeaderInfo = await api.header('latest');
  const stateRoot: string = header.header.state_root;
  const receipts: Receipt[] = await api.receipts(null);
  const page: AccountPage = await api.accountPage({ after: null, limit: 10 });
  const next: string | null = page.next;
  const tx: TxInfo = await api.transaction(again);
  const kind: string = tx.tx.body.kind.type;
  const validators: Validator[] = await api.validators();
  const atOne: Validator[] = await api.validators(1);
  const detail: ValidatorDetail = await api.validator(validators[0]!.address);
  const missed: number[] = detail.missed;
  const rate: number = detail.commission.rate_ppm;
  const mine: Delegations = await api.delegations(bob.address);
  const owed: string = mine.delegations[0]!.pending_rewards;
  const page2: DelegatorPage = await api.delegators(detail.address, { after: null, limit: 10 });
  const rewards: Rewards = await api.rewards(bob.address);
  const pool: CommunityPool = await api.communityPool();
  void [rate, owed, page2.next, rewards.total, pool.burned];
  const gp: GovParams = await api.govParams();
  const prop: ProposalDetail = await api.proposal(1);
  const props: ProposalPage = await api.proposals({ status: 'passed', after: 0, limit: 10 });
  const votes: VotePage = await api.votes(1n, { limit: 5 });
  const skipped: { height: string } = await api.skipTo({ votingEnd: 1 });
  const proposeTx: Transaction = Transaction.propose('t', Transaction.paramsChange({ gov: { quorum_ppm: 400000 } }), 10n, { expedited: true });
  const voteTx: Transaction = Transaction.vote(1, { yes: 0.5, abstain: 0.5 });
  // @ts-expect-error: not a proposal status
  await api.proposals({ status: 'open' });
  void [gp.quorum_ppm, prop.current_tally, props.next, votes.votes[0]?.power, skipped.height, proposeTx, voteTx];
  const mined: Block[] = await api.mine(2);
  const snap: number = await api.snapshot();
  await api.revert(snap);
  await api.setBalance(bob.address, '42');
  const offset: number = await api.increaseTime(1000);
  void [peers, status, byHash, latest, big, stateRoot, receipts, next, kind, atOne, missed, mined, offset];
  return account.balance + balance;
}

export async function sample(): Promise<void> {
  const node: Node = await Node.dev({ accounts: 2, mode: 'manual', rpcAddr: '127.0.0.1:0' });
  const [alice, bob] = node.accounts as [Keypair, Keypair];
  // Both implement the one surface.
  const apis: NodeApi[] = [node, new Client(node.rpcUrl ?? 'http://127.0.0.1:8545')];
  const now: bigint = node.balanceSync(node.accounts[0].address);
  void now;
  for (const api of apis) await useSurface(api, alice, bob);

  // Node: Promises for every call, synchronous getters, plus what only an embedded node has.
  const chainId: string = node.chainId;
  const height: number = node.height;
  const url: string | null = node.rpcUrl;
  const pending: Promise<Account> = node.account(alice.address);
  const account: Account = await pending;
  const nonce: bigint = account.nonce;
  const block: Block = await node.block(height);
  const stream: BlockStream = node.blocks();
  for await (const b of stream) {
    const h: string = b.header.height;
    void h;
    break;
  }
  const missedBlocks: number = stream.missed;
  const snap: number = await node.snapshot();
  const offset: number = await node.increaseTime(10);
  void [chainId, url, nonce, block, missedBlocks, snap, offset];

  // Client: Promises, plus call() and proof().
  const client = new Client('http://127.0.0.1:8545');
  const clientChainId: Promise<string> = client.chainId;
  const raw: unknown = await client.call('node_info');
  const proof: AccountProof = await client.proof(alice.address, 0);
  const value: { balance: string; nonce: string } | null = proof.value;
  const clientAccount: Promise<Account> = client.account(alice.address);
  void [clientChainId, raw, value, clientAccount];

  // Keys, signatures, transactions.
  const key: Keypair = Keypair.generate();
  const seeded: Keypair = Keypair.fromSeed(Buffer.alloc(32, 7));
  const fromFile: Keypair = Keypair.fromFile('/tmp/key.json');
  const dev: Keypair = Keypair.devAccount(0);
  const sig: Buffer = key.sign(Buffer.from('hi'));
  const ok: boolean = key.verify(Buffer.from('hi'), sig) && verify(key.publicKey, new Uint8Array([1]), sig);
  const address: string = addressOf(seeded.publicKey);
  const txs: SignedTransaction[] = [
    Transaction.transfer(address, 1, '2'),
    Transaction.stake(key.publicKey, 10n ** 18n, 1n),
    Transaction.unstake(key.address, 1n),
    Transaction.unjail(key.address),
    Transaction.delegate(key.address, 5n),
    Transaction.undelegate(key.address, '5'),
    Transaction.redelegate(key.address, address, 1n, 1n),
    Transaction.withdrawRewards(),
    Transaction.withdrawRewards(key.address, 1n),
    Transaction.editCommission(key.address, { rate: 50_000, maxRate: 200_000, maxChange: 10_000 }),
  ].map((t) => t.sign(dev, 0n, node.chainId));
  void [fromFile, ok, txs];

  const started: Node = await Node.start({
    config: { storage: { ephemeral: true } },
    genesis: '/tmp/genesis.json',
    validatorKey: key,
  });
  await started.close();
  await node[Symbol.asyncDispose]();
  const err = new BataraError('NOT_FOUND', 'no such block');
  const code: BataraErrorCode = err.code;
  void code;

  // What the declarations must refuse.
  // @ts-expect-error an amount is a bigint, a number or a decimal string, not a boolean
  Transaction.transfer(address, true);
  // @ts-expect-error submit takes bytes, not a hex string
  await node.submit('0x00');
  // @ts-expect-error a block id is not an object
  await node.block({ height: 1 });
  // @ts-expect-error Node's reads are Promises (they run off the JS thread), not values
  const notAPromise: Account = node.account(alice.address);
  // @ts-expect-error Client's reads are Promises
  const notSync: Account = client.account(alice.address);
  // @ts-expect-error Client.chainId is a Promise, not a string
  const notAString: string = client.chainId;
  // Both prove an account.
  const proved: AccountProof = await node.proof(alice.address, 0);
  void proved;
  // @ts-expect-error a height is a number, not a hash
  await node.proof(alice.address, '0xabc');
  // @ts-expect-error only Node streams blocks
  client.blocks();
  // @ts-expect-error Keypair has no public constructor; use generate(), fromSeed(), ...
  new Keypair();
  // @ts-expect-error Node is started with Node.dev() or Node.start()
  new Node();
  // @ts-expect-error Node.start needs a genesis
  await Node.start({ config: {} });
  // @ts-expect-error unknown dev mode
  await Node.dev({ mode: 'sometimes' });
  // @ts-expect-error error codes are a closed set
  new BataraError('OOPS', 'no');
  // @ts-expect-error accountPage takes an options object
  await node.accountPage('bat1…', 10);
  // @ts-expect-error a nonce is a number or a bigint
  Transaction.unjail(address).sign(key, '1', node.chainId);
  // @ts-expect-error transfer's fee goes in the options object
  await node.transfer(alice, bob.address, 1n, 1n);
  // @ts-expect-error wait's timeout is in ms, in the options object
  await client.wait('0x00', 5);
  void [notAPromise, notSync, notAString];
}

// The error table: one row per kind, typed.
const rows: ErrorRow[] = ERROR_TABLE;
const invalidCode: string | undefined = rows.find((r) => r.kind === 'invalid_input')?.js;
void invalidCode;
// Any kind signs through the generic constructor.
const generic: Transaction = new Transaction({ type: 'unjail', validator: 'bat1…' }, 1n);
void generic;
// @ts-expect-error: a kind needs its fields
new Transaction({ type: 'transfer', to: 'bat1…' });
