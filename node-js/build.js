#!/usr/bin/env node
// `npm install` in a checkout builds the addon from source: cargo builds bindings/node (release)
// in the repository's one target directory, reusing an already compiled RocksDB when there is one,
// and the result is copied to ./batara.node (addon.js loads it). Set BATARA_SKIP_BUILD=1 to skip
// (e.g. when a test harness copies a debug build in place). The packaged tarball
// (scripts/package.sh) carries a prebuilt addon instead and neither ships nor runs this script.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

if (process.env.BATARA_SKIP_BUILD) process.exit(0);
const root = path.resolve(__dirname, '..');
if (!fs.existsSync(path.join(root, 'bindings', 'node', 'Cargo.toml'))) {
  console.error(
    '@batara/node: no prebuilt addon and no Batara checkout to build one from here; install the ' +
      'packaged tarball (scripts/package.sh writes dist/batara-node-<version>.tgz) instead.',
  );
  process.exit(1);
}
execFileSync('bash', ['-c', '. scripts/rocksdb-env.sh && cargo build --release -p batara-node'], {
  cwd: root,
  stdio: 'inherit',
});
const target = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
fs.copyFileSync(path.join(target, 'release', 'libbatara_node.so'), path.join(__dirname, 'batara.node'));
