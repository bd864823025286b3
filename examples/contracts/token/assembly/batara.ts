// Batara's host functions for AssemblyScript contracts, and the calling convention's helpers
// (docs/CONTRACTS.md): arguments arrive as a flat JSON object, results leave as JSON, errors as
// text. Everything works on the input's bytes — no UTF-16 strings on the hot path — because
// every interpreted instruction is gas. Copy this file into your own contract.

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
@external("env", "self_address") declare function self_into(ptr: usize): void;
@external("env", "value") declare function value_into(ptr: usize): void;
@external("env", "transfer") declare function transfer_native(ap: usize, vp: usize): i32;
@external("env", "call") declare function call_contract(ap: usize, mp: usize, ml: u32, argp: usize, argl: u32, vp: usize, gas: i64): i32;
@external("env", "result_len") declare function result_len(): u32;
@external("env", "result_read") declare function result_read(ptr: usize): void;

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

/** The account or contract that called this one (20 bytes). */
export function caller(): Uint8Array {
  const a = new Uint8Array(20);
  caller_into(a.dataStart);
  return a;
}

/** This contract's own address (20 bytes). */
export function selfAddress(): Uint8Array {
  const a = new Uint8Array(20);
  self_into(a.dataStart);
  return a;
}

/** The native coin sent with this call (a u128 on the chain; this helper fails above u64). */
export function value(): u64 {
  const v = new Uint8Array(16);
  value_into(v.dataStart);
  if (load<u64>(v.dataStart + 8) != 0) fail("value does not fit in a u64");
  return load<u64>(v.dataStart);
}

/** Sends `amount` of native coin from this contract to `to`; fails the call when it cannot pay. */
export function send(to: Uint8Array, amount: u64): void {
  const v = new Uint8Array(16);
  store<u64>(v.dataStart, amount);
  if (transfer_native(to.dataStart, v.dataStart) != 0) fail("cannot send " + dec(amount));
}

/** What a sub-call returned: `ok` and its result, or its error text (its writes are undone). */
export class CallResult {
  constructor(public ok: bool, public data: Uint8Array) {}
}

/**
 * Calls `method` of `contract` with `args` (JSON text) and `amount` of native coin, with at most
 * `gas` (0: all that is left). A failed callee does not fail this call: check `ok`.
 */
export function call(contract: Uint8Array, method: string, args: Out, amount: u64 = 0, gas: i64 = 0): CallResult {
  const m = String.UTF8.encode(method);
  const v = new Uint8Array(16);
  store<u64>(v.dataStart, amount);
  const code = call_contract(contract.dataStart, changetype<usize>(m), m.byteLength,
    args.buf.dataStart, args.len, v.dataStart, gas);
  const r = new Uint8Array(result_len());
  if (r.length > 0) result_read(r.dataStart);
  return new CallResult(code == 0, r);
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

/** Stores bytes under `key`. */
export function storeBytes(key: Uint8Array, value: Uint8Array): void {
  storage_set(key.dataStart, key.length, value.dataStart, value.length);
}

/** Bytes in storage under `key` (empty when absent). */
export function loadBytes(key: Uint8Array): Uint8Array {
  const n = storage_get(key.dataStart, key.length, 0, 0);
  if (n <= 0) return new Uint8Array(0);
  const v = new Uint8Array(n);
  storage_get(key.dataStart, key.length, v.dataStart, n);
  return v;
}

/** A storage key: one tag byte, then `a`, then `b`. */
export function key(tag: u8, a: Uint8Array | null = null, b: Uint8Array | null = null): Uint8Array {
  const la = a !== null ? a.length : 0;
  const lb = b !== null ? b.length : 0;
  const k = new Uint8Array(1 + la + lb);
  k[0] = tag;
  if (a !== null) memory.copy(k.dataStart + 1, a.dataStart, la);
  if (b !== null) memory.copy(k.dataStart + 1 + la, b.dataStart, lb);
  return k;
}

/** Builds JSON (or any text) as bytes. */
export class Out {
  buf: Uint8Array = new Uint8Array(256);
  len: i32 = 0;

  private room(n: i32): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = new Uint8Array(size);
    memory.copy(b.dataStart, this.buf.dataStart, this.len);
    this.buf = b;
  }

  /** ASCII text (literals: field names, punctuation). */
  ascii(s: string): Out {
    const n = s.length;
    this.room(n);
    const p = this.buf.dataStart + this.len;
    for (let i = 0; i < n; i++) store<u8>(p + i, <u8>s.charCodeAt(i));
    this.len += n;
    return this;
  }

  /** Raw bytes. */
  bytes(b: Uint8Array): Out {
    this.room(b.length);
    memory.copy(this.buf.dataStart + this.len, b.dataStart, b.length);
    this.len += b.length;
    return this;
  }

  /** A 20-byte address as its bech32 text, quoted. */
  address(a: Uint8Array): Out {
    this.room(96);
    store<u8>(this.buf.dataStart + this.len, 0x22);
    const n = addr_humanize(a.dataStart, this.buf.dataStart + this.len + 1, 94);
    store<u8>(this.buf.dataStart + this.len + 1 + n, 0x22);
    this.len += n + 2;
    return this;
  }

  /** A u64 as a quoted decimal string (the convention for amounts). */
  amount(v: u64): Out {
    this.room(22);
    const p = this.buf.dataStart + this.len;
    let digits = 1;
    for (let t = v; t >= 10; t /= 10) digits++;
    store<u8>(p, 0x22);
    for (let i = digits; i > 0; i--) {
      store<u8>(p + i, <u8>(0x30 + v % 10));
      v /= 10;
    }
    store<u8>(p + digits + 1, 0x22);
    this.len += digits + 2;
    return this;
  }

  /** Returns the text as the call's result. */
  ret(): void {
    return_data(this.buf.dataStart, this.len);
  }

  /** Emits an event with one topic and this text as its data. */
  emit(topic: string): void {
    const t = new Uint8Array(1 + topic.length);
    t[0] = <u8>topic.length;
    for (let i = 0; i < topic.length; i++) t[1 + i] = <u8>topic.charCodeAt(i);
    emit_event(t.dataStart, t.length, this.buf.dataStart, this.len);
  }
}

/**
 * The call's input as a flat JSON object: each field's value is kept as a span of the input
 * (a string's contents without its quotes, or a number's digits). Strings may not contain
 * escapes; field names are ASCII.
 */
export class Args {
  input: Uint8Array;
  private spans: i32[] = []; // key start, key end, value start, value end, ...

  constructor() {
    const n = input_len();
    this.input = new Uint8Array(n);
    if (n > 0) input_read(this.input.dataStart);
    this.parse();
  }

  private at(i: i32): i32 {
    return i < this.input.length ? <i32>this.input[i] : -1;
  }

  private skip(i: i32): i32 {
    while (true) {
      const c = this.at(i);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) return i;
      i++;
    }
  }

  /** The end (closing quote) of the string whose opening quote is at `i`. */
  private stringEnd(i: i32): i32 {
    let j = i + 1;
    while (true) {
      const c = this.at(j);
      if (c == 0x22) return j;
      if (c == 0x5c) fail("escapes are not supported in arguments");
      if (c < 0) fail("unterminated string in the arguments");
      j++;
    }
  }

  private parse(): void {
    if (this.input.length == 0) return;
    let i = this.skip(0);
    if (this.at(i) != 0x7b) fail("arguments must be a JSON object");
    i = this.skip(i + 1);
    if (this.at(i) == 0x7d) return;
    while (true) {
      if (this.at(i) != 0x22) fail("expected a field name in the arguments");
      const ke = this.stringEnd(i);
      this.spans.push(i + 1);
      this.spans.push(ke);
      i = this.skip(ke + 1);
      if (this.at(i) != 0x3a) fail("expected ':' in the arguments");
      i = this.skip(i + 1);
      if (this.at(i) == 0x22) {
        const ve = this.stringEnd(i);
        this.spans.push(i + 1);
        this.spans.push(ve);
        i = ve + 1;
      } else {
        let j = i;
        while (true) {
          const c = this.at(j);
          if (c < 0 || c == 0x2c || c == 0x7d || c == 0x20) break;
          j++;
        }
        this.spans.push(i);
        this.spans.push(j);
        i = j;
      }
      i = this.skip(i);
      const c = this.at(i);
      if (c == 0x7d) return;
      if (c != 0x2c) fail("expected ',' or '}' in the arguments");
      i = this.skip(i + 1);
    }
  }

  /** The span index of field `name`; fails the call if it is missing. */
  private find(name: string): i32 {
    const n = name.length;
    for (let s = 0; s < this.spans.length; s += 4) {
      const ks = this.spans[s];
      if (this.spans[s + 1] - ks != n) continue;
      let same = true;
      for (let i = 0; i < n; i++) {
        if (<i32>this.input[ks + i] != name.charCodeAt(i)) {
          same = false;
          break;
        }
      }
      if (same) return s + 2;
    }
    fail("missing argument " + name);
    return 0;
  }

  /** A field's value as bytes (a string's contents). */
  bytes(name: string): Uint8Array {
    const s = this.find(name);
    return this.input.slice(this.spans[s], this.spans[s + 1]);
  }

  /** An address field (bech32 text): its 20 bytes. */
  address(name: string): Uint8Array {
    const s = this.find(name);
    const a = new Uint8Array(20);
    const start = this.spans[s];
    if (addr_canonicalize(this.input.dataStart + start, this.spans[s + 1] - start, a.dataStart) != 0) {
      fail(name + " is not an address");
    }
    return a;
  }

  /** An amount field: a decimal string or number that fits in a u64. */
  amount(name: string): u64 {
    const s = this.find(name);
    const start = this.spans[s];
    const end = this.spans[s + 1];
    if (end == start) fail(name + " must be a decimal amount");
    let v: u64 = 0;
    for (let i = start; i < end; i++) {
      const d = <i32>this.input[i] - 0x30;
      if (d < 0 || d > 9) fail(name + " must be a decimal amount");
      if (v > (U64.MAX_VALUE - <u64>d) / 10) fail(name + " does not fit in a u64");
      v = v * 10 + <u64>d;
    }
    return v;
  }
}

/** Decimal text of a u64 (for error messages). */
export function dec(v: u64): string {
  return v.toString();
}
