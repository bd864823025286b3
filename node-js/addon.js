'use strict';
/**
 * Finds and loads the native addon behind @batara/node. Two places, in this order:
 *   1. prebuilds/<platform>-<arch>[-<libc>]/batara.node — the binary a packaged tarball carries
 *      (written by scripts/package.sh; e.g. prebuilds/linux-x64-gnu/batara.node);
 *   2. ./batara.node — a build from source in a checkout (`npm install` in node-js/ runs build.js;
 *      scripts/node-dev.sh copies the debug build).
 * With neither, it throws one error naming this platform and the ones the package carries, and
 * never tries to compile: users of the tarball have no Rust toolchain.
 */
const fs = require('node:fs');
const path = require('node:path');

/** `linux-x64-gnu`, `linux-arm64-musl`, `darwin-arm64`, …: the key of a prebuilt binary. */
function platformKey() {
  const parts = [process.platform, process.arch];
  if (process.platform === 'linux') {
    const header = process.report && process.report.getReport().header;
    parts.push(header && header.glibcVersionRuntime ? 'gnu' : 'musl');
  }
  return parts.join('-');
}

function load() {
  const key = platformKey();
  const prebuilds = path.join(__dirname, 'prebuilds');
  const candidates = [path.join(prebuilds, key, 'batara.node'), path.join(__dirname, 'batara.node')];
  const found = candidates.find((p) => fs.existsSync(p));
  if (found) return require(found);
  const carried = fs.existsSync(prebuilds) ? fs.readdirSync(prebuilds).sort() : [];
  const err = new Error(
    `@batara/node has no native addon for ${key}: this package carries ` +
      `${carried.length ? carried.join(', ') : 'none'}. Build it from source in a checkout of ` +
      'Batara (cd node-js && npm install; needs a Rust toolchain).',
  );
  err.code = 'UNSUPPORTED_PLATFORM';
  throw err;
}

module.exports = { load, platformKey };
