// Merges a module's active data segments (memory 0, constant offsets) into one, the gaps between
// them filled with zeros — what the memory holds there anyway. AssemblyScript emits a segment per
// static object (about a hundred for the token), and every call instantiates the contract afresh,
// so each segment costs an allocation and a copy per call: one segment is cheaper to run.
// Usage: node scripts/merge-data.mjs build/token.wasm (rewritten in place). Modules with passive
// segments, other memories or computed offsets are left as they are.
import fs from 'node:fs';

function leb(buf, pos) {
  let v = 0, shift = 0, b;
  do { b = buf[pos++]; v += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
  return [v, pos];
}
function sleb32(buf, pos) {
  let v = 0, shift = 0, b;
  do { b = buf[pos++]; v |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80);
  if (shift < 32 && (b & 0x40)) v |= -1 << shift;
  return [v, pos];
}
function uleb(n) {
  const out = [];
  do { let b = n & 0x7f; n = Math.floor(n / 128); if (n) b |= 0x80; out.push(b); } while (n);
  return Buffer.from(out);
}
function sleb(n) {
  const out = [];
  for (;;) {
    const b = n & 0x7f; n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && (b & 0x40))) { out.push(b); break; }
    out.push(b | 0x80);
  }
  return Buffer.from(out);
}

const file = process.argv[2];
const wasm = fs.readFileSync(file);
const sections = [];
for (let pos = 8; pos < wasm.length;) {
  const id = wasm[pos];
  const [size, body] = leb(wasm, pos + 1);
  sections.push({ id, start: pos, body, end: body + size });
  pos = body + size;
}
const data = sections.find((s) => s.id === 11);
if (!data) process.exit(0);
let [count, pos] = leb(wasm, data.body);
const segs = [];
for (let i = 0; i < count; i++) {
  if (wasm[pos] !== 0 || wasm[pos + 1] !== 0x41) { console.log(`${file}: a segment is not simple; left as it is`); process.exit(0); }
  let offset, len;
  [offset, pos] = sleb32(wasm, pos + 2);
  if (wasm[pos] !== 0x0b) { console.log(`${file}: a computed offset; left as it is`); process.exit(0); }
  [len, pos] = leb(wasm, pos + 1);
  segs.push({ offset, bytes: wasm.subarray(pos, pos + len) });
  pos += len;
}
if (segs.length < 2) process.exit(0);
segs.sort((a, b) => a.offset - b.offset);
const lo = segs[0].offset;
const hi = Math.max(...segs.map((s) => s.offset + s.bytes.length));
const merged = Buffer.alloc(hi - lo);
for (const s of segs) {
  if (s.offset < lo || merged.subarray(s.offset - lo, s.offset - lo + s.bytes.length).some((b) => b !== 0)) {
    console.log(`${file}: overlapping segments; left as it is`); process.exit(0);
  }
  s.bytes.copy(merged, s.offset - lo);
}
const body = Buffer.concat([uleb(1), Buffer.from([0, 0x41]), sleb(lo), Buffer.from([0x0b]), uleb(merged.length), merged]);
const parts = [wasm.subarray(0, 8)];
for (const s of sections) {
  if (s.id === 11) parts.push(Buffer.from([11]), uleb(body.length), body);
  else if (s.id === 12) { const one = uleb(1); parts.push(Buffer.from([12]), uleb(one.length), one); }
  else parts.push(wasm.subarray(s.start, s.end));
}
fs.writeFileSync(file, Buffer.concat(parts));
console.log(`${file}: ${segs.length} data segments merged into one of ${merged.length} bytes`);
