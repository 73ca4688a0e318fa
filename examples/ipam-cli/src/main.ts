#!/usr/bin/env node
// The only module that touches the process: everything below takes its I/O injected.
import { runCli } from './cli.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
});
