// Batara's host functions for AssemblyScript contracts, and the calling convention's helpers:
// arguments arrive as a flat JSON object, results and errors leave as JSON and text
// (docs/CONTRACTS.md). Copy this file into your own contract.

@external("env", "input_len") declare function input_len(): u32;
@external("env", "input_read") declare function input_read(ptr: usize): void;
@external("env", "return_data") declare function return_data(ptr: usize, len: u32): void;
@external("env", "revert") declare function revert_data(ptr: usize, len: u32): void;
@external("env", "storage_get") declare function storage_get(kp: usize, kl: u32, vp: usize, cap: u32): i32;
@external("env", "storage_set") declare function storage_set(kp: usize, kl: u32, vp: usize, vl: u32): void;
@external("env", "caller") declare function caller_into(ptr: usize): void;
@external("env", "emit") declare function emit_event(tp: usize, tl: u32, dp: usize, dl: u32): void;
@external("env", "addr_canonicalize") declare function addr_canonicalize(ptr: usize, len: u32, out: usize): i32;
@external("env", "addr_humanize") declare function addr_humanize(ptr: usize, out: usize, cap: u32): i32;

/** Ends the call with `message` as the error; every write of the call is undone. */
export function fail(message: string): void {
  const b = String.UTF8.encode(message);
  revert_data(changetype<usize>(b), b.byteLength);
  unreachable();
}

/** AssemblyScript's `abort` (failed assertions, bounds checks) as a revert with its message. */
export function abort(message: string | null, file: string | null, line: u32, column: u32): void {
  fail(message !== null ? message : "abort");
}

/** The call's input bytes. */
export function input(): Uint8Array {
  const n = input_len();
  const b = new Uint8Array(n);
  if (n > 0) input_read(b.dataStart);
  return b;
}

/** Returns `json` (the text of a JSON value) as the call's result. */
export function returnJson(json: string): void {
  const b = String.UTF8.encode(json);
  return_data(changetype<usize>(b), b.byteLength);
}

/** The account or contract that called this one. */
export function caller(): Uint8Array {
  const a = new Uint8Array(20);
  caller_into(a.dataStart);
  return a;
}

/** A bech32 address (`bat1…`) as its 20 bytes; fails the call if it is not one. */
export function parseAddress(text: string, what: string): Uint8Array {
  const b = String.UTF8.encode(text);
  const a = new Uint8Array(20);
  if (addr_canonicalize(changetype<usize>(b), b.byteLength, a.dataStart) != 0) {
    fail(what + " is not an address: " + text);
  }
  return a;
}

/** The bech32 text of a 20-byte address. */
export function formatAddress(a: Uint8Array): string {
  const out = new Uint8Array(128);
  const n = addr_humanize(a.dataStart, out.dataStart, 128);
  return String.UTF8.decodeUnsafe(out.dataStart, n);
}

/** A u64 in storage under `key` (0 when absent). */
export function loadU64(key: Uint8Array): u64 {
  const v = new Uint8Array(8);
  if (storage_get(key.dataStart, key.length, v.dataStart, 8) < 0) return 0;
  return load<u64>(v.dataStart);
}

/** Stores a u64 under `key`. */
export function storeU64(key: Uint8Array, value: u64): void {
  const v = new Uint8Array(8);
  store<u64>(v.dataStart, value);
  storage_set(key.dataStart, key.length, v.dataStart, 8);
}

/** Stores text under `key`. */
export function storeText(key: Uint8Array, value: string): void {
  const b = String.UTF8.encode(value);
  storage_set(key.dataStart, key.length, changetype<usize>(b), b.byteLength);
}

/** Text in storage under `key` ("" when absent). */
export function loadText(key: Uint8Array): string {
  const v = new Uint8Array(256);
  const n = storage_get(key.dataStart, key.length, v.dataStart, 256);
  if (n <= 0) return "";
  return String.UTF8.decodeUnsafe(v.dataStart, min(n, 256));
}

/** `prefix` followed by `rest`: a storage key. */
export function key(prefix: string, rest: Uint8Array = new Uint8Array(0)): Uint8Array {
  const p = Uint8Array.wrap(String.UTF8.encode(prefix));
  const k = new Uint8Array(p.length + rest.length);
  k.set(p, 0);
  k.set(rest, p.length);
  return k;
}

/** Emits an event with one topic and JSON data. */
export function emit(topic: string, json: string): void {
  const t = Uint8Array.wrap(String.UTF8.encode(topic));
  const topics = new Uint8Array(t.length + 1);
  topics[0] = <u8>t.length;
  topics.set(t, 1);
  const d = String.UTF8.encode(json);
  emit_event(topics.dataStart, topics.length, changetype<usize>(d), d.byteLength);
}

/** A flat JSON object of the input: each field's string value, or the raw text of a number. */
export class Args {
  private keys: string[] = [];
  private values: string[] = [];

  static parse(): Args {
    const text = String.UTF8.decodeUnsafe(input().dataStart, input_len());
    const a = new Args();
    let i = skip(text, 0);
    if (text.length == 0) return a;
    if (text.charCodeAt(i) != 0x7b) fail("arguments must be a JSON object");
    i = skip(text, i + 1);
    if (text.charCodeAt(i) == 0x7d) return a;
    while (true) {
      if (text.charCodeAt(i) != 0x22) fail("expected a field name in the arguments");
      const k = readString(text, i);
      i = skip(text, k.end);
      if (text.charCodeAt(i) != 0x3a) fail("expected ':' in the arguments");
      i = skip(text, i + 1);
      let value: string;
      if (text.charCodeAt(i) == 0x22) {
        const v = readString(text, i);
        value = v.text;
        i = v.end;
      } else {
        let j = i;
        while (j < text.length && text.charCodeAt(j) != 0x2c && text.charCodeAt(j) != 0x7d) j++;
        value = text.substring(i, j).trim();
        i = j;
      }
      a.keys.push(k.text);
      a.values.push(value);
      i = skip(text, i);
      const c = text.charCodeAt(i);
      if (c == 0x7d) return a;
      if (c != 0x2c) fail("expected ',' or '}' in the arguments");
      i = skip(text, i + 1);
    }
    return a;
  }

  /** The field `name`; fails the call if it is missing. */
  get(name: string): string {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == name) return this.values[i];
    fail("missing argument " + name);
    return "";
  }

  /** An address field. */
  address(name: string): Uint8Array {
    return parseAddress(this.get(name), name);
  }

  /** An amount field: a decimal string or number that fits in a u64. */
  amount(name: string): u64 {
    const s = this.get(name);
    if (s.length == 0) fail(name + " must be a decimal amount");
    let v: u64 = 0;
    for (let i = 0; i < s.length; i++) {
      const d = s.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) fail(name + " must be a decimal amount, got " + s);
      if (v > (U64.MAX_VALUE - <u64>d) / 10) fail(name + " does not fit in a u64");
      v = v * 10 + <u64>d;
    }
    return v;
  }
}

class Str {
  constructor(public text: string, public end: i32) {}
}

function skip(s: string, i: i32): i32 {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
    i++;
  }
  return i;
}

/** The JSON string starting at `i` (a quote); escapes other than \" and \\ are refused. */
function readString(s: string, i: i32): Str {
  let out = "";
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c == 0x22) return new Str(out, j + 1);
    if (c == 0x5c) {
      const e = s.charCodeAt(j + 1);
      if (e != 0x22 && e != 0x5c) fail("unsupported escape in the arguments");
      out += String.fromCharCode(e);
      j += 2;
      continue;
    }
    out += String.fromCharCode(c);
    j++;
  }
  fail("unterminated string in the arguments");
  return new Str("", 0);
}
