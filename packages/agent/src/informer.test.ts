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
