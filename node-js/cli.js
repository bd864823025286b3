#!/usr/bin/env node
// `npx batara ...`: the same command line as the Rust binary.
'use strict';
const { runCli } = require('./addon.js').load();

// Node's own SIGINT/SIGTERM handler resets the terminal and raises the signal again. The CLI's
// handler (tokio's, installed by runCli) chains to the handler it finds, so each signal raised
// itself again for ever: the process spun and never stopped. Listening here first replaces
// Node's handler with libuv's, which only records the signal; the CLI, which owns this thread
// until it returns, sees it and shuts down.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {});

process.exitCode = runCli(['batara', ...process.argv.slice(2)]);
