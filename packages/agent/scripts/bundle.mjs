#!/usr/bin/env node
// Bundles the agent CLI and everything it imports (netlink-ts included) into one ESM file,
// with the netlink addon beside it: what the image ships and what the multi-node test and
// the demo run inside node namespaces. Usage: node scripts/bundle.mjs [outDir]
import { build } from 'esbuild';
import { SOURCE_BUNDLE } from '../../../scripts/bundle-options.mjs';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import process from 'node:process';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '..');
const ADDON = 'minicni_netlink.node';

/** Where the built netlink addon is (its package builds it into dist/ or native/build/Release/). */
export function findAddon() {
  const netlink = resolve(pkg, '..', 'netlink');
  const candidates = [join(netlink, 'native', 'build', 'Release', ADDON), join(netlink, 'dist', ADDON)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`netlink addon not built (looked in ${candidates.join(', ')}): run pnpm build`);
  return found;
}

/**
 * The runtime settings the image runs the agent with (`agentRuntime` in its package.json:
 * Node flags and environment; deploy/build-image.sh writes them into the image config). Benches
 * run the agent with them too, so what they measure is what ships.
 */
export function agentRuntime() {
  const { nodeFlags, env } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).agentRuntime;
  return { nodeFlags, env };
}

/**
 * What a bench runs the agent with: the image's runtime settings, plus `BENCH_AGENT_NODE_ARGS`
 * (more Node flags, space separated) and `BENCH_AGENT_ENV` (more environment, `K=V K2=V2`).
 */
export function benchAgentRuntime() {
  const { nodeFlags, env } = agentRuntime();
  const words = (name) => (process.env[name] ?? '').split(' ').filter(Boolean);
  return {
    nodeArgs: [...nodeFlags, ...words('BENCH_AGENT_NODE_ARGS')],
    env: {
      ...env,
      ...Object.fromEntries(
        words('BENCH_AGENT_ENV').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      ),
    },
  };
}

/** Writes `<outDir>/minicni-agent.mjs` and the addon next to it; returns the bundle's path. */
export async function bundleAgent(outDir) {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, 'minicni-agent.mjs');
  await build({
    entryPoints: [join(pkg, 'src', 'bin.ts')],
    outfile,
    ...SOURCE_BUNDLE,
    // Bundled CommonJS dependencies may call require(); give ESM output one.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'warning',
    legalComments: 'none',
  });
  copyFileSync(findAddon(), join(outDir, ADDON));
  return outfile;
}

/**
 * Bundles a TypeScript module of the workspace (a demo's or a bench's body, which import the test
 * kit and the blocks from source) to `<outDir>/<name>.mjs` and imports it: plain Node runs it,
 * no test runner and no build of the test kit needed.
 */
export async function importBundled(entry, outDir) {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, `${basename(entry).replace(/\.ts$/, '')}.mjs`);
  await build({
    entryPoints: [entry],
    outfile,
    ...SOURCE_BUNDLE,
    external: ['@grpc/*'],
    logLevel: 'warning',
  });
  return import(pathToFileURL(outfile).href);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const out = resolve(process.argv[2] ?? join(pkg, 'dist-bundle'));
  const file = await bundleAgent(out);
  process.stdout.write(`${file}\n`);
}
