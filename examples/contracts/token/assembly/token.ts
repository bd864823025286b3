// A fungible token (ERC-20's methods) for Batara, in AssemblyScript. Arguments and results follow
// the calling convention (docs/CONTRACTS.md): JSON objects in, JSON values out, amounts as
// decimal strings, addresses as bech32 text. Balances are u64.
//
//   init          {"name", "symbol", "supply"}  mints `supply` to the instantiator
//   transfer      {"to", "amount"}
//   approve       {"spender", "amount"}          sets what `spender` may move from the caller
//   transfer_from {"from", "to", "amount"}       moves from `from` within the caller's allowance
//   transfer_and_call {"to", "amount"}           transfer, then calls `to`'s on_token_received
//                                                with {"from", "amount"} (ERC-1363's pattern); if
//                                                that call fails, the whole transfer is undone
//   balance_of    {"owner"}                      → "123"
//   allowance     {"owner", "spender"}           → "123"
//   total_supply, name, symbol                   → "…"
//
// Events: topic "transfer" with {"from","to","amount"} (from is null when minted), topic
// "approval" with {"owner","spender","amount"}.

import { Args, Out, call, caller, dec, fail, key, loadBytes, loadU64, storeBytes, storeU64 } from "./batara";

const BALANCE: u8 = 0x62; // 'b' + owner
const ALLOWANCE: u8 = 0x61; // 'a' + owner + spender
const SUPPLY: u8 = 0x73; // 's'
const NAME: u8 = 0x6e; // 'n'
const SYMBOL: u8 = 0x79; // 'y'

function move(from: Uint8Array, to: Uint8Array, amount: u64): void {
  const fk = key(BALANCE, from);
  const have = loadU64(fk);
  if (have < amount) fail("insufficient balance: " + dec(have) + " < " + dec(amount));
  storeU64(fk, have - amount);
  const tk = key(BALANCE, to);
  const got = loadU64(tk);
  if (got > U64.MAX_VALUE - amount) fail("balance overflow");
  storeU64(tk, got + amount);
  new Out().ascii("{\"from\":").address(from).ascii(",\"to\":").address(to)
    .ascii(",\"amount\":").amount(amount).ascii("}").emit("transfer");
}

export function init(): void {
  const a = new Args();
  const supply = a.amount("supply");
  storeBytes(key(NAME), a.bytes("name"));
  storeBytes(key(SYMBOL), a.bytes("symbol"));
  storeU64(key(SUPPLY), supply);
  const me = caller();
  storeU64(key(BALANCE, me), supply);
  new Out().ascii("{\"from\":null,\"to\":").address(me).ascii(",\"amount\":").amount(supply)
    .ascii("}").emit("transfer");
}

export function transfer(): void {
  const a = new Args();
  move(caller(), a.address("to"), a.amount("amount"));
}

export function transfer_and_call(): void {
  const a = new Args();
  const from = caller();
  const to = a.address("to");
  const amount = a.amount("amount");
  move(from, to, amount);
  const args = new Out().ascii("{\"from\":").address(from).ascii(",\"amount\":").amount(amount).ascii("}");
  const r = call(to, "on_token_received", args);
  if (!r.ok) fail("receiver refused: " + String.UTF8.decode(r.data.buffer));
}

export function approve(): void {
  const a = new Args();
  const owner = caller();
  const spender = a.address("spender");
  const amount = a.amount("amount");
  storeU64(key(ALLOWANCE, owner, spender), amount);
  new Out().ascii("{\"owner\":").address(owner).ascii(",\"spender\":").address(spender)
    .ascii(",\"amount\":").amount(amount).ascii("}").emit("approval");
}

export function transfer_from(): void {
  const a = new Args();
  const from = a.address("from");
  const amount = a.amount("amount");
  const k = key(ALLOWANCE, from, caller());
  const allowed = loadU64(k);
  if (allowed < amount) fail("allowance exceeded: " + dec(allowed) + " < " + dec(amount));
  storeU64(k, allowed - amount);
  move(from, a.address("to"), amount);
}

export function balance_of(): void {
  new Out().amount(loadU64(key(BALANCE, new Args().address("owner")))).ret();
}

export function allowance(): void {
  const a = new Args();
  new Out().amount(loadU64(key(ALLOWANCE, a.address("owner"), a.address("spender")))).ret();
}

export function total_supply(): void {
  new Out().amount(loadU64(key(SUPPLY))).ret();
}

export function name(): void {
  new Out().ascii("\"").bytes(loadBytes(key(NAME))).ascii("\"").ret();
}

export function symbol(): void {
  new Out().ascii("\"").bytes(loadBytes(key(SYMBOL))).ascii("\"").ret();
}
