#!/usr/bin/env node
// The multi-node demo: three node namespaces (two on one L2 segment, one behind a router), the
// agent running in each, pods on each, and the seed's four checks as a table per routing mode.
// Everything lives in namespaces it creates and removes; the machine's network is not touched.
//
// usage: node packages/agent/scripts/demo.mjs [--plugin PATH] [--mode host-gw|vxlan|auto]...
//   --plugin  the minicni executable, or a directory of reference plugins (default:
//             packages/minicni/dist/minicni if built, else /usr/lib/cni's bridge + host-local)
//   --mode    repeatable (default: host-gw, vxlan and auto)
// Needs root, and the workspace built (`pnpm build`) for the netlink addon.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import process from 'node:process';
import { bundleAgent, importBundled } from './bundle.mjs';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    plugin: { type: 'string' },
    mode: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write('usage: demo.mjs [--plugin PATH] [--mode host-gw|vxlan|auto]...\n');
  process.exit(0);
}
const minicni = resolve(pkg, '..', 'minicni', 'dist', 'minicni');
const plugin = values.plugin ?? (existsSync(minicni) ? minicni : '/usr/lib/cni');
const modes = values.mode ?? ['host-gw', 'vxlan', 'auto'];

const dir = mkdtempSync(join(tmpdir(), 'minicni-agent-demo-'));
let code = 1;
try {
  const bundle = await bundleAgent(join(dir, 'agent'));
  const { runDemo } = await importBundled(join(pkg, 'test', 'demo-main.ts'), dir);
  const failed = await runDemo({ bundle, plugin, modes, log: (t) => process.stdout.write(t) });
  code = failed === 0 ? 0 : 1;
} catch (e) {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
