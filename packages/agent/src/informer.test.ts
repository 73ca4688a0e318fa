import { afterEach, describe, expect, it } from 'vitest';
import { FakeKubeApi } from '@minicni/testkit/k8s-fake-api';
import { Backoff } from './backoff.js';
import { Informer, objectKeyOf } from './informer.js';
import { KubeClient } from './kube-client.js';

const fastBackoff = () => new Backoff({ baseMs: 10, maxMs: 50, random: () => 0.5 });

async function until(cond: () => boolean, what: () => string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A pod's labels as the cached value: enough to see every change arrive. */
type Labels = Record<string, string>;
const labelsOf = (raw: unknown) => (raw as { metadata: { labels?: Labels } }).metadata.labels ?? {};

describe('Informer against the API stand-in', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function setup(path = '/api/v1/pods') {
    const api = await FakeKubeApi.start();
    cleanup.push(() => api.close());
    api.addPod({ namespace: 'x', name: 'a', labels: { v: '1' } });
    api.addPod({ namespace: 'y', name: 'a', labels: { v: '1' } });
    const logs: string[] = [];
    const inf = new Informer<Labels>(new KubeClient({ server: api.url }), {
      path,
      convert: labelsOf,
      same: (a, b) => JSON.stringify(a) === JSON.stringify(b),
      backoff: fastBackoff(),
      logger: (_l, msg, f) => logs.push(`${msg} ${JSON.stringify(f)}`),
    });
    let calls = 0;
    inf.start(() => calls++);
    cleanup.push(() => inf.stop());
    const state = () => JSON.stringify({ items: [...inf.items], stats: inf.stats, logs });
    await until(() => inf.synced && api.watchesOf('pods') === 1, state);
    return { api, inf, calls: () => calls, state };
  }

  it('keys namespaced objects by namespace/name and calls the handler only on real changes', async () => {
    const t = await setup();
    expect([...t.inf.items.keys()].sort()).toEqual(['x/a', 'y/a']);
    expect(t.calls()).toBe(1); // the first list
    t.api.addPod({ namespace: 'x', name: 'a', labels: { v: '1' } }); // MODIFIED, same value
    t.api.addPod({ namespace: 'x', name: 'a', labels: { v: '2' } });
    await until(() => t.inf.items.get('x/a')?.v === '2', t.state);
    expect(t.calls()).toBe(2);
    t.api.delete('pods', 'y/a');
    await until(() => !t.inf.items.has('y/a'), t.state);
    expect(t.calls()).toBe(3);
    expect(objectKeyOf({ metadata: { name: 'n1' } })).toBe('n1');
    expect(objectKeyOf({})).toBeUndefined();
  });

  it('resumes a broken watch from the last bookmark, missing nothing and relisting nothing', async () => {
    const t = await setup();
    // Other resources move the shared resourceVersion; a bookmark carries it to this watch.
    t.api.addNode({ name: 'n1' });
    t.api.addNamespace('z');
    t.api.bookmark();
    const bookmarked = t.api.resourceVersion;
    await new Promise((r) => setTimeout(r, 50));
    t.api.breakWatches();
    t.api.addPod({ namespace: 'z', name: 'b' });
    await until(() => t.inf.items.has('z/b'), t.state);
    const watches = t.api.requests.filter((r) => r.startsWith('/api/v1/pods?watch=1'));
    expect(watches).toHaveLength(2);
    expect(new URL(watches[1]!, 'http://x').searchParams.get('resourceVersion')).toBe(bookmarked);
    expect(t.inf.stats).toMatchObject({ lists: 1, gone: 0 });
    expect(t.inf.stats.failures).toBeGreaterThanOrEqual(1);
  });

  it('relists on 410 Gone: changes missed while the history was compacted still land', async () => {
    const t = await setup();
    t.api.breakWatches();
    t.api.delete('pods', 'x/a');
    t.api.addPod({ namespace: 'x', name: 'c' });
    t.api.compact();
    await until(
      () => t.inf.stats.gone === 1 && t.inf.stats.lists === 2 && t.api.watchesOf('pods') === 1,
      t.state,
    );
    expect([...t.inf.items.keys()].sort()).toEqual(['x/c', 'y/a']);
  });

  it('watches one namespace when given its path, and a convert that returns undefined drops the key', async () => {
    const api = await FakeKubeApi.start();
    cleanup.push(() => api.close());
    api.addPod({ namespace: 'x', name: 'a', labels: { keep: 'yes' } });
    api.addPod({ namespace: 'y', name: 'b', labels: { keep: 'yes' } });
    const inf = new Informer<Labels>(new KubeClient({ server: api.url }), {
      path: '/api/v1/namespaces/x/pods',
      convert: (raw, before) => (labelsOf(raw).keep === 'yes' ? labelsOf(raw) : before && undefined),
      backoff: fastBackoff(),
    });
    inf.start(() => {});
    cleanup.push(() => inf.stop());
    await until(
      () => inf.synced && api.watchesOf('pods') === 1,
      () => 'sync',
    );
    expect([...inf.items.keys()]).toEqual(['x/a']);
    api.addPod({ namespace: 'y', name: 'c', labels: { keep: 'yes' } });
    api.addPod({ namespace: 'x', name: 'a', labels: { keep: 'no' } });
    await until(
      () => inf.items.size === 0,
      () => JSON.stringify([...inf.items]),
    );
    expect(() => inf.start(() => {})).toThrow(/already started/);
  });
});

describe('Informer lists in pages', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function withPods(n: number) {
    const api = await FakeKubeApi.start();
    cleanup.push(() => api.close());
    for (let i = 0; i < n; i++)
      api.addPod({ namespace: `ns-${i % 3}`, name: `p${i}`, labels: { i: `${i}` } });
    return api;
  }

  /** An informer of pods' labels listing `path` in pages of `pageSize`, started (stopped after the test). */
  function started(client: KubeClient, path: string, pageSize: number): Informer<Labels> {
    const inf = new Informer<Labels>(client, { path, convert: labelsOf, pageSize, backoff: fastBackoff() });
    inf.start(() => {});
    cleanup.push(() => inf.stop());
    return inf;
  }

  /** Until `inf` listed everything and watches (once). */
  const listedAndWatching = (api: FakeKubeApi, inf: Informer<Labels>) =>
    until(
      () => inf.synced && api.watchesOf('pods') === 1,
      () => JSON.stringify(inf.stats),
    );

  it('fetches limit objects per request and follows continue until the last page', async () => {
    const api = await withPods(23);
    const inf = started(new KubeClient({ server: api.url }), '/api/v1/pods', 5);
    await listedAndWatching(api, inf);
    expect(inf.items.size).toBe(23);
    expect(inf.items.get('ns-2/p5')).toEqual({ i: '5' });
    const lists = api.requests.filter((r) => r.startsWith('/api/v1/pods?limit='));
    expect(lists).toHaveLength(5); // 5 + 5 + 5 + 5 + 3
    expect(lists[0]).toBe('/api/v1/pods?limit=5');
    expect(lists.slice(1).every((r) => /&continue=[\w-]+/.test(r))).toBe(true);
    expect(inf.stats).toMatchObject({ lists: 1, pages: 5, gone: 0 });
    // The watch starts from the list's resourceVersion.
    const watch = api.requests.find((r) => r.includes('watch=1'))!;
    expect(new URL(watch, 'http://x').searchParams.get('resourceVersion')).toBe(api.resourceVersion);
  });

  it('pages one namespace, and pageSize 0 lists in one request', async () => {
    const api = await withPods(10);
    const paged = started(new KubeClient({ server: api.url }), '/api/v1/namespaces/ns-1/pods', 2);
    const whole = started(new KubeClient({ server: api.url }), '/api/v1/pods', 0);
    await until(
      () => paged.synced && whole.synced,
      () => JSON.stringify([paged.stats, whole.stats]),
    );
    expect([...paged.items.keys()].sort()).toEqual(['ns-1/p1', 'ns-1/p4', 'ns-1/p7']);
    expect(paged.stats.pages).toBe(2);
    expect(whole.items.size).toBe(10);
    expect(whole.stats.pages).toBe(1);
    expect(api.requests).toContain('/api/v1/pods');
  });

  it('starts the list over when its continue token expired (410), missing nothing', async () => {
    const api = await withPods(12);
    const client = new KubeClient({ server: api.url });
    // The server compacts its history between the first and the second page.
    let compacted = false;
    const getList = client.getList.bind(client);
    client.getList = async <T>(
      path: string,
      onItem: (i: unknown) => void,
      signal?: AbortSignal,
    ): Promise<T> => {
      const page = await getList<T>(path, onItem, signal);
      if (!compacted && path.includes('limit=')) {
        compacted = true;
        api.delete('pods', 'ns-0/p0');
        api.addPod({ namespace: 'ns-9', name: 'late' });
        api.compact();
      }
      return page;
    };
    const inf = started(client, '/api/v1/pods', 4);
    await listedAndWatching(api, inf);
    expect(api.expiredContinues).toBe(1);
    expect(inf.stats).toMatchObject({ lists: 1, gone: 1 });
    expect(inf.items.has('ns-0/p0')).toBe(false);
    expect(inf.items.has('ns-9/late')).toBe(true);
    expect(inf.items.size).toBe(12);
  });
});

describe('FakeKubeApi paging', () => {
  it('answers a bad continue token with 400 and keeps keys in order across pages', async () => {
    await using api = await FakeKubeApi.start();
    for (const n of ['c', 'a', 'b']) api.addNamespace(n);
    const client = new KubeClient({ server: api.url });
    type L = { metadata: { continue?: string }; items: { metadata: { name: string } }[] };
    const p1 = await client.getJson<L>('/api/v1/namespaces?limit=2');
    expect(p1.items.map((i) => i.metadata.name)).toEqual(['a', 'b']);
    const p2 = await client.getJson<L>(`/api/v1/namespaces?limit=2&continue=${p1.metadata.continue}`);
    expect(p2.items.map((i) => i.metadata.name)).toEqual(['c']);
    expect(p2.metadata.continue).toBeUndefined();
    await expect(client.getJson('/api/v1/namespaces?limit=2&continue=bogus')).rejects.toThrow(/HTTP 400/);
  });
});
