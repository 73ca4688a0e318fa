import { spawn } from 'node:child_process';
import { wirePod, type TestNetns } from '@minicni/testkit';
import { Agent, type AgentOptions } from '../src/agent.js';
import { Backoff } from '../src/backoff.js';
import { main } from '../src/cli.js';
import type { Dataplane } from '../src/dataplane.js';
import { KubeClient } from '../src/kube-client.js';
import { KubeNodeSource } from '../src/kube-node-source.js';
import { PolicyController, type PolicyControllerOptions } from '../src/policy-controller.js';
import { spawnNftVia, type NftRunner } from '../src/policy-nft.js';
import { policyInformers } from '../src/policy-sources.js';
import { capturingIo, runArgs } from './cli-run.js';

/**
 * What the policy root tests share: a node netns with a bridge (br_netfilter on) and two pods on
 * it, a TCP server on 10.244.1.10:8080 in the first, the client 10.244.1.11 in the second.
 */

/** Routes are not these tests' business: a dataplane that holds nothing. */
export const noRoutes: Dataplane = {
  read: async () => ({ routes: [], neighbours: [], fdb: [] }),
  apply: async () => {},
  routesTo: async () => new Map(),
  addressMtu: async () => 1500,
};

export const SERVER_IP = '10.244.1.10';
export const CLIENT_IP = '10.244.1.11';

/** Wires `server` and `client` to a bridge in `node` and starts the server (killed with its netns). */
export async function bridgeWithTwoPods(
  node: TestNetns,
  server: TestNetns,
  client: TestNetns,
): Promise<void> {
  for (const s of ['net.ipv4.ip_forward=1', 'net.bridge.bridge-nf-call-iptables=1'])
    await node.run('sysctl', ['-qw', s]);
  await node.run('ip', ['link', 'add', 'br0', 'type', 'bridge']);
  await node.run('ip', ['addr', 'add', '10.244.1.1/24', 'dev', 'br0']);
  await node.run('ip', ['link', 'set', 'br0', 'up']);
  for (const [i, pod] of [server, client].entries())
    await wirePod(node, pod, { hostIf: `vp${i}`, address: `10.244.1.${10 + i}/24`, master: 'br0' });
  spawnServer(server);
  await eventually('the server, before any policy', () => connects(client));
}

/** A TCP server on :8080 in `pod` that closes each connection (killed when the netns is torn down). */
export function spawnServer(pod: TestNetns): void {
  spawn(
    'nsenter',
    [
      `--net=${pod.path}`,
      '--',
      process.execPath,
      '-e',
      "require('net').createServer((s)=>s.end()).listen(8080)",
    ],
    { stdio: 'ignore' },
  ).unref();
}

/** One TCP connect from `from` to ip:8080 (the server by default): the flow's first packet decides, no retry. */
export async function connects(from: TestNetns, ip = SERVER_IP, timeoutMs = 400): Promise<boolean> {
  const script = `const s=require('net').connect({host:'${ip}',port:8080,timeout:${timeoutMs}});
s.on('connect',()=>process.exit(0));s.on('timeout',()=>process.exit(1));s.on('error',()=>process.exit(2));`;
  const r = await from.exec(process.execPath, ['-e', script]);
  return r.code === 0;
}

export async function eventually(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** nft inside the node netns. */
export function nftIn(node: TestNetns): NftRunner {
  return (args, stdin) => spawnNftVia(['nsenter', `--net=${node.path}`, '--'], args, stdin);
}

/** The tables in `node`, as `family name`. */
export async function tablesIn(node: TestNetns): Promise<string[]> {
  const out = await node.run('nft', ['list', 'tables']);
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('table '))
    .map((l) => l.slice('table '.length));
}

/**
 * The agent of node n1 (host-gw, no routes, no metrics listener, no ready file) with its policy
 * controller, both fed by the API at `server` (fast retries), the table written through `nft`.
 * Not started.
 */
export function policyAgent(
  server: string,
  nft: NftRunner,
  more: {
    policy?: (kube: KubeClient) => Partial<PolicyControllerOptions>;
    agent?: Partial<AgentOptions>;
  } = {},
): { kube: KubeClient; policy: PolicyController; agent: Agent } {
  const kube = new KubeClient({ server });
  const fast = () => new Backoff({ baseMs: 10, maxMs: 50 });
  const policy = new PolicyController({
    nodeName: 'n1',
    caches: policyInformers(kube, { backoff: fast }),
    nft,
    ...more.policy?.(kube),
  });
  const agent = new Agent({
    nodeName: 'n1',
    mode: 'host-gw',
    source: new KubeNodeSource(kube, { backoff: fast() }),
    dataplane: noRoutes,
    metricsAddress: null,
    readyFile: null,
    policy,
    ...more.agent,
  });
  return { kube, policy, agent };
}

/** `minicni-agent run --network-policy off` against `server` (it stops at once): exit code and stderr. */
export async function runPolicyOff(
  server: string,
  rulesDir: string,
  nft: NftRunner,
): Promise<{ code: number; err: string }> {
  const r = capturingIo(nft, { netlinkDataplane: async () => noRoutes });
  const code = await main([...runArgs(server, rulesDir), '--network-policy', 'off'], r.io);
  return { code, err: r.err() };
}
