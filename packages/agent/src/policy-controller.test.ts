import { afterEach, describe, expect, it } from 'vitest';
import { FakeKubeApi, makePod } from '@minicni/testkit/k8s-fake-api';
import {
  namespaceFromK8s,
  networkPolicyFromK8s,
  podFromK8s,
  type Namespace,
  type NetworkPolicy,
  type Pod,
} from '@minicni/policy';
import { Backoff } from './backoff.js';
import { AgentError } from './errors.js';
import { KubeClient } from './kube-client.js';
import { PolicyController } from './policy-controller.js';
import { policyInformers, type PolicyCache, type PolicyCaches } from './policy-sources.js';

const fastBackoff = () => new Backoff({ baseMs: 5, maxMs: 20, random: () => 0.5 });

/** A cache the test fills by hand: synced when told, change callbacks as an informer makes them. */
class MemoryCache<T> implements PolicyCache<T> {
  readonly items = new Map<string, T>();
  synced = false;
  resourceVersion: string | undefined;
  #onChange: (() => void) | undefined;
  start(onChange: () => void): void {
    this.#onChange = onChange;
  }
  async stop(): Promise<void> {}
  set(key: string, value: T, resourceVersion?: string): void {
    this.items.set(key, value);
    if (resourceVersion) this.resourceVersion = resourceVersion;
    this.#onChange?.();
  }
  sync(): void {
    this.synced = true;
    this.#onChange?.();
  }
}

const denyAll = (ns: string) =>
  networkPolicyFromK8s({
    kind: 'NetworkPolicy',
    metadata: { namespace: ns, name: 'deny' },
    spec: { podSelector: {}, policyTypes: ['Ingress'] },
  });

function lab() {
  const caches = {
    pods: new MemoryCache<Pod>(),
    namespaces: new MemoryCache<Namespace>(),
    policies: new MemoryCache<NetworkPolicy>(),
  };
  const applied: string[] = [];
  let gate: Promise<void> | undefined;
  let fail = 0;
  const logs: string[] = [];
  const ctl = new PolicyController({
    nodeName: 'n1',
    caches,
    backoff: fastBackoff(),
    logger: (level, msg, f) => logs.push(`${level} ${msg} ${JSON.stringify(f)}`),
    nft: async (args, stdin) => {
      expect(args).toEqual(['-f', '-']);
      await gate;
      if (fail > 0) {
        fail--;
        throw new AgentError('POLICY', 'nft: Error: Could not process rule');
      }
      applied.push(stdin!);
    },
  });
  ctl.start();
  for (const ns of ['x', 'y']) caches.namespaces.set(ns, namespaceFromK8s({ metadata: { name: ns } }));
  for (let i = 0; i < 4; i++) {
    const ns = i % 2 ? 'y' : 'x';
    caches.pods.set(
      `${ns}/p${i}`,
      podFromK8s(makePod({ namespace: ns, name: `p${i}`, node: 'n1', ips: [`10.244.1.${10 + i}`] })),
    );
  }
  return {
    caches,
    ctl,
    applied,
    logs,
    hold: () => {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = undefined;
        release();
      };
    },
    failNext: (n: number) => (fail = n),
    syncAll: () => {
      caches.pods.sync();
      caches.namespaces.sync();
      caches.policies.sync();
      ctl.setNodeIps(['192.168.50.1']);
    },
  };
}

describe('PolicyController', () => {
  it('applies nothing before every cache has listed and the node addresses are known, then one ruleset', async () => {
    const t = lab();
    t.caches.pods.sync();
    t.caches.namespaces.sync();
    t.caches.policies.sync();
    await t.ctl.idle();
    expect(t.applied).toEqual([]);
    expect(t.ctl.status).toMatchObject({ synced: false, applies: 0 });
    expect(t.ctl.status.pending).toBeGreaterThan(0);
    t.ctl.setNodeIps(['192.168.50.1']);
    await t.ctl.idle();
    expect(t.applied).toHaveLength(1);
    expect(t.applied[0]).toMatch(/^table inet minicni-policy\ndelete table inet minicni-policy\n/m);
    expect(t.applied[0]).toMatch(/set node4 \{[^}]*192\.168\.50\.1/);
    expect(t.ctl.status).toMatchObject({ synced: true, pending: 0, applies: 1, applyFailures: 0, syncs: 1 });
    // Nothing changed: no second apply.
    t.ctl.changed();
    await t.ctl.idle();
    expect(t.applied).toHaveLength(1);
  });

  it('coalesces a burst into one apply, keeps one apply in flight, and the latest state wins', async () => {
    const t = lab();
    t.syncAll();
    await t.ctl.idle();
    const release = t.hold();
    t.caches.policies.set('x/deny', denyAll('x'));
    await new Promise((r) => setTimeout(r, 20)); // the worker is now inside nft, held
    for (let i = 0; i < 50; i++) t.caches.policies.set(`y/p${i}`, { ...denyAll('y'), name: `p${i}` });
    t.caches.policies.items.delete('x/deny');
    t.ctl.changed();
    expect(t.ctl.status.pending).toBe(51);
    release();
    await t.ctl.idle();
    // The held apply, then exactly one more with everything after it.
    expect(t.applied).toHaveLength(3);
    expect(t.applied[1]).toContain('10.244.1.10 : jump'); // x/deny isolated pod x/p0
    expect(t.applied[2]).not.toContain('10.244.1.10 : jump');
    expect(t.applied[2]).toContain('10.244.1.11 : jump'); // y/p1 isolated by the y policies
    expect(t.ctl.status).toMatchObject({ pending: 0, applies: 3, policies: 50 });
  });

  it('fails closed: a failed apply keeps the ruleset in force, is retried, and never drops the table', async () => {
    const t = lab();
    t.syncAll();
    await t.ctl.idle();
    t.failNext(2);
    t.caches.policies.set('x/deny', denyAll('x'));
    await t.ctl.idle();
    expect(t.ctl.status).toMatchObject({ applies: 4, applyFailures: 2, pending: 0 });
    expect(t.applied).toHaveLength(2);
    expect(t.applied[1]).toContain('10.244.1.10 : jump');
    expect(t.logs.filter((l) => l.includes('the previous ruleset stays in force'))).toHaveLength(2);
    // Every text handed to nft defines the table again in the same transaction.
    for (const text of t.applied) expect(text).toMatch(/\ntable inet minicni-policy \{/);
  });

  it('reports the resourceVersions the ruleset in force reflects: not those of a failing or held sync', async () => {
    const t = lab();
    expect(t.ctl.status.syncedResourceVersions).toEqual({});
    t.caches.namespaces.resourceVersion = '90';
    t.caches.pods.resourceVersion = '95';
    t.caches.policies.resourceVersion = '100';
    t.syncAll();
    await t.ctl.idle();
    expect(t.ctl.status.syncedResourceVersions).toEqual({ pods: '95', namespaces: '90', policies: '100' });

    // A policy at 101 whose apply fails: the kernel still holds the ruleset of 100.
    t.failNext(1);
    const release = t.hold();
    t.caches.policies.set('x/deny', denyAll('x'), '101');
    await new Promise((r) => setTimeout(r, 20)); // held inside nft, then failing
    expect(t.ctl.status.syncedResourceVersions.policies).toBe('100');
    release();
    await t.ctl.idle();
    expect(t.applied).toHaveLength(2);
    expect(t.ctl.status.syncedResourceVersions.policies).toBe('101');

    // An event that changes nothing the ruleset depends on (a bookmark, an equal object):
    // nothing is pending, so the ruleset reflects the newer version too.
    t.caches.pods.resourceVersion = '120';
    expect(t.ctl.status.syncedResourceVersions).toEqual({ pods: '120', namespaces: '90', policies: '101' });
  });
});

describe('policy informers: what cannot be converted fails closed', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('a bad policy isolates its namespace, a later bad version keeps the last good one, by name in the log', async () => {
    const api = await FakeKubeApi.start();
    cleanup.push(() => api.close());
    api.addNamespace('x');
    api.addPod({ namespace: 'x', name: 'a', node: 'n1', ips: ['10.244.1.10'] });
    api.addPod({ namespace: 'x', name: 'b', node: 'n1', ips: ['10.244.1.11'], labels: { app: 'b' } });
    const bad = {
      metadata: { namespace: 'x', name: 'web' },
      spec: { podSelector: { matchLabels: { app: 'b' } }, ingress: [{ ports: [{ port: 70000 }] }] },
    };
    api.put('networkpolicies', bad);
    const logs: string[] = [];
    const logger = (level: string, msg: string, f?: Record<string, unknown>) =>
      logs.push(`${level} ${msg} ${JSON.stringify(f)}`);
    const caches: PolicyCaches = policyInformers(new KubeClient({ server: api.url }), {
      backoff: fastBackoff,
      logger,
    });
    const applied: string[] = [];
    const ctl = new PolicyController({
      nodeName: 'n1',
      caches,
      logger,
      nft: async (_a, stdin) => void applied.push(stdin!),
    });
    ctl.start();
    cleanup.push(() => ctl.stop());
    ctl.setNodeIps(['192.168.50.1']);
    const until = async (cond: () => boolean, what: string) => {
      const end = Date.now() + 3000;
      while (!cond()) {
        if (Date.now() > end) throw new Error(`timed out: ${what}: ${logs.join('\n')}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      await ctl.idle();
    };
    await until(() => applied.length === 1, 'first apply');
    // Both pods of x isolated both ways (the stand-in policy selects all and allows nothing).
    expect(applied[0]).toMatch(/map ingress4 \{[^}]*10\.244\.1\.10 : jump[^}]*10\.244\.1\.11 : jump/);
    expect(applied[0]).toMatch(/map egress4 \{[^}]*10\.244\.1\.10 : jump/);
    expect(logs.join('\n')).toMatch(
      /error cannot convert a networkpolicy; isolating its namespace \{"networkpolicy":"x\/web","error":".*70000/,
    );

    const good = {
      ...bad,
      spec: { podSelector: { matchLabels: { app: 'b' } }, ingress: [{ ports: [{ port: 80 }] }] },
    };
    api.put('networkpolicies', good);
    await until(() => applied.length === 2, 'the fixed policy');
    expect(applied[1]).not.toMatch(/10\.244\.1\.10 : jump/);
    expect(applied[1]).toMatch(/10\.244\.1\.11 : jump/);

    api.put('networkpolicies', bad);
    await until(() => logs.some((l) => l.includes('keeping its last good version')), 'the bad update');
    expect(applied).toHaveLength(2); // same ruleset as before: nothing to apply
    expect(caches.policies.items.get('x/web')?.ingress[0]?.ports).toEqual([{ protocol: 'TCP', port: 80 }]);
  });
});
