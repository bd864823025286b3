#!/usr/bin/env python3
"""Checks that the modules of batara-core/src import only downwards (see docs/ARCHITECTURE.md).

A module is the first path component under batara-core/src: `state/mod.rs` -> state,
`consensus/bft/engine.rs` -> consensus, `modules/staking/mod.rs` -> modules. lib.rs (and main.rs)
and bin/ are the crate root: their references are not checked; lib.rs is read only for the modules it
declares (`pub mod x;`, `pub mod x { ... }`) and the names it re-exports (`pub use error::Error;`
makes `crate::Error` a reference to `error`; `pub use batara_primitives::types;` makes `types` a
level-0 module).

References to another module: `use crate::x...`, grouped uses `use crate::{a::b, c, d::{e, f}}`
(over several lines too), paths `crate::x::...` (and `$crate::x`) anywhere in code, and `super::`
paths that climb out of the module to the crate root. Comments (`//`, `//!`, `///`, `/* */`,
nested) and string and char literals are blanked out first, so doc text and messages do not count.
A string that is exactly a path inside an attribute (`#[serde(with = "crate::types::dec_u64")]`)
is code and counts. Test code counts like any other code. `batara_primitives` is level 0: always
allowed.

A module may import only modules of a strictly LOWER level (same level = no edge). A module found in
src that is not in LEVELS is an error: add it to the table, so every new module gets a place.
Cycles in the module graph are reported too (with a level table they imply a bad edge, but they
also show up through modules not in the table yet).

Usage:
    scripts/check-layers.py                    # check batara-core/src; exit 0 when clean
    scripts/check-layers.py --graph            # also print every module edge
    scripts/check-layers.py --check-primitives # also check batara-primitives' dependency tree

Exit status: 0 when every check passes ("layers ok: N modules, M edges"), 1 on any problem, 2 on
bad usage. Python 3.8+, standard library only.
"""

import argparse
import bisect
import collections
import os
import re
import subprocess
import sys

# The level of every module of batara-core/src (docs/ARCHITECTURE.md, "Layers"). A module may
# import only modules of a strictly lower level. A new module must be added here.
LEVELS = {
    # 0 primitives: the batara-primitives crate (types, canonical encodings, crypto, commit and
    #   state-proof verification), re-exported by batara-core under these names.
    "types": 0,
    "crypto": 0,
    "commit": 0,
    "proof": 0,
    # 1 generic config loading (TOML/JSON helpers, BATARA_<SECTION>__<FIELD> overrides, ConfigError;
    #   names no component) and the storage trait with its RocksDB implementation.
    "config": 1,
    "storage": 1,
    # 2 the state tree (JMT) and validator keys (key files, signer, double-sign guard).
    "state": 2,
    "validator": 2,
    # 3 the mempool (declares TxRules, which the runtime implements).
    "mempool": 3,
    # 4 the runtime: Module trait, TxContext, registry, block executor, Chain, receipts,
    #   ValidatorSets trait, ChainError.
    "runtime": 4,
    # 5 the modules (bank, staking): each owns its tx kinds' semantics, params, genesis fragment,
    #   state key prefix, queries and stateless checks.
    "modules": 5,
    # 6 app (genesis assembled from module fragments, the module registry) and consensus (dev,
    #   bft; validator sets only through runtime::ValidatorSets; BlockSink, the one commit path).
    "app": 6,
    "consensus": 6,
    # 7 p2p: peers, gossip and block sync (imports blocks through consensus::BlockSink).
    "p2p": 7,
    # 8 api: views, ChainReader, Error + ErrorKind (the one table of codes), parsing, NodeApi.
    "api": 8,
    # 9 rpc: JSON-RPC over api::NodeApi (never names node).
    "rpc": 9,
    # 10 node: NodeHandle, NodeConfig, home layout, start/stop; the only layer that starts
    #   RocksDB, libp2p and the jsonrpsee servers.
    "node": 10,
    # 11 the benchmarks; 12 the command line (which runs them).
    "bench": 11,
    "cli": 12,
}

PRIMITIVES = "batara_primitives"  # pseudo-module for references to the primitives crate
PRIMITIVES_LEVEL = 0
SRC = os.path.join("batara-core", "src")
ROOT_FILES = {"lib.rs", "main.rs"}
FORBIDDEN_IN_PRIMITIVES = ("rocksdb", "librocksdb-sys", "tokio", "libp2p", "jsonrpsee", "tonic")
PRIMITIVES_PACKAGE = "batara-primitives"

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


# ---------------------------------------------------------------------------------------------
# Source text: blank out comments and literals, keeping every offset and newline.


def strip_rust(text):
    """Returns `text` with comments and string/char literals replaced by spaces (newlines kept)."""
    out = list(text)
    n = len(text)

    def blank(a, b):
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    i = 0
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif c == "/" and nxt == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif c == "r" and RAW_OPEN.match(text, i) and _starts_literal(text, i):
            # Raw string r"..." / r#"..."# (also br"", cr""); r#ident is a raw identifier.
            m = RAW_OPEN.match(text, i)
            close = '"' + m.group(1)
            j = text.find(close, m.end())
            j = n if j < 0 else j + len(close)
            blank(i, j)
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if ATTR_PATH.match(text, i + 1, j) and _in_attribute(out, i):
                blank(i, i + 1)  # `#[serde(with = "crate::types::dec_u64")]`: a path, code
                blank(j, j + 1)
            else:
                blank(i, j + 1)
            i = j + 1
        elif c == "'":
            # A char literal ('x', '\n', '\u{1F600}', '\''), else a lifetime or label.
            if nxt == "\\":
                j = text.find("'", i + 3)
                if j < 0:
                    i += 1
                    continue
                blank(i, j + 1)
                i = j + 1
            elif i + 2 < n and text[i + 2] == "'" and nxt != "\n":
                blank(i, i + 3)
                i += 3
            else:
                i += 1
        else:
            i += 1
    return "".join(out)


RAW_OPEN = re.compile(r'r(#*)"')


ATTR_PATH = re.compile(r"(?:\$?crate|super|batara_primitives)(?:::[A-Za-z_][A-Za-z0-9_]*)+$")


def _in_attribute(out, i):
    """True when offset i (in the partly stripped text `out`) is inside an open `#[...]`."""
    text = "".join(out[max(0, i - 2000) : i])
    start = max(text.rfind("#["), text.rfind("#!["))
    if start < 0:
        return False
    depth = 0
    for ch in text[text.index("[", start) :]:
        depth += ch == "["
        depth -= ch == "]"
        if depth == 0:
            return False  # that attribute closed before i
    return True


def _starts_literal(text, i):
    """True when the `r` at i begins a token, alone or after a lone `b`/`c` prefix (br"", cr"")."""

    def ident(k):
        return k >= 0 and (text[k].isalnum() or text[k] == "_")

    return not ident(i - 1) or (text[i - 1] in "bc" and not ident(i - 2))


class LineIndex:
    """Offset -> 1-based line number."""

    def __init__(self, text):
        self.starts = [m.end() for m in re.finditer("\n", text)]

    def line(self, offset):
        return bisect.bisect_right(self.starts, offset) + 1


# ---------------------------------------------------------------------------------------------
# Use trees: `a::{b, c::d as e, f::*}` -> [["a","b"], ["a","c","d"], ["a","f","*"]] (+ aliases).


def matching_brace(text, open_pos):
    """Offset of the `}` closing the `{` at open_pos (text already stripped), or len(text)."""
    depth = 0
    for j in range(open_pos, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(text)


def split_top(text, sep=","):
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def use_leaves(tree):
    """All leaf paths of a use tree, as (segments, exported_name)."""
    tree = tree.strip()
    if tree.startswith("::"):
        tree = tree[2:].strip()
    if tree.startswith("{"):
        inner = tree[1 : matching_brace(tree, 0)]
        leaves = []
        for part in split_top(inner):
            leaves.extend(use_leaves(part))
        return leaves
    m = re.match(r"(%s|\*)\s*(::)?" % IDENT, tree)
    if not m:
        return []
    head = m.group(1)
    rest = tree[m.end() :].strip()
    if m.group(2):
        return [([head] + segs, name) for segs, name in use_leaves(rest)]
    alias = re.match(r"as\s+(%s)" % IDENT, rest)
    return [([head], alias.group(1) if alias else head)]


# ---------------------------------------------------------------------------------------------
# The crate: modules, files, references.


Ref = collections.namedtuple("Ref", "src dst path line")


def module_of(rel):
    """`consensus/bft/engine.rs` -> ("consensus", ["consensus", "bft", "engine"]); root -> None."""
    parts = rel.replace(os.sep, "/").split("/")
    if len(parts) == 1 and parts[0] in ROOT_FILES:
        return None
    if parts[0] == "bin":
        return None
    path = parts[:-1] + ([] if parts[-1] == "mod.rs" else [parts[-1][:-3]])
    return path[0], path


def read_lib(src_dir):
    """Modules declared in lib.rs and root re-exports: (declared names, {root name: module})."""
    declared, aliases = set(), {}
    lib = os.path.join(src_dir, "lib.rs")
    if not os.path.exists(lib):
        return declared, aliases
    with open(lib, encoding="utf-8") as f:
        text = strip_rust(f.read())

    def top_level(pos):  # not inside an inline module or a function body of lib.rs
        return text.count("{", 0, pos) == text.count("}", 0, pos)

    for m in re.finditer(r"\bmod\s+(%s)\s*[;{]" % IDENT, text):
        if top_level(m.start()) and not re.search(r"#\[cfg\(test\)\]\s*(pub\s*)?$", text[: m.start()]):
            declared.add(m.group(1))
    for m in re.finditer(r"\buse\s+([^;]*);", text):
        if not top_level(m.start()):
            continue
        for segs, name in use_leaves(m.group(1)):
            if segs and segs[0] in ("crate", "self"):
                segs = segs[1:]
            if not segs or segs[-1] == "*" or segs[0] == "super":
                continue
            if segs[0] == PRIMITIVES:
                aliases[name] = PRIMITIVES
                if len(segs) == 2 and LEVELS.get(name) == 0:
                    declared.add(name)  # `pub use batara_primitives::types;`
            elif len(segs) >= 2:
                aliases[name] = segs[0]  # `pub use error::{Error, Result};`
    return declared, aliases


def inline_mod_spans(text):
    """(start, end) of every `mod name { ... }` body in stripped text."""
    spans = []
    for m in re.finditer(r"\bmod\s+%s\s*\{" % IDENT, text):
        start = m.end() - 1
        spans.append((start, matching_brace(text, start)))
    return spans


def group_heads(text, open_pos):
    """(offset, first segment) of each item of the use group `{...}` at open_pos: for
    `{a::b, c, d::{e, f}}` -> a, c, d (each at its own line)."""
    close = matching_brace(text, open_pos)
    start, depth = open_pos + 1, 0
    for j in range(open_pos + 1, close + 1):
        ch = text[j]
        if ch == "{":
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
        elif (ch == "," and depth == 0) or j == close:
            item = re.compile(r"\s*(?:::\s*)?").match(text, start).end()
            if item < j and text[item] == "{":
                for found in group_heads(text, item):
                    yield found
            else:
                seg = re.compile(r"%s|\*" % IDENT).match(text, item, j)
                if seg and seg.group(0) not in ("self", "*"):
                    yield item, seg.group(0)
            start = j + 1


REF_RE = re.compile(
    r"(?<![A-Za-z0-9_])(?:(?P<crate>crate)|(?P<supers>super(?:\s*::\s*super)*)|(?P<prim>%s))\b"
    % PRIMITIVES
)


def file_refs(text, mod_path):
    """Yields (offset, target name) for each reference out of the current module in stripped text.

    Target names are first segments after the crate root (to be resolved against the modules and
    lib.rs' re-exports), or PRIMITIVES.
    """
    spans = None
    for m in REF_RE.finditer(text):
        if m.group("prim"):
            yield m.start(), PRIMITIVES
            continue
        if m.group("supers"):
            if spans is None:
                spans = inline_mod_spans(text)
            depth = len(mod_path) + sum(1 for a, b in spans if a < m.start() < b)
            if m.group("supers").count("super") != depth:
                continue  # stays inside the module (or is not valid Rust)
        rest = re.compile(r"\s*::\s*").match(text, m.end())
        if not rest:
            continue  # `pub(crate)`, a bare `crate`
        j = rest.end()
        if j < len(text) and text[j] == "{":
            for offset, head in group_heads(text, j):
                yield offset, head
        else:
            seg = re.compile(IDENT).match(text, j)
            if seg and seg.group(0) != "self":
                yield m.start(), seg.group(0)


def scan(root):
    """Returns (modules {name: first file}, declared-only names, refs [Ref]) for root's crate."""
    src_dir = os.path.join(root, SRC)
    if not os.path.isdir(src_dir):
        raise SystemExit("check-layers: no %s under %s" % (SRC, root))
    declared, aliases = read_lib(src_dir)
    files = []
    for dirpath, dirnames, filenames in os.walk(src_dir):
        dirnames.sort()
        for fn in sorted(filenames):
            if fn.endswith(".rs"):
                rel = os.path.relpath(os.path.join(dirpath, fn), src_dir)
                mod = module_of(rel)
                if mod:
                    files.append((rel, mod))
    modules = {}
    for rel, (name, _) in sorted(files, key=lambda f: (f[1][0], len(f[1][1]), f[0])):
        modules.setdefault(name, rel)
    known = set(modules) | declared | set(LEVELS)  # `crate::commit` before lib.rs re-exports it
    refs = []
    for rel, (name, path) in files:
        with open(os.path.join(src_dir, rel), encoding="utf-8") as f:
            text = strip_rust(f.read())
        lines = LineIndex(text)
        shown = os.path.join(SRC, rel).replace(os.sep, "/")
        seen = set()
        for offset, target in file_refs(text, path):
            if target != PRIMITIVES and target not in known:
                target = aliases.get(target)  # a root re-export, else a root item: not a module
                if target != PRIMITIVES and target not in known:
                    continue
            if target == name:
                continue
            line = lines.line(offset)
            if (line, target) not in seen:
                seen.add((line, target))
                refs.append(Ref(name, target, shown, line))
    return modules, declared - set(modules), refs


def level(name):
    return PRIMITIVES_LEVEL if name == PRIMITIVES else LEVELS.get(name)


# ---------------------------------------------------------------------------------------------
# Cycles: strongly connected components, and a shortest cycle through each uncovered member.


def sccs(graph):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):  # recursive Tarjan; module graphs are small
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def shortest_cycle(graph, start, members):
    prev, queue = {start: None}, collections.deque([start])
    while queue:
        v = queue.popleft()
        for w in sorted(graph.get(v, ())):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return None


def cycles(graph):
    found = []
    for comp in sccs(graph):
        if len(comp) < 2:
            continue
        members, covered = set(comp), set()
        for v in comp:
            if v in covered:
                continue
            cyc = shortest_cycle(graph, v, members)
            if cyc:
                covered.update(cyc)
                found.append(cyc)
    return found


# ---------------------------------------------------------------------------------------------
# The primitives crate's dependency tree.


def check_primitives(root, package):
    cmd = ["cargo", "tree", "-p", package, "-e", "normal,build", "--prefix", "none"]
    try:
        res = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    except FileNotFoundError:
        print("primitives: cargo not found on PATH")
        return False
    if res.returncode != 0:
        err = res.stderr.strip()
        if "did not match any packages" in err or "not found in workspace" in err:
            print("primitives: package %s does not exist in this workspace yet (%s)" % (package, err))
        else:
            print("primitives: `%s` failed (exit %d):\n%s" % (" ".join(cmd), res.returncode, err))
        return False
    crates = {}
    for line in res.stdout.splitlines():
        words = line.split()
        if len(words) >= 2 and words[1].startswith("v"):
            crates.setdefault(words[0], words[1])
    if not crates:
        print("primitives: could not read the output of `%s`:\n%s" % (" ".join(cmd), res.stdout))
        return False
    bad = [c for c in FORBIDDEN_IN_PRIMITIVES if c in crates]
    for c in bad:
        print(
            "primitives: %s depends on %s %s (see `cargo tree -p %s -e normal,build -i %s`)"
            % (package, c, crates[c], package, c)
        )
    if not bad:
        print("primitives ok: %s has %d crates in its tree, none of %s" % (
            package, len(crates), ", ".join(FORBIDDEN_IN_PRIMITIVES)))
    return not bad


# ---------------------------------------------------------------------------------------------


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=os.path.dirname(here), help="repository root (default: ..)")
    ap.add_argument("--graph", action="store_true", help="print every module edge")
    ap.add_argument(
        "--check-primitives",
        action="store_true",
        help="also fail if %s pulls in any of %s" % (PRIMITIVES_PACKAGE, ", ".join(FORBIDDEN_IN_PRIMITIVES)),
    )
    ap.add_argument("--package", default=PRIMITIVES_PACKAGE, help=argparse.SUPPRESS)  # for testing
    args = ap.parse_args(argv)

    modules, declared_only, refs = scan(args.root)
    problems = 0

    unknown = sorted(m for m in set(modules) | declared_only if m not in LEVELS)
    for m in unknown:
        where = os.path.join(SRC, modules[m]) if m in modules else os.path.join(SRC, "lib.rs")
        print("%s: module %s is not in the level table: add it to the table (LEVELS in scripts/check-layers.py)"
              % (where.replace(os.sep, "/"), m))
        problems += 1

    edges = collections.OrderedDict()
    for r in refs:
        edges.setdefault((r.src, r.dst), []).append(r)

    if args.graph:
        for (a, b), rs in sorted(edges.items()):
            la, lb = level(a), level(b)
            print("edge: %s (%s) -> %s (%s)  %d reference%s" % (
                a, "?" if la is None else la, b, "?" if lb is None else lb, len(rs), "" if len(rs) == 1 else "s"))

    bad_edges = set()
    for r in sorted(refs, key=lambda r: (r.path, r.line, r.dst)):
        ls, ld = level(r.src), level(r.dst)
        if ls is None or ld is None:
            continue  # reported above as not in the table
        if ld >= ls:
            print("%s:%d: %s (%d) imports %s (%d)" % (r.path, r.line, r.src, ls, r.dst, ld))
            bad_edges.add((r.src, r.dst))
            problems += 1

    graph = collections.defaultdict(set)
    for a, b in edges:
        if b != PRIMITIVES:
            graph[a].add(b)
    for cyc in cycles(graph):
        print("cycle: " + " -> ".join(cyc))
        for a, b in zip(cyc, cyc[1:]):
            r = edges[(a, b)][0]
            print("    %s -> %s at %s:%d" % (a, b, r.path, r.line))
        problems += 1

    if args.check_primitives and not check_primitives(args.root, args.package):
        problems += 1

    n_modules = len(set(modules) | declared_only)
    if problems:
        summary = "layers: %d problem%s" % (problems, "" if problems == 1 else "s")
        if bad_edges:
            summary += "; %d bad edge%s: %s" % (
                len(bad_edges), "" if len(bad_edges) == 1 else "s",
                ", ".join("%s->%s" % e for e in sorted(bad_edges)))
        if unknown:
            summary += "; not in the table: " + ", ".join(unknown)
        print(summary)
        return 1
    print("layers ok: %d modules, %d edges" % (n_modules, len(edges)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
