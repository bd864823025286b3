#!/usr/bin/env node
// `npx batara ...`: the same command line as the Rust binary.
'use strict';
const { runCli } = require('./addon.js').load();

process.exitCode = runCli(['batara', ...process.argv.slice(2)]);
