import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubeApi, selfSignedTls, type NodeSpecInput } from '@minicni/testkit/k8s-fake-api';
import { Backoff } from './backoff.js';
import { flagCredentials, inClusterCredentials, KubeClient } from './kube-client.js';
import { getKubeNode, KubeNodeSource } from './kube-node-source.js';
import type { NodeInfo } from './node-info.js';
import { isAgentError } from './errors.js';

const fastBackoff = () => new Backoff({ baseMs: 10, maxMs: 50, random: () => 0.5 });

async function until(cond: () => boolean, what: string | (() => string), ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('KubeNodeSource against the fake API server', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function setup(opts: { resyncMs?: number; seed?: NodeSpecInput[] } = {}) {
    const api = await FakeKubeApi.start({ token: 'secret-token' });
    cleanup.push(() => api.close());
    for (const n of opts.seed ?? []) api.addNode(n);
    const dir = mkdtempSync(join(tmpdir(), 'agent-kube-'));
    writeFileSync(join(dir, 'token'), 'secret-token\n');
    const client = new KubeClient(flagCredentials({ server: api.url, tokenFile: join(dir, 'token') }));
    const logs: string[] = [];
    const source = new KubeNodeSource(client, {
      backoff: fastBackoff(),
      logger: (_l, msg, f) => logs.push(`${msg} ${JSON.stringify(f)}`),
      ...(opts.resyncMs ? { resyncMs: opts.resyncMs } : {}),
    });
    let latest: ReadonlyMap<string, NodeInfo> = new Map();
    let updates = 0;
    source.start((nodes) => {
      latest = nodes;
      updates++;
    });
    cleanup.push(() => source.stop());
    return { api, client, source, logs, nodes: () => latest, updates: () => updates };
  }

  it('lists, then follows ADDED/MODIFIED/DELETED from the list resourceVersion', async () => {
    const t = await setup({
      seed: [{ name: 'a', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] }],
    });
    const listRv = t.api.resourceVersion;
    await until(() => t.nodes().has('a') && t.api.activeWatches === 1, 'node a, then a watch');
    expect(t.nodes().get('a')).toEqual({
      name: 'a',
      internalIPs: ['192.168.50.1'],
      podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'],
    });
    t.api.addNode({
      name: 'b',
      internalIPs: ['192.168.50.2'],
      podCIDRs: ['10.244.2.0/24'],
      legacyPodCIDR: true,
    });
    await until(() => t.nodes().has('b'), 'node b via watch');
    expect(t.nodes().get('b')?.podCIDRs).toEqual(['10.244.2.0/24']);
    t.api.updateNode({ name: 'b', internalIPs: ['192.168.50.22'], podCIDRs: ['10.244.2.0/24'] });
    await until(() => t.nodes().get('b')?.internalIPs[0] === '192.168.50.22', 'node b modified');
    t.api.deleteNode('a');
    await until(() => !t.nodes().has('a'), 'node a deleted');
    const watch = t.api.requests.find((r) => r.includes('watch=1'))!;
    expect(watch).toContain('allowWatchBookmarks=true');
    // The watch starts exactly where the list ended, so no event between them is lost.
    expect(t.api.requests[0]).toBe('/api/v1/nodes?limit=500');
    expect(new URL(watch, 'http://x').searchParams.get('resourceVersion')).toBe(listRv);
    expect(t.source.stats.lists).toBe(1);
  });

  it('resumes a watch broken mid-line from the last resourceVersion (bookmark included), without a relist', async () => {
    const t = await setup();
    t.api.addNode({ name: 'a', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'] });
    await until(() => t.nodes().has('a') && t.api.activeWatches === 1, 'watching');
    t.api.silentlyDeleteNode('a');
    t.api.addNode({ name: 'c', internalIPs: ['192.168.50.3'], podCIDRs: ['10.244.3.0/24'] });
    await until(() => t.nodes().has('c'), 'node c');
    t.api.bookmark();
    const bookmarkRv = t.api.resourceVersion;
    await new Promise((r) => setTimeout(r, 50));
    t.api.breakWatches();
    await until(() => t.api.activeWatches === 1 && t.source.stats.watches >= 2, 'rewatch');
    const last = t.api.requests.filter((r) => r.includes('watch=1')).at(-1)!;
    expect(new URL(last, 'http://x').searchParams.get('resourceVersion')).toBe(bookmarkRv);
    expect(t.source.stats.failures).toBeGreaterThanOrEqual(1);
    expect(t.source.stats.lists).toBe(1);
    // The silent delete was missed by the watch and is still believed (only a relist repairs it).
    expect(t.nodes().has('a')).toBe(true);
    t.api.addNode({ name: 'd', internalIPs: ['192.168.50.4'], podCIDRs: ['10.244.4.0/24'] });
    await until(() => t.nodes().has('d'), 'node d after the reconnect');
  });

  it('relists on a 410 Gone ERROR event and so repairs what the watch missed', async () => {
    const t = await setup();
    t.api.addNode({ name: 'a', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'] });
    t.api.addNode({ name: 'b', internalIPs: ['192.168.50.2'], podCIDRs: ['10.244.2.0/24'] });
    await until(() => t.nodes().size === 2 && t.api.activeWatches === 1, 'two nodes');
    t.api.silentlyDeleteNode('b');
    t.api.compact();
    t.api.breakWatches();
    await until(
      () => t.source.stats.gone === 1,
      () => `410 seen ${JSON.stringify(t.source.stats)} ${t.logs.slice(0, 3).join(' | ')}`,
    );
    await until(() => t.source.stats.lists === 2 && !t.nodes().has('b'), 'relist without b');
    expect([...t.nodes().keys()]).toEqual(['a']);
  });

  it('relists every resync period', async () => {
    const t = await setup({ resyncMs: 150 });
    t.api.addNode({ name: 'a', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'] });
    await until(() => t.nodes().has('a'), 'node a');
    t.api.silentlyDeleteNode('a');
    await until(() => !t.nodes().has('a'), 'resync repairs the missed delete', 2000);
    expect(t.source.stats.lists).toBeGreaterThanOrEqual(2);
  });

  it('backs off when watches are closed at once without events, instead of spinning', async () => {
    const t = await setup();
    t.api.closeWatchesAtOnce = true;
    await until(() => t.source.stats.lists === 1, 'first list');
    const before = t.source.stats.watches;
    await new Promise((r) => setTimeout(r, 300));
    // Backoff here is 10-50 ms: a busy loop would open hundreds of watches in 300 ms.
    expect(t.source.stats.watches - before).toBeLessThan(40);
    t.api.closeWatchesAtOnce = false;
    t.api.addNode({ name: 'a', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'] });
    await until(() => t.nodes().has('a'), 'node a once watches work again');
  });

  it('skips a node with a malformed pod CIDR but keeps the others', async () => {
    const t = await setup();
    t.api.addNode({ name: 'bad', internalIPs: ['192.168.50.9'], podCIDRs: ['10.244.9.1/24'] });
    t.api.addNode({ name: 'good', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'] });
    await until(() => t.nodes().has('good'), 'good node');
    expect(t.nodes().has('bad')).toBe(false);
  });

  it('backs off and retries while the server is unreachable', async () => {
    const api = await FakeKubeApi.start();
    const url = api.url;
    await api.close();
    const source = new KubeNodeSource(new KubeClient(flagCredentials({ server: url })), {
      backoff: fastBackoff(),
    });
    source.start(() => {});
    await until(() => source.stats.failures >= 3, 'three failed attempts');
    await source.stop();
  });

  it('gets one node for the installer, and says clearly when it is missing or the token is wrong', async () => {
    const t = await setup();
    t.api.addNode({ name: 'n1', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'] });
    expect((await getKubeNode(t.client, 'n1')).podCIDRs).toEqual(['10.244.1.0/24', 'fd00:1::/64']);
    await expect(getKubeNode(t.client, 'nope')).rejects.toMatchObject({ code: 'NODE_NOT_FOUND' });
    const bad = new KubeClient({ server: t.api.url, token: () => 'wrong' });
    const err = await getKubeNode(bad, 'n1').catch((e: unknown) => e);
    expect(isAgentError(err, 'API_REQUEST')).toBe(true);
    expect((err as Error).message).toMatch(/401.*ClusterRole/);
  });
});

describe('credentials', () => {
  it('reads in-cluster credentials from the service account directory and the environment', () => {
    const files: Record<string, string> = { '/sa/token': 'tok1\n', '/sa/ca.crt': 'PEM' };
    const read = (p: string) => {
      if (!(p in files)) throw new Error('ENOENT');
      return Buffer.from(files[p]!);
    };
    const creds = inClusterCredentials(
      { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      read,
      '/sa',
    );
    expect(creds.server).toBe('https://10.96.0.1:443');
    expect(creds.token?.()).toBe('tok1');
    files['/sa/token'] = 'tok2';
    expect(creds.token?.()).toBe('tok2');
    expect(creds.ca?.toString()).toBe('PEM');
    const v6 = inClusterCredentials(
      { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      read,
      '/sa',
    );
    expect(v6.server).toBe('https://[fd00::1]:443');
  });

  it('fails with CREDENTIALS outside a pod or with a bad server flag', () => {
    expect(() => inClusterCredentials({}, () => Buffer.from('x'))).toThrow(/--nodes-file/);
    expect(() => flagCredentials({ server: 'not a url' })).toThrow(
      expect.objectContaining({ code: 'CREDENTIALS' }),
    );
    expect(() => flagCredentials({ server: 'ftp://x' })).toThrow(/http/);
    expect(() => flagCredentials({ server: 'https://x', tokenFile: '/nonexistent/token' })).toThrow(
      expect.objectContaining({ code: 'CREDENTIALS' }),
    );
  });
});

describe('KubeClient over HTTPS', () => {
  it('verifies the API server against the given CA, and fails clearly without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-tls-'));
    const tls = selfSignedTls();
    await using api = await FakeKubeApi.start({
      token: 'tok',
      tls,
    });
    api.addNode({ name: 'n1', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'] });
    writeFileSync(join(dir, 'token'), 'tok');
    writeFileSync(join(dir, 'ca.pem'), tls.cert);
    const good = new KubeClient(
      flagCredentials({ server: api.url, tokenFile: join(dir, 'token'), caFile: join(dir, 'ca.pem') }),
    );
    expect((await getKubeNode(good, 'n1')).podCIDRs).toEqual(['10.244.1.0/24']);
    const noCa = new KubeClient(flagCredentials({ server: api.url, tokenFile: join(dir, 'token') }));
    await expect(getKubeNode(noCa, 'n1')).rejects.toMatchObject({
      code: 'API_REQUEST',
      message: expect.stringMatching(/self.signed|certificate/i),
    });
  });
});
