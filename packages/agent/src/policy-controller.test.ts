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

/** Where a fake nft waits: `hold()` closes it and returns what opens it again. */
function nftGate() {
  let closed: Promise<void> | undefined;
  return {
    wait: () => closed,
    hold: () => {
      let release!: () => void;
      closed = new Promise((r) => (release = r));
      return () => {
        closed = undefined;
        release();
      };
    },
  };
}

function lab(opts: { getPod?: (ns: string, name: string) => Promise<unknown>; ttlMs?: number } = {}) {
  const caches = {
    pods: new MemoryCache<Pod>(),
    namespaces: new MemoryCache<Namespace>(),
    policies: new MemoryCache<NetworkPolicy>(),
  };
  const applied: string[] = [];
  const gate = nftGate();
  let fail = 0;
  const logs: string[] = [];
  const ctl = new PolicyController({
    nodeName: 'n1',
    caches,
    ...(opts.getPod ? { getPod: opts.getPod } : {}),
    ...(opts.ttlMs ? { announcedTtlMs: opts.ttlMs } : {}),
    backoff: fastBackoff(),
    logger: (level, msg, f) => logs.push(`${level} ${msg} ${JSON.stringify(f)}`),
    nft: async (args, stdin) => {
      expect(args).toEqual(['-f', '-']);
      await gate.wait();
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
    hold: gate.hold,
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
    // 51 waiting, plus the change of the pass in flight: none of them is in the kernel yet.
    expect(t.ctl.status.pending).toBe(52);
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

describe('PolicyController: what /metrics reads', () => {
  /** nft as the kernel would answer: counters that reset when a ruleset replaces the table. */
  function countingNft() {
    let table: { ingress: [number, number]; egress: [number, number] } | undefined;
    const calls: string[] = [];
    const gate = nftGate();
    const nft = async (args: readonly string[], stdin?: string): Promise<string | void> => {
      calls.push(args.join(' '));
      if (args[0] === '-f') {
        await gate.wait();
        // A whole-table load starts the counters at 0; a delta leaves them counting.
        if (!table || stdin?.includes('delete table')) table = { ingress: [0, 0], egress: [0, 0] };
        return '';
      }
      expect(args).toEqual(['-j', 'list', 'counters', 'table', 'inet', 'minicni-policy']);
      if (!table)
        throw new AgentError(
          'POLICY',
          'nft -j list counters table inet minicni-policy failed (1): Error: No such file or directory',
        );
      const c = (name: string, [packets, bytes]: [number, number]) => ({
        counter: { family: 'inet', name, table: 'minicni-policy', handle: 2, packets, bytes },
      });
      return JSON.stringify({
        nftables: [
          { metainfo: { version: '1.0.6' } },
          c('ingress-drops', table.ingress),
          c('egress-drops', table.egress),
        ],
      });
    };
    return {
      nft,
      calls,
      drop: (dir: 'ingress' | 'egress', packets: number, bytes: number) => {
        table![dir][0] += packets;
        table![dir][1] += bytes;
      },
      hold: gate.hold,
    };
  }

  it('drop counters only go up: what a replaced table had counted is carried over', async () => {
    const caches = {
      pods: new MemoryCache<Pod>(),
      namespaces: new MemoryCache<Namespace>(),
      policies: new MemoryCache<NetworkPolicy>(),
    };
    const k = countingNft();
    // Every pass loads the whole table (fullEveryMs 0): each one zeroes the kernel's counters.
    const ctl = new PolicyController({
      nodeName: 'n1',
      caches,
      nft: k.nft,
      countDrops: true,
      fullEveryMs: 0,
    });
    ctl.start();
    // No table yet: zero, not an error.
    expect(await ctl.drops()).toEqual({
      ingress: { packets: 0, bytes: 0 },
      egress: { packets: 0, bytes: 0 },
    });
    for (const c of [caches.pods, caches.namespaces, caches.policies]) c.sync();
    caches.namespaces.set('x', namespaceFromK8s({ metadata: { name: 'x' } }));
    ctl.setNodeIps(['192.168.50.1']);
    await ctl.idle();
    expect(ctl.status.applies).toBe(1);
    k.drop('ingress', 3, 180);
    k.drop('egress', 1, 60);
    expect(await ctl.drops()).toEqual({
      ingress: { packets: 3, bytes: 180 },
      egress: { packets: 1, bytes: 60 },
    });
    // A new ruleset replaces the table (its counters start at 0); the totals keep what it had.
    caches.policies.set('x/deny', denyAll('x'));
    caches.pods.set(
      'x/a',
      podFromK8s(makePod({ namespace: 'x', name: 'a', node: 'n1', ips: ['10.244.1.10'] })),
    );
    await ctl.idle();
    expect(ctl.status.applies).toBe(2);
    k.drop('ingress', 2, 120);
    expect(await ctl.drops()).toEqual({
      ingress: { packets: 5, bytes: 300 },
      egress: { packets: 1, bytes: 60 },
    });
    // Each apply read the counters it was about to reset, just before.
    expect(k.calls.filter((c) => c.startsWith('-f'))).toHaveLength(2);
    const i = k.calls.lastIndexOf('-f -');
    expect(k.calls[i - 1]).toBe('-j list counters table inet minicni-policy');
    await ctl.stop();
    // Without countDrops nothing is read.
    const off = new PolicyController({ nodeName: 'n1', caches, nft: k.nft });
    const before = k.calls.length;
    expect(await off.drops()).toBeUndefined();
    expect(k.calls).toHaveLength(before);
  });

  it('a failing counter read is logged and never blocks an apply', async () => {
    const caches = {
      pods: new MemoryCache<Pod>(),
      namespaces: new MemoryCache<Namespace>(),
      policies: new MemoryCache<NetworkPolicy>(),
    };
    const logs: string[] = [];
    let applies = 0;
    const ctl = new PolicyController({
      nodeName: 'n1',
      caches,
      countDrops: true,
      logger: (level, msg) => logs.push(`${level} ${msg}`),
      nft: async (args) => {
        if (args[0] === '-f') return void applies++;
        return 'not json';
      },
    });
    ctl.start();
    for (const c of [caches.pods, caches.namespaces, caches.policies]) c.sync();
    ctl.setNodeIps(['192.168.50.1']);
    await ctl.idle();
    expect(applies).toBe(1);
    expect(logs).toContain(
      'warn cannot read the policy drop counters before an apply; those drops are not carried',
    );
    expect(await ctl.drops()).toBeUndefined();
    expect(logs).toContain('warn cannot read the policy drop counters');
  });

  it('sync durations land in the histogram buckets; pending counts a pass in flight until it applied', async () => {
    const t = lab();
    t.syncAll();
    await t.ctl.idle();
    const release = t.hold();
    t.caches.policies.set('x/deny', denyAll('x'));
    await new Promise((r) => setTimeout(r, 60)); // inside nft, held
    expect(t.ctl.status.pending).toBe(1);
    release();
    await t.ctl.idle();
    const s = t.ctl.status;
    expect(s.pending).toBe(0);
    expect(s.syncs).toBe(2);
    expect(s.syncBuckets.reduce((a, b) => a + b, 0)).toBe(2);
    // The held pass took at least 60 ms: not in the buckets up to 50 ms.
    expect(s.syncBuckets.slice(0, 4).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1);
  });
});

const isolateDb = networkPolicyFromK8s({
  kind: 'NetworkPolicy',
  metadata: { namespace: 'x', name: 'db' },
  spec: { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] },
});

/**
 * The elements one set or map of the table holds after `texts` (whole tables and deltas, in
 * order): what the kernel would list.
 */
function elements(texts: readonly string[], name: string): string {
  let held = new Set<string>();
  for (const text of texts) {
    if (text.includes('delete table')) held = new Set();
    const lists = [
      ...text.matchAll(
        new RegExp(
          `(?:(?:set|map) ${name} \\{[^}]*elements = |(add|delete) element \\S+ \\S+ ${name} )\\{ ([^}]*) \\}`,
          'g',
        ),
      ),
    ];
    for (const m of lists)
      for (const e of m[2]!.split(', ')) {
        if (m[1] === 'delete') for (const h of held) if (h === e || h.startsWith(`${e} : `)) held.delete(h);
        if (m[1] !== 'delete') held.add(e);
      }
  }
  return [...held].join(', ');
}

describe('PolicyController: pods handed over at ADD', () => {
  it('answers only once a ruleset with the pod is applied; labels from one GET when the cache lacks the pod', async () => {
    const gets: string[] = [];
    const t = lab({
      getPod: async (ns, name) => {
        gets.push(`${ns}/${name}`);
        return makePod({ namespace: ns, name, node: 'n1', ips: [], labels: { app: 'db' } });
      },
    });
    t.caches.policies.set('x/db', isolateDb);
    t.syncAll();
    t.ctl.setPodCidrs(['10.244.1.0/24']);
    await t.ctl.idle();
    expect(elements(t.applied, 'pods4')).not.toContain('10.244.1.50');
    const release = t.hold();
    let answered = false;
    const p = t.ctl
      .announce({ namespace: 'x', name: 'db-0', ips: ['10.244.1.50'] })
      .then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(answered).toBe(false); // nft is held: nothing applied yet, no answer
    release();
    await p;
    expect(gets).toEqual(['x/db-0']);
    expect(elements(t.applied, 'pods4')).toContain('10.244.1.50');
    expect(elements(t.applied, 'ingress4')).toContain('10.244.1.50 : jump'); // selected by x/db via its labels
    expect(t.applied.join('\n')).toContain(
      'set podnet4 { type ipv4_addr; flags interval; elements = { 10.244.1.0/24 } }',
    );
  });

  it('stands in for status.podIPs until the cache shows them, and leaves with the pod', async () => {
    const t = lab({ getPod: async () => expect.unreachable('the cache holds the pod') });
    t.caches.policies.set('x/db', isolateDb);
    const lagging = podFromK8s(
      makePod({ namespace: 'x', name: 'db-1', node: 'n1', ips: [], labels: { app: 'db' } }),
    );
    t.caches.pods.set('x/db-1', lagging);
    // A deleted pod the cache still lists with the address the plugin just gave again.
    t.caches.pods.set('x/p0', { ...t.caches.pods.items.get('x/p0')!, ips: ['10.244.1.51'] });
    t.syncAll();
    await t.ctl.announce({ namespace: 'x', name: 'db-1', ips: ['10.244.1.51'] });
    expect(elements(t.applied, 'ingress4')).toContain('10.244.1.51 : jump');
    // The API catches up: the cache's own record now says the same.
    t.caches.pods.items.delete('x/p0');
    t.caches.pods.set('x/db-1', { ...lagging, ips: ['10.244.1.51'] });
    await t.ctl.idle();
    expect(elements(t.applied, 'ingress4')).toContain('10.244.1.51 : jump');
    // Deleted from the API: gone from the ruleset, no announcement lingering.
    t.caches.pods.items.delete('x/db-1');
    t.ctl.changed();
    await t.ctl.idle();
    expect(elements(t.applied, 'ingress4')).not.toContain('10.244.1.51');
  });

  it('a pod the API does not have is known without labels; an API failure refuses the hand-off', async () => {
    let fail = false;
    const t = lab({
      getPod: async () => {
        if (fail) throw new AgentError('API_REQUEST', 'GET: connect ECONNREFUSED');
        return undefined;
      },
    });
    t.caches.policies.set('x/db', isolateDb);
    t.syncAll();
    t.ctl.setPodCidrs(['10.244.1.0/24']);
    await t.ctl.announce({ namespace: 'x', name: 'static', ips: ['10.244.1.52'] });
    expect(elements(t.applied, 'pods4')).toContain('10.244.1.52');
    expect(elements(t.applied, 'ingress4')).not.toContain('10.244.1.52'); // no app=db label
    fail = true;
    await expect(
      t.ctl.announce({ namespace: 'x', name: 'other', ips: ['10.244.1.53'] }),
    ).rejects.toMatchObject({
      code: 'POLICY',
      message: expect.stringMatching(/x\/other: GET: connect ECONNREFUSED/),
    });
    await t.ctl.idle();
    expect(elements(t.applied, 'pods4')).not.toContain('10.244.1.53'); // still unknown: dropped
  });

  it('waits for the first full picture, expires, and rejects waiters when stopped', async () => {
    const t = lab({ getPod: async () => undefined, ttlMs: 100 });
    t.ctl.setPodCidrs(['10.244.1.0/24']);
    let answered = false;
    const p = t.ctl
      .announce({ namespace: 'x', name: 'early', ips: ['10.244.1.54'] })
      .then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(answered).toBe(false);
    t.syncAll();
    await p;
    expect(elements(t.applied, 'pods4')).toContain('10.244.1.54');
    // Never seen in the API within the TTL: the stand-in goes, the address is unknown again.
    await new Promise((r) => setTimeout(r, 150));
    await t.ctl.idle();
    expect(elements(t.applied, 'pods4')).not.toContain('10.244.1.54');

    const release = t.hold();
    const pending = t.ctl.announce({ namespace: 'x', name: 'late', ips: ['10.244.1.55'] });
    const stopped = t.ctl.stop();
    await expect(pending).rejects.toMatchObject({ code: 'POLICY', message: /stopping/ });
    release();
    await stopped;
    await expect(t.ctl.announce({ namespace: 'x', name: 'after', ips: ['10.244.1.56'] })).rejects.toThrow(
      /stopping/,
    );
  });
});

describe('PolicyController: incremental applies', () => {
  it('sends only what changed after the first full ruleset, and the whole table again every fullEveryMs', async () => {
    let now = 1_000_000;
    const caches = {
      pods: new MemoryCache<Pod>(),
      namespaces: new MemoryCache<Namespace>(),
      policies: new MemoryCache<NetworkPolicy>(),
    };
    const applied: string[] = [];
    const ctl = new PolicyController({
      nodeName: 'n1',
      caches,
      nft: async (_a, stdin) => void applied.push(stdin!),
      fullEveryMs: 60_000,
      now: () => now,
    });
    ctl.start();
    caches.namespaces.set('x', namespaceFromK8s({ metadata: { name: 'x' } }));
    for (let i = 0; i < 3; i++)
      caches.pods.set(
        `x/p${i}`,
        podFromK8s(makePod({ namespace: 'x', name: `p${i}`, node: 'n1', ips: [`10.244.1.${10 + i}`] })),
      );
    for (const c of Object.values(caches)) c.sync();
    ctl.setNodeIps(['192.168.50.1']);
    await ctl.idle();
    expect(applied).toHaveLength(1);
    expect(ctl.status).toMatchObject({ applies: 1, fullApplies: 1 });

    caches.policies.set('x/deny', denyAll('x'));
    await ctl.idle();
    expect(applied).toHaveLength(2);
    const delta = applied[1]!;
    // A delta: no table swap, the new profile chain, and the three pods pointed at it.
    expect(delta).not.toMatch(/delete table/);
    const chain = /chain (i-[0-9a-f]{16}) \{/.exec(delta)?.[1];
    expect(chain).toBeDefined();
    expect(delta).toContain(
      `add element inet minicni-policy ingress4 { 10.244.1.10 : jump ${chain}, 10.244.1.11 : jump ${chain}, 10.244.1.12 : jump ${chain} }`,
    );
    expect(delta).toContain('add element inet minicni-policy self4 {');

    // A label change that does not alter what the pod's profile holds applies nothing.
    caches.pods.set(
      'x/p1',
      podFromK8s(
        makePod({ namespace: 'x', name: 'p1', node: 'n1', ips: ['10.244.1.11'], labels: { app: 'z' } }),
      ),
    );
    await ctl.idle();
    expect(applied).toHaveLength(2);

    caches.policies.items.delete('x/deny');
    ctl.changed();
    await ctl.idle();
    expect(applied[2]).toContain(`delete chain inet minicni-policy ${chain}`);
    expect(applied[2]).toMatch(/delete element inet minicni-policy ingress4 \{ 10\.244\.1\.10, /);
    expect(ctl.status).toMatchObject({ applies: 3, fullApplies: 1 });

    now += 60_000;
    caches.policies.set('x/deny', denyAll('x'));
    await ctl.idle();
    expect(applied[3]).toMatch(/^table inet minicni-policy\ndelete table inet minicni-policy\n/m);
    expect(ctl.status).toMatchObject({ applies: 4, fullApplies: 2 });
  });
});

describe('PolicyController: the whole table again without any change', () => {
  it('a timer wakes the worker every fullEveryMs to replace the table whole', async () => {
    const t = lab();
    const applied: string[] = t.applied;
    t.syncAll();
    await t.ctl.idle();
    expect(applied).toHaveLength(1);
    const ctl = new PolicyController({
      nodeName: 'n1',
      caches: t.caches,
      nft: async (_a, stdin) => void applied.push(stdin!),
      fullEveryMs: 40,
    });
    ctl.start();
    ctl.setNodeIps(['192.168.50.1']);
    await ctl.idle();
    const first = applied.length;
    // Nothing changes; the timer alone brings the next whole table.
    await new Promise((r) => setTimeout(r, 150));
    await ctl.idle();
    await ctl.stop();
    expect(applied.length).toBeGreaterThan(first);
    expect(applied.at(-1)).toMatch(/^table inet minicni-policy\ndelete table inet minicni-policy\n/m);
    expect(ctl.status.fullApplies).toBe(ctl.status.applies);
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
