// Part of `npm run typecheck`: tsc checks index.d.ts and the typed sample, but not that index.d.ts
// describes what index.js really exports. This compares the two: the exported names (of index.js
// and index.mjs), and for each exported class its static and instance members (methods, getters
// and fields, from real instances). Members whose names start with `_` are internal. Exits 1 and
// lists every difference.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cjs = require(path.join(dir, 'index.js'));
const esm = await import(path.join(dir, 'index.mjs'));

// --- what index.d.ts declares ---
const file = path.join(dir, 'index.d.ts');
const src = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
const exported = (n) => n.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
const has = (n, kind) => n.modifiers?.some((m) => m.kind === kind);
const memberName = (n) => (ts.isComputedPropertyName(n.name) ? `[${n.name.expression.getText(src)}]` : n.name.getText(src));
const declared = new Map(); // class name -> { static: Map(name -> kind), instance: Map(name -> kind) }
const functions = new Set();
const constants = new Set();
for (const st of src.statements) {
  if (ts.isFunctionDeclaration(st) && exported(st)) functions.add(st.name.text);
  if (ts.isVariableStatement(st) && exported(st)) for (const d of st.declarationList.declarations) constants.add(d.name.text);
  if (!ts.isClassDeclaration(st) || !exported(st)) continue;
  const c = { static: new Map(), instance: new Map() };
  for (const m of st.members) {
    if (ts.isConstructorDeclaration(m) || has(m, ts.SyntaxKind.PrivateKeyword)) continue;
    const kind = ts.isMethodDeclaration(m) ? 'method' : 'property';
    c[has(m, ts.SyntaxKind.StaticKeyword) ? 'static' : 'instance'].set(memberName(m), kind);
  }
  declared.set(st.name.text, c);
}

// --- what index.js has ---
const problems = [];
const valueExports = new Set([...declared.keys(), ...functions, ...constants]);
const same = (what, a, b) => {
  for (const x of a) if (!b.has(x)) problems.push(`${what}: ${x} is declared in index.d.ts but missing at runtime`);
  for (const x of b) if (!a.has(x)) problems.push(`${what}: ${x} exists at runtime but is not declared in index.d.ts`);
};
same('index.js exports', valueExports, new Set(Object.keys(cjs)));
same('index.mjs exports', valueExports, new Set(Object.keys(esm).filter((k) => k !== 'default')));
for (const f of functions) if (typeof cjs[f] !== 'function') problems.push(`${f} is not a function`);
for (const c of constants) if (cjs[c] === undefined || typeof cjs[c] === 'function') problems.push(`${c} is not a constant`);

// A well-known symbol as the d.ts spells it: Symbol.asyncDispose -> "[Symbol.asyncDispose]".
const symbolName = (s) => {
  const known = Object.getOwnPropertyNames(Symbol).find((k) => Symbol[k] === s);
  return known ? `[Symbol.${known}]` : `[${String(s)}]`;
};
function ownMembers(obj, skip) {
  const out = new Map();
  for (const key of Reflect.ownKeys(obj)) {
    const name = typeof key === 'symbol' ? symbolName(key) : key;
    if (skip.includes(name) || name.startsWith('_')) continue;
    const d = Object.getOwnPropertyDescriptor(obj, key);
    out.set(name, typeof d.value === 'function' ? 'method' : 'property');
  }
  return out;
}

const node = await cjs.Node.dev({ accounts: 1 });
const instances = {
  BataraError: new cjs.BataraError('IO', 'message', 'reason'),
  Keypair: cjs.Keypair.generate(),
  Transaction: cjs.Transaction.transfer(cjs.Keypair.generate().address, 1n),
  Node: node,
  Client: new cjs.Client('http://127.0.0.1:1'),
  Contract: new cjs.Contract(node, cjs.Keypair.generate().address),
  CallFailed: new cjs.CallFailed('message'),
};
try {
  for (const [name, want] of declared) {
    const cls = cjs[name];
    if (typeof cls !== 'function') continue; // reported above
    const statics = ownMembers(cls, ['length', 'name', 'prototype']);
    const inst = instances[name];
    if (!inst) {
      problems.push(`no sample instance of ${name} in scripts/check-dts.mjs`);
      continue;
    }
    // Instance members: the prototype chain up to (not including) Object / Error, and own fields.
    const members = new Map();
    for (let p = Object.getPrototypeOf(inst); p && p !== Object.prototype && p !== Error.prototype; p = Object.getPrototypeOf(p)) {
      for (const [k, v] of ownMembers(p, ['constructor'])) if (!members.has(k)) members.set(k, v);
    }
    for (const [k, v] of ownMembers(inst, ['stack', 'message'])) members.set(k, v);
    for (const [where, d, r] of [['static', want.static, statics], ['instance', want.instance, members]]) {
      same(`${name} (${where})`, new Set(d.keys()), new Set(r.keys()));
      for (const [k, kind] of d) {
        if (r.has(k) && r.get(k) !== kind) problems.push(`${name}.${k}: declared as a ${kind}, a ${r.get(k)} at runtime`);
      }
    }
  }
} finally {
  await node.close();
}

if (problems.length) {
  console.error(`index.d.ts and index.js disagree:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`index.d.ts matches index.js: ${declared.size} classes, ${functions.size} functions, ${constants.size} constants`);
