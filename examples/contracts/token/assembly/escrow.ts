// An escrow for Batara, in AssemblyScript: it holds a token (the example token, or any contract
// with its transfer and transfer_from) and native coin for a beneficiary until the depositor
// releases them. It shows cross-contract calls with value (docs/CONTRACTS.md).
//
//   init     {"token"}                    the token this escrow holds
//   deposit  {"beneficiary", "amount"}    pulls `amount` tokens from the caller (approve this
//                                         contract first) and keeps the native value sent with
//                                         the call; → the deal's id, "0", "1", …
//   release  {"id"}                       the depositor only: the tokens go to the beneficiary
//                                         (the token's transfer), then the native value
//   deal     {"id"}                       → {"depositor","beneficiary","amount","value","open"}
//
// Events: topic "deposit" and "release" with {"id"}.

import { Args, Out, call, caller, fail, key, loadBytes, loadU64, selfAddress, send, storeBytes, storeU64, value } from "./batara";

const TOKEN: u8 = 0x74; // 't'
const NEXT: u8 = 0x6e; // 'n'
const DEAL: u8 = 0x64; // 'd' + id: depositor (20) ‖ beneficiary (20) ‖ amount (8) ‖ value (8) ‖ open (1)

function idKey(id: u64): Uint8Array {
  const b = new Uint8Array(8);
  store<u64>(b.dataStart, id);
  return key(DEAL, b);
}

function token(): Uint8Array {
  return loadBytes(key(TOKEN));
}

/** Calls the token; a failure fails this call with the token's error. */
function tokenCall(method: string, args: Out): void {
  const r = call(token(), method, args);
  if (!r.ok) fail("token " + method + " failed: " + String.UTF8.decode(r.data.buffer));
}

export function init(): void {
  storeBytes(key(TOKEN), new Args().address("token"));
}

export function deposit(): void {
  const a = new Args();
  const depositor = caller();
  const beneficiary = a.address("beneficiary");
  const amount = a.amount("amount");
  const coin = value(); // already moved to this contract by the call
  tokenCall("transfer_from", new Out().ascii("{\"from\":").address(depositor).ascii(",\"to\":")
    .address(selfAddress()).ascii(",\"amount\":").amount(amount).ascii("}"));
  const id = loadU64(key(NEXT));
  storeU64(key(NEXT), id + 1);
  const d = new Uint8Array(57);
  memory.copy(d.dataStart, depositor.dataStart, 20);
  memory.copy(d.dataStart + 20, beneficiary.dataStart, 20);
  store<u64>(d.dataStart + 40, amount);
  store<u64>(d.dataStart + 48, coin);
  d[56] = 1;
  storeBytes(idKey(id), d);
  new Out().ascii("{\"id\":").amount(id).ascii("}").emit("deposit");
  new Out().amount(id).ret();
}

export function release(): void {
  const id = new Args().amount("id");
  const d = loadBytes(idKey(id));
  if (d.length != 57) fail("no deal " + id.toString());
  if (d[56] == 0) fail("deal " + id.toString() + " is already released");
  const me = caller();
  if (memory.compare(me.dataStart, d.dataStart, 20) != 0) fail("only the depositor may release");
  d[56] = 0;
  storeBytes(idKey(id), d);
  const beneficiary = d.slice(20, 40);
  tokenCall("transfer", new Out().ascii("{\"to\":").address(beneficiary).ascii(",\"amount\":")
    .amount(load<u64>(d.dataStart + 40)).ascii("}"));
  const coin = load<u64>(d.dataStart + 48);
  if (coin > 0) send(beneficiary, coin);
  new Out().ascii("{\"id\":").amount(id).ascii("}").emit("release");
}

export function deal(): void {
  const id = new Args().amount("id");
  const d = loadBytes(idKey(id));
  if (d.length != 57) fail("no deal " + id.toString());
  new Out().ascii("{\"depositor\":").address(d.slice(0, 20)).ascii(",\"beneficiary\":")
    .address(d.slice(20, 40)).ascii(",\"amount\":").amount(load<u64>(d.dataStart + 40))
    .ascii(",\"value\":").amount(load<u64>(d.dataStart + 48))
    .ascii(d[56] ? ",\"open\":true}" : ",\"open\":false}").ret();
}
