#!/usr/bin/env node
// The shoal CLI's entry point: the only file of the CLI that touches `process`.
import { LocalClient } from './client/local-client.js';
import { runShoal } from './program.js';

runShoal(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  connect: (address) => LocalClient.connect(address),
  isTty: process.stdout.isTTY === true,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
