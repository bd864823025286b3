// A fungible token (ERC-20's methods) for Batara, in AssemblyScript. Arguments and results follow
// the calling convention (docs/CONTRACTS.md): JSON objects in, JSON values out, amounts as
// decimal strings, addresses as bech32 text. Balances are u64.
//
//   init          {"name", "symbol", "supply"}  mints `supply` to the instantiator
//   transfer      {"to", "amount"}
//   approve       {"spender", "amount"}          sets what `spender` may move from the caller
//   transfer_from {"from", "to", "amount"}       moves from `from` within the caller's allowance
//   balance_of    {"owner"}                      → "123"
//   allowance     {"owner", "spender"}           → "123"
//   total_supply, name, symbol                   → "…"
//
// Events: topic "transfer" with {"from","to","amount"}, topic "approval" with
// {"owner","spender","amount"}.

import {
  Args, caller, emit, fail, formatAddress, key, loadText, loadU64, returnJson, storeText, storeU64,
} from "./batara";

function balanceKey(owner: Uint8Array): Uint8Array {
  return key("b", owner);
}

function allowanceKey(owner: Uint8Array, spender: Uint8Array): Uint8Array {
  const both = new Uint8Array(40);
  both.set(owner, 0);
  both.set(spender, 20);
  return key("a", both);
}

function quoted(v: u64): string {
  return "\"" + v.toString() + "\"";
}

function move(from: Uint8Array, to: Uint8Array, amount: u64): void {
  const have = loadU64(balanceKey(from));
  if (have < amount) fail("insufficient balance: " + have.toString() + " < " + amount.toString());
  storeU64(balanceKey(from), have - amount);
  const got = loadU64(balanceKey(to));
  if (got > U64.MAX_VALUE - amount) fail("balance overflow");
  storeU64(balanceKey(to), got + amount);
  emit("transfer", "{\"from\":\"" + formatAddress(from) + "\",\"to\":\"" + formatAddress(to) +
    "\",\"amount\":" + quoted(amount) + "}");
}

export function init(): void {
  const a = Args.parse();
  const supply = a.amount("supply");
  storeText(key("name"), a.get("name"));
  storeText(key("symbol"), a.get("symbol"));
  storeU64(key("supply"), supply);
  const me = caller();
  storeU64(balanceKey(me), supply);
  emit("transfer", "{\"from\":null,\"to\":\"" + formatAddress(me) + "\",\"amount\":" + quoted(supply) + "}");
}

export function transfer(): void {
  const a = Args.parse();
  move(caller(), a.address("to"), a.amount("amount"));
}

export function approve(): void {
  const a = Args.parse();
  const owner = caller();
  const spender = a.address("spender");
  const amount = a.amount("amount");
  storeU64(allowanceKey(owner, spender), amount);
  emit("approval", "{\"owner\":\"" + formatAddress(owner) + "\",\"spender\":\"" +
    formatAddress(spender) + "\",\"amount\":" + quoted(amount) + "}");
}

export function transfer_from(): void {
  const a = Args.parse();
  const from = a.address("from");
  const amount = a.amount("amount");
  const k = allowanceKey(from, caller());
  const allowed = loadU64(k);
  if (allowed < amount) fail("allowance exceeded: " + allowed.toString() + " < " + amount.toString());
  storeU64(k, allowed - amount);
  move(from, a.address("to"), amount);
}

export function balance_of(): void {
  returnJson(quoted(loadU64(balanceKey(Args.parse().address("owner")))));
}

export function allowance(): void {
  const a = Args.parse();
  returnJson(quoted(loadU64(allowanceKey(a.address("owner"), a.address("spender")))));
}

export function total_supply(): void {
  returnJson(quoted(loadU64(key("supply"))));
}

export function name(): void {
  returnJson("\"" + loadText(key("name")) + "\"");
}

export function symbol(): void {
  returnJson("\"" + loadText(key("symbol")) + "\"");
}
