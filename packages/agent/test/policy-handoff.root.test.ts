// A new pod governed from its first packet: pods created through the served plugin (the built
// minicni executable's `serve`, in a process of its own, reached through minicni-shim) while the
// agent's policy controller runs beside it. The API stand-in never learns the pods' addresses
// (as at ADD time on a real node, before kubelet reports them): only the ADD hand-off tells the
// agent, and the node's table fails closed for addresses of the pod CIDR it does not know.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeNetns, podNetns, runPluginInNode, testName, wirePod, type TestNetns } from '@minicni/testkit';
import { FakeKubeApi } from '@minicni/testkit/k8s-fake-api';
import { startServe } from '@minicni/testkit/serve-process';
import type { Agent } from '../src/agent.js';
import { kubePodGetter } from '../src/policy-sources.js';
import { connects as connectsTo, eventually, nftIn, policyAgent, spawnServer } from './policy-lab.js';

const SHIM = resolve(import.meta.dirname, '../../minicni/dist/minicni-shim');
const PLUGIN = resolve(import.meta.dirname, '../../minicni/dist/minicni');

/** The flow's first packet decides, within 1 s. */
const connects = (from: TestNetns, ip: string) => connectsTo(from, ip, 1000);

/** A TCP server on :8080 inside `pod` (listening before the pod has an interface). */
async function listen(pod: TestNetns): Promise<void> {
  spawnServer(pod);
  await eventually('a listener', async () => (await pod.run('ss', ['-Htln'])).includes(':8080'), 10_000);
}

describe('policy from the first packet: the ADD hand-off and fail closed', () => {
  it('pods added through the served plugin are allowed/blocked per policy at once; unknown pod-CIDR addresses are dropped', async () => {
    for (const f of [SHIM, PLUGIN])
      if (!existsSync(f)) throw new Error(`${f} is missing: run \`pnpm build\` first`);
    await using api = await FakeKubeApi.start();
    await using node = await nodeNetns();
    await using db = await podNetns();
    await using web = await podNetns();
    await using other = await podNetns();
    await using late = await podNetns();
    await using stranger = await podNetns();
    const dir = mkdtempSync(join(tmpdir(), 'mct-handoff-'));
    const policySocket = join(dir, 'agent', 'policy.sock');
    const pluginSocket = join(dir, 'plugin', 'plugin.sock');
    const bridge = testName('br');
    const strangerVeth = testName('vs');
    let serve: Awaited<ReturnType<typeof startServe>> | undefined;
    let agent: Agent | undefined;
    try {
      for (const s of ['net.ipv4.ip_forward=1', 'net.bridge.bridge-nf-call-iptables=1'])
        await node.run('sysctl', ['-qw', s]);

      // The cluster as the API has it when kubelet calls ADD: pods scheduled, no address yet.
      api.addNode({ name: 'n1', internalIPs: ['10.244.250.1'], podCIDRs: ['10.244.1.0/24'] });
      api.addNamespace('x');
      for (const [name, app] of [
        ['db', 'db'],
        ['web', 'web'],
        ['other', 'other'],
        ['late', 'late'],
      ] as const)
        api.addPod({ namespace: 'x', name, node: 'n1', ips: [], labels: { app } });
      api.put('networkpolicies', {
        metadata: { namespace: 'x', name: 'db-from-web' },
        spec: {
          podSelector: { matchLabels: { app: 'db' } },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 8080 }] }],
        },
      });

      const lab = policyAgent(api.url, nftIn(node), {
        policy: (kube) => ({ getPod: kubePodGetter(kube) }),
        agent: { policySocket },
      });
      const { kube, policy } = lab;
      agent = lab.agent;
      await agent.start();
      await eventually('the first ruleset', async () => policy.status.applies >= 1, 10_000);
      serve = await startServe(PLUGIN, pluginSocket, node.path);

      const conf = (socket: string) => ({
        cniVersion: '1.0.0',
        name: 'mct-handoff',
        type: 'minicni',
        bridge,
        subnet: '10.244.1.0/24',
        ipMasq: false,
        dataDir: join(dir, 'ipam'),
        policySocket: socket,
      });
      const add = async (pod: TestNetns, name: string, socket = policySocket): Promise<string> => {
        const r = await runPluginInNode(
          node,
          SHIM,
          {
            command: 'ADD',
            containerId: `mct-${name}`,
            netns: pod.path,
            ifname: 'eth0',
            args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=x;K8S_POD_NAME=${name};K8S_POD_UID=u-${name}`,
            path: '/usr/lib/cni',
            // Served or nothing: the standalone fallback would hide a server that is not used.
            extraEnv: { MINICNI_AGENT_SOCKET: pluginSocket, MINICNI_STANDALONE: '/bin/false' },
          },
          conf(socket),
        );
        expect(r.code, r.stdout + r.stderr).toBe(0);
        return (r.json as { ips: { address: string }[] }).ips[0]!.address.split('/')[0]!;
      };

      for (const p of [db, other, late, stranger]) await listen(p);
      const started = performance.now();
      const dbIp = await add(db, 'db');
      const webIp = await add(web, 'web');
      const otherIp = await add(other, 'other');
      const addMs = performance.now() - started;
      // Straight after ADD returned, each flow's first packet: web is allowed to db, other is
      // not; the API has still reported no address for any of them.
      expect(await connects(web, dbIp)).toBe(true);
      expect(await connects(other, dbIp)).toBe(false);
      expect(await connects(web, otherIp)).toBe(true);
      const dbInApi = await kube.getJson<{ status?: { podIP?: string } }>('/api/v1/namespaces/x/pods/db');
      expect(dbInApi.status?.podIP).toBeUndefined();
      const ruleset = await node.run('nft', ['list', 'table', 'inet', 'minicni-policy']);
      for (const ip of [dbIp, webIp, otherIp])
        expect(ruleset).toMatch(new RegExp(`set pods4 \\{[^}]*${ip.replace(/\./g, '\\.')}`));
      expect(ruleset).toMatch(new RegExp(`${dbIp.replace(/\./g, '\\.')} : jump i-`));
      // Node <-> pod always passes (kubelet probes), isolated or not.
      expect(await connects(node, dbIp)).toBe(true);

      // An address of the pod CIDR nobody was given: cut off both ways.
      await wirePod(node, stranger, { hostIf: strangerVeth, address: '10.244.1.200/24', master: bridge });
      expect(await connects(stranger, otherIp)).toBe(false);
      expect(await connects(other, '10.244.1.200')).toBe(false);
      expect(await connects(web, otherIp)).toBe(true); // the same destination, from a known pod
      const counters = await node.run('nft', ['list', 'counter', 'inet', 'minicni-policy', 'unknown-drops']);
      expect(Number(/packets (\d+)/.exec(counters)?.[1])).toBeGreaterThan(0);

      // No agent on the socket the config names: ADD still succeeds (documented choice), and
      // the pod is isolated by the table until the API reports it, never open.
      const lateIp = await add(late, 'late', join(dir, 'nowhere', 'policy.sock'));
      expect(await connects(web, lateIp)).toBe(false);
      api.addPod({ namespace: 'x', name: 'late', node: 'n1', ips: [lateIp], labels: { app: 'late' } });
      await eventually('the watch to make the late pod known', () => connects(web, lateIp), 10_000);
      process.stdout.write(
        `\nthree ADDs with the hand-off through the shim and the served plugin: ${addMs.toFixed(0)} ms (machine shared, timings noisy)\n`,
      );
    } finally {
      await serve?.stop();
      await agent?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
