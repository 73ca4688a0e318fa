import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubeApi } from '@minicni/testkit/k8s-fake-api';
import { grants, rbacAttributes, type RbacAttributes } from '@minicni/testkit/rbac';
import { Agent } from '../src/agent.js';
import { Backoff } from '../src/backoff.js';
import { main } from '../src/cli.js';
import type { ActualState, Dataplane } from '../src/dataplane.js';
import { KubeClient } from '../src/kube-client.js';
import { KubeNodeSource } from '../src/kube-node-source.js';
import { PolicyController } from '../src/policy-controller.js';
import { kubePodGetter, POLICY_PATHS, policyInformers } from '../src/policy-sources.js';
import { announcePod } from '@minicni/fastpath';
import { clusterRoleRules } from './manifest.js';

const key = (a: RbacAttributes) => `${a.apiGroup || 'core'} ${a.resource} ${a.verb}`;

/** A dataplane that only remembers: the test is about what the agent asks the API, not routes. */
function memoryDataplane(): Dataplane {
  const state: ActualState = { routes: [], neighbours: [], fdb: [] };
  return {
    read: async () => structuredClone(state),
    apply: async () => {},
    routesTo: async (ips) => new Map(ips.map((ip) => [ip, { dev: 'eth0' }])),
    addressMtu: async () => 1500,
  };
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Every API call the agent's code makes on a node's life: the installer reading its Node, the
 * agent listing and watching Nodes, Pods, Namespaces and NetworkPolicies (the policy
 * controller, as `run` builds it), watches that break (resume), and a compacted history (410,
 * relist). What it sends is recorded by the API stand-in as method and path.
 */
async function callsOfTheAgent(): Promise<RbacAttributes[]> {
  await using api = await FakeKubeApi.start({ token: 'tk' });
  api.addNode({ name: 'n1', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'] });
  const dir = mkdtempSync(join(tmpdir(), 'agent-rbac-'));
  try {
    writeFileSync(join(dir, 'token'), 'tk');
    const err: string[] = [];
    const code = await main(
      ['install', '--server', api.url, '--token-file', join(dir, 'token'), '--cni-conf-dir', dir],
      {
        env: { NODE_NAME: 'n1' },
        stdout: () => {},
        stderr: (t) => err.push(t),
        stopSignal: Promise.resolve(),
      },
    );
    expect(code, err.join('')).toBe(0);

    api.addNamespace('x');
    api.addPod({ namespace: 'x', name: 'a', node: 'n1', ips: ['10.244.1.10'] });
    const client = new KubeClient({ server: api.url, token: () => 'tk' });
    const source = new KubeNodeSource(client, { backoff: new Backoff({ baseMs: 5, maxMs: 10 }) });
    let applies = 0;
    const policy = new PolicyController({
      nodeName: 'n1',
      caches: policyInformers(client, { backoff: () => new Backoff({ baseMs: 5, maxMs: 10 }) }),
      getPod: kubePodGetter(client),
      nft: async () => void applies++,
    });
    const policySocket = join(dir, 'run', 'policy.sock');
    const agent = new Agent({
      nodeName: 'n1',
      mode: 'host-gw',
      source,
      dataplane: memoryDataplane(),
      metricsAddress: '127.0.0.1:0',
      readyFile: join(dir, 'ready'),
      resyncMs: 50,
      sourceStats: () => source.stats,
      policy,
      policySocket,
    });
    await agent.start();
    try {
      const all = ['nodes', 'pods', 'namespaces', 'networkpolicies'] as const;
      const watching = () => all.every((r) => api.watchesOf(r) === 1);
      await until(() => agent.ready && watching() && applies === 1, 'the first watches and a ruleset');
      // A plugin's ADD hands over a pod the pods cache does not hold yet: one GET of it.
      await announcePod({ socket: policySocket, namespace: 'x', name: 'new', ips: ['10.244.1.20'] });
      expect(api.calls.some((c) => c.url === '/api/v1/namespaces/x/pods/new')).toBe(true);
      api.breakWatches();
      api.addNode({ name: 'n2', internalIPs: ['192.168.50.2'], podCIDRs: ['10.244.2.0/24'] });
      api.addPod({ namespace: 'x', name: 'b', node: 'n2', ips: ['10.244.2.10'] });
      await until(watching, 'resumed watches');
      // Changes missed while the watches are down, then history compacted past them: 410, relist.
      api.breakWatches();
      api.addNode({ name: 'n3', internalIPs: ['192.168.50.3'], podCIDRs: ['10.244.3.0/24'] });
      api.put('networkpolicies', {
        metadata: { namespace: 'x', name: 'deny' },
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
      });
      api.compact();
      const paths = ['/api/v1/nodes', ...Object.values(POLICY_PATHS)];
      const lists = () => paths.map((p) => api.calls.filter((c) => c.url === `${p}?limit=500`).length);
      const before = lists();
      await until(
        () => lists().every((n, i) => n > before[i]!) && watching() && policy.status.policies === 1,
        'relists after 410',
      );
    } finally {
      await agent.stop();
    }
    return api.calls.map((c) => rbacAttributes(c.method, c.url));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the ClusterRole in deploy/minicni.yaml against the agent's code", () => {
  it('grants exactly what the agent calls: every call allowed, nothing granted that no call uses', async () => {
    const used = await callsOfTheAgent();
    const rules = clusterRoleRules();
    expect(used.length).toBeGreaterThan(3);
    expect(used.filter((a) => !grants(rules, a)).map(key)).toEqual([]);
    const granted = rules.flatMap((r) =>
      r.apiGroups.flatMap((apiGroup) =>
        r.resources.flatMap((resource) => r.verbs.map((verb) => key({ apiGroup, resource, verb }))),
      ),
    );
    expect([...new Set(granted)].sort()).toEqual([...new Set(used.map(key))].sort());
  });
});

describe('rbacAttributes', () => {
  it('maps requests to group, resource and verb as the API server does', () => {
    expect(rbacAttributes('GET', '/api/v1/nodes')).toEqual({ apiGroup: '', resource: 'nodes', verb: 'list' });
    expect(rbacAttributes('GET', '/api/v1/nodes?watch=1&resourceVersion=5')).toMatchObject({ verb: 'watch' });
    expect(rbacAttributes('GET', '/api/v1/nodes/n1')).toMatchObject({ resource: 'nodes', verb: 'get' });
    expect(rbacAttributes('GET', '/api/v1/namespaces/x/pods')).toMatchObject({
      resource: 'pods',
      verb: 'list',
    });
    expect(rbacAttributes('GET', '/api/v1/namespaces/x')).toMatchObject({
      resource: 'namespaces',
      verb: 'get',
    });
    expect(rbacAttributes('GET', '/apis/networking.k8s.io/v1/networkpolicies?watch=true')).toEqual({
      apiGroup: 'networking.k8s.io',
      resource: 'networkpolicies',
      verb: 'watch',
    });
    expect(rbacAttributes('PATCH', '/api/v1/nodes/n1/status')).toMatchObject({
      resource: 'nodes/status',
      verb: 'patch',
    });
    expect(rbacAttributes('DELETE', '/api/v1/namespaces/x/pods')).toMatchObject({ verb: 'deletecollection' });
    expect(() => rbacAttributes('GET', '/healthz')).toThrow(/not a resource request/);
  });

  it('honours wildcards in rules', () => {
    const a = { apiGroup: '', resource: 'nodes', verb: 'get' };
    expect(grants([{ apiGroups: [''], resources: ['*'], verbs: ['get'] }], a)).toBe(true);
    expect(grants([{ apiGroups: ['apps'], resources: ['*'], verbs: ['*'] }], a)).toBe(false);
  });
});
