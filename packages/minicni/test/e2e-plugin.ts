// Helpers for the e2e tier: the BUILT single executable, run as a runtime runs it, and the
// witnesses every e2e test reads (reservations in the dataDir, host veths and rules in the node).
//
// API:
// - `MINICNI`, `MINICNI_DIR`: the executable and its directory; importing this module throws
//   when it is missing (CI builds before tests; a missing build must fail, never skip).
// - `REFERENCE_PLUGINS`: Debian's reference plugins dir.
// - `runMinicni(node, call, config) -> PluginOutcome`: one call of the executable in a node netns.
// - `spawnMinicni(node, call, config) -> {child, done}`: the same, with the process handle (to kill it).
// - `reservations(dataDir, network)`: the address files of a network's store.
// - `hostVeths(node)`: the node's `mc<12 hex>` host veths.
// - `nodeRules(node)`: `iptables-save` of the node netns.
// - `MINICNI_SHIM`: the built fast-path shim.
// - `serveInNode(node, socket) -> AsyncDisposable`: `minicni serve` running in a node netns, as
//   the agent runs the plugin (scripts/serve.mjs, shared with the demo and the bench); disposing
//   it sends SIGTERM and waits for the exit.
// - `installMinicni(how, node, work) -> {binDir, env, served}`: the plugin directory and the
//   environment a runtime needs to run minicni as `minicni`: 'standalone' (the executable) or
//   'shim' (minicni-shim copied in as `minicni`, `minicni serve` started in the node netns on
//   `agentSocket(work)`, named in the env too, no `minicni-standalone` beside the shim and
//   MINICNI_STANDALONE=/bin/false, so every call must be served), or 'ondemand' (a node without
//   the agent: the shim as `minicni` beside the executable as `minicni-standalone`,
//   MINICNI_ON_DEMAND=1, nothing started here: the first call starts the on-demand server;
//   `onDemand` then names its files). Dispose to stop the server, whichever kind.
// - `agentSocket(work)`: the socket path to put in minicni's config as `agentSocket`: the shim
//   reads it from there, so calls from a runtime process without the test's environment (podman's
//   cleanup process, started by conmon) find the server too.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cniEnv,
  runPluginInNode,
  type PluginCall,
  type PluginOutcome,
  type TestNetns,
} from '@minicni/testkit';
import { HOST_VETH_PATTERN } from '../src/host-veth.js';
import { startServe } from '../scripts/serve.mjs';
import { onDemandPaths, stopOnDemandServer, type OnDemandPaths } from '@minicni/fastpath';

export const MINICNI = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/minicni');
export const MINICNI_DIR = dirname(MINICNI);
export const REFERENCE_PLUGINS = '/usr/lib/cni';
export const MINICNI_SHIM = join(MINICNI_DIR, 'minicni-shim');

if (!existsSync(MINICNI)) {
  throw new Error(
    `the e2e tests run the built executable, and ${MINICNI} is missing: run \`pnpm --filter minicni... build\` first`,
  );
}

export function runMinicni(node: TestNetns, call: PluginCall, config: unknown): Promise<PluginOutcome> {
  return runPluginInNode(node, MINICNI, call, config);
}

export interface Spawned {
  child: ChildProcess;
  /** Settles when the process is gone: its exit code (null when killed), signal and output. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/**
 * Starts the executable in the node netns and returns its process. `nsenter` without `--fork`
 * execs the plugin in place, so the pid is the plugin's own: a SIGKILL lands on the plugin.
 */
export function spawnMinicni(node: TestNetns, call: PluginCall, config: unknown): Spawned {
  const child = spawn('nsenter', [`--net=${node.path}`, '--', MINICNI], {
    env: cniEnv(call),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => {});
  child.stdin.end(typeof config === 'string' ? config : JSON.stringify(config));
  const done = new Promise<Awaited<Spawned['done']>>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** The address files (`10.x.y.z`, `fd00::..`) of one network in a host-local style store. */
export function reservations(dataDir: string, network: string): string[] {
  const dir = join(dataDir, network);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f) || /^[0-9a-f:]+$/i.test(f))
    .sort();
}

export async function hostVeths(node: TestNetns): Promise<string[]> {
  const links = await node.ipJson<{ ifname: string }[]>('link', 'show');
  return links.map((l) => l.ifname).filter((n) => HOST_VETH_PATTERN.test(n));
}

export function nodeRules(node: TestNetns): Promise<string> {
  return node.run('iptables-save');
}

/** Rule lines only (no counters, comments or timestamps), to compare before and after. */
export async function nodeRuleLines(node: TestNetns): Promise<string[]> {
  const out = await nodeRules(node);
  return out
    .split('\n')
    .filter((l) => l.startsWith('-') || l.startsWith(':') || l.startsWith('*'))
    .map((l) => l.replace(/\[\d+:\d+\]$/, '').trim());
}

export interface ServedPlugin extends AsyncDisposable {
  readonly socket: string;
  readonly child: ChildProcess;
}

export async function serveInNode(node: TestNetns, socket: string): Promise<ServedPlugin> {
  const served = await startServe(MINICNI, socket, node.path);
  return { socket, child: served.child, [Symbol.asyncDispose]: () => served.stop() };
}

export interface MinicniInstall extends AsyncDisposable {
  binDir: string;
  env: Record<string, string>;
  served: ServedPlugin | undefined;
  onDemand?: OnDemandPaths;
}

export async function installMinicni(
  how: 'standalone' | 'shim' | 'ondemand',
  node: TestNetns,
  work: string,
): Promise<MinicniInstall> {
  if (how === 'standalone') {
    return { binDir: MINICNI_DIR, env: {}, served: undefined, [Symbol.asyncDispose]: async () => {} };
  }
  const socket = agentSocket(work);
  if (how === 'ondemand') {
    const binDir = join(work, 'ondemand-bin');
    mkdirSync(binDir, { recursive: true });
    copyFileSync(MINICNI_SHIM, join(binDir, 'minicni'));
    chmodSync(join(binDir, 'minicni'), 0o755);
    symlinkSync(MINICNI, join(binDir, 'minicni-standalone'));
    mkdirSync(dirname(socket), { recursive: true, mode: 0o700 });
    return {
      binDir,
      env: { MINICNI_AGENT_SOCKET: socket, MINICNI_ON_DEMAND: '1' },
      served: undefined,
      onDemand: onDemandPaths(socket),
      [Symbol.asyncDispose]: async () => {
        await stopOnDemandServer(socket);
      },
    };
  }
  const served = await serveInNode(node, socket);
  const binDir = join(work, 'shim-bin');
  mkdirSync(binDir, { recursive: true });
  copyFileSync(MINICNI_SHIM, join(binDir, 'minicni'));
  chmodSync(join(binDir, 'minicni'), 0o755);
  return {
    binDir,
    // The environment names the socket for the runtime's own calls (VERSION carries no config);
    // the config's agentSocket covers processes that do not inherit it.
    env: { MINICNI_AGENT_SOCKET: socket, MINICNI_STANDALONE: '/bin/false' },
    served,
    [Symbol.asyncDispose]: () => served[Symbol.asyncDispose](),
  };
}

export function agentSocket(work: string): string {
  return join(work, 'run', 'plugin.sock');
}
