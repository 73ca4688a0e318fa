#!/usr/bin/env node
import { main } from './cli.js';

const stopSignal = new Promise<void>((resolve) => {
  process.once('SIGTERM', () => resolve());
  process.once('SIGINT', () => resolve());
});

process.exitCode = await main(process.argv.slice(2), {
  env: process.env,
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  stopSignal,
});
// Open handles (a watch, timers) are closed by then; exit promptly anyway.
process.exit();
