import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { HealthServer, parseListen } from './health-server.js';
import { ipamUsage } from './ipam-usage.js';
import { renderMetrics } from './metrics.js';
import type { ReconcileStatus } from './reconciler.js';

const status: ReconcileStatus = {
  selfKnown: true,
  peers: 3,
  paths: [
    { node: 'b', podCIDR: '10.244.2.0/24', kind: 'host-gw' },
    { node: 'c', podCIDR: '10.244.3.0/24', kind: 'vxlan' },
    { node: 'c', podCIDR: 'fd00:3::/64', kind: 'vxlan' },
    { node: 'd', podCIDR: '10.244.4.0/24', kind: 'unreachable' },
  ],
  routes: 3,
  vxlan: true,
  lastSyncMs: 1_700_000_000_500,
  passes: 12,
  opsApplied: 9,
  opErrors: 1,
  lastOps: [],
};

describe('metrics', () => {
  it('renders the NetworkPolicy controller: pending changes, applies, failures, sync time, per informer', () => {
    const stats = (n: number) => ({ lists: n, pages: 10 * n, watches: n + 1, gone: 0, failures: n });
    const text = renderMetrics({
      status,
      ready: true,
      ipam: [],
      policy: {
        synced: true,
        pending: 2,
        policies: 7,
        applies: 5,
        fullApplies: 2,
        applyFailures: 1,
        syncs: 4,
        syncSecondsTotal: 0.0425,
        lastSyncSeconds: 0.012,
        syncBuckets: [0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        informers: { pods: stats(1), namespaces: stats(2), policies: stats(3) },
        syncedResourceVersions: { pods: '812', namespaces: 'not-a-number', policies: '815' },
      },
      policyDrops: { ingress: { packets: 7, bytes: 420 }, egress: { packets: 2, bytes: 120 } },
      process: { rssBytes: 1, cpuSeconds: 0, startTimeSeconds: 0 },
    });
    const lines = text.split('\n');
    expect(text).not.toContain('resource="namespaces"} not-a-number');
    expect(text).not.toMatch(/synced_resource_version\{resource="namespaces"\}/);
    for (const want of [
      'minicni_agent_policy_synced 1',
      'minicni_agent_policy_pending_changes 2',
      'minicni_agent_policy_networkpolicies 7',
      'minicni_agent_policy_applies_total 5',
      'minicni_agent_policy_full_applies_total 2',
      'minicni_agent_policy_applies_failed_total 1',
      'minicni_agent_policy_syncs_total 4',
      'minicni_agent_policy_sync_seconds_total 0.043',
      'minicni_agent_policy_last_sync_duration_seconds 0.012',
      'minicni_agent_policy_lists_total{resource="namespaces"} 2',
      'minicni_agent_policy_list_pages_total{resource="policies"} 30',
      'minicni_agent_policy_synced_resource_version{resource="pods"} 812',
      'minicni_agent_policy_synced_resource_version{resource="policies"} 815',
      '# TYPE minicni_agent_policy_synced_resource_version gauge',
      'minicni_agent_policy_watches_total{resource="policies"} 4',
      'minicni_agent_policy_watch_failures_total{resource="pods"} 1',
      '# TYPE minicni_agent_policy_sync_duration_seconds histogram',
      'minicni_agent_policy_sync_duration_seconds_bucket{le="0.005"} 0',
      'minicni_agent_policy_sync_duration_seconds_bucket{le="0.01"} 1',
      'minicni_agent_policy_sync_duration_seconds_bucket{le="0.025"} 3',
      'minicni_agent_policy_sync_duration_seconds_bucket{le="10"} 3',
      'minicni_agent_policy_sync_duration_seconds_bucket{le="+Inf"} 4',
      'minicni_agent_policy_sync_duration_seconds_sum 0.0425',
      'minicni_agent_policy_sync_duration_seconds_count 4',
      '# TYPE minicni_agent_policy_dropped_packets_total counter',
      'minicni_agent_policy_dropped_packets_total{direction="ingress"} 7',
      'minicni_agent_policy_dropped_packets_total{direction="egress"} 2',
      'minicni_agent_policy_dropped_bytes_total{direction="ingress"} 420',
      'minicni_agent_policy_dropped_bytes_total{direction="egress"} 120',
      '# TYPE minicni_agent_policy_pending_changes gauge',
      '# TYPE minicni_agent_policy_applies_total counter',
    ]) {
      expect(lines).toContain(want);
    }
    // Prometheus text conventions: every metric has HELP then TYPE once, its samples follow,
    // histogram buckets are cumulative and end with +Inf equal to _count.
    const families = lines.filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]!);
    expect(new Set(families).size).toBe(families.length);
    for (const [i, l] of lines.entries()) {
      if (l.startsWith('# TYPE ')) expect(lines[i - 1]).toMatch(new RegExp(`^# HELP ${l.split(' ')[2]} \\S`));
      if (l && !l.startsWith('#')) {
        const name = l.split(/[{ ]/)[0]!;
        const family = families.find((f) => name === f || name.replace(/_(bucket|sum|count)$/, '') === f);
        expect(family, l).toBeDefined();
        expect(l).toMatch(/^[a-z_]+(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? [0-9.e+-]+$/);
      }
    }
    const buckets = lines
      .filter((l) => l.startsWith('minicni_agent_policy_sync_duration_seconds_bucket'))
      .map((l) => Number(l.split(' ')[1]));
    expect(buckets).toHaveLength(12);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(
      renderMetrics({
        status,
        ready: true,
        ipam: [],
        process: { rssBytes: 1, cpuSeconds: 0, startTimeSeconds: 0 },
      }),
    ).not.toContain('minicni_agent_policy');
  });

  it('renders peers by path, routes, counters and IPAM use in the Prometheus text format', () => {
    const text = renderMetrics({
      status,
      ready: true,
      ipam: [{ network: 'minicni', range: '10.244.1.0/24', allocated: 4, capacity: 253 }],
      source: { lists: 1, watches: 3, gone: 1, failures: 2 },
      process: { rssBytes: 50_000_000, cpuSeconds: 1.25, startTimeSeconds: 1_700_000_000 },
    });
    const lines = text.split('\n');
    for (const want of [
      'minicni_agent_ready 1',
      'minicni_agent_peers{path="host-gw"} 1',
      'minicni_agent_peers{path="vxlan"} 1',
      'minicni_agent_peers{path="unreachable"} 1',
      'minicni_agent_routes 3',
      'minicni_agent_dataplane_errors_total 1',
      'minicni_agent_last_sync_timestamp_seconds 1700000000.500',
      'minicni_agent_node_watch_expired_total 1',
      'minicni_ipam_allocated_addresses{network="minicni",range="10.244.1.0/24"} 4',
      'minicni_ipam_capacity_addresses{network="minicni",range="10.244.1.0/24"} 253',
      'process_resident_memory_bytes 50000000',
      '# TYPE minicni_agent_reconcile_passes_total counter',
    ]) {
      expect(lines).toContain(want);
    }
    // Every sample line is `name{labels} value` and every metric has HELP and TYPE.
    for (const l of lines.filter((x) => x && !x.startsWith('#')))
      expect(l).toMatch(/^[a-z_]+(\{[^}]*\})? [0-9.]+$/);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('counts host-local reservations per range and ignores other files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-ipam-'));
    mkdirSync(join(dir, 'minicni'));
    for (const f of ['10.244.1.2', '10.244.1.3', '10.244.9.2', 'fd00:1::5', 'last_reserved_ip.0', 'lock']) {
      writeFileSync(join(dir, 'minicni', f), 'id\r\neth0');
    }
    writeFileSync(join(dir, 'stray-file'), '');
    expect(await ipamUsage(dir, ['10.244.1.0/24', 'fd00:1::/64'])).toEqual([
      { network: 'minicni', range: '10.244.1.0/24', allocated: 2, capacity: 253 },
      { network: 'minicni', range: 'fd00:1::/64', allocated: 1, capacity: 2 ** 52 - 2 },
    ]);
    expect(await ipamUsage(join(dir, 'missing'), ['10.244.1.0/24'])).toEqual([]);
  });
});

describe('HealthServer', () => {
  const get = (addr: string, path: string) =>
    new Promise<{ status: number; body: string; type: string }>((resolve, reject) => {
      const { host, port } = parseListen(addr);
      request({ host, port, path }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }),
        );
      })
        .on('error', reject)
        .end();
    });

  it('answers /healthz, /readyz and /metrics on loopback', async () => {
    let ready = false;
    const s = await HealthServer.listen('127.0.0.1:0', {
      healthy: () => ({ ok: true, detail: 'ok' }),
      ready: () => ({ ok: ready, detail: ready ? 'ready' : 'not ready' }),
      metrics: async () => 'm 1\n',
    });
    try {
      expect(s.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await get(s.address, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
      expect((await get(s.address, '/readyz')).status).toBe(503);
      ready = true;
      expect((await get(s.address, '/readyz')).status).toBe(200);
      const m = await get(s.address, '/metrics');
      expect(m).toMatchObject({ status: 200, body: 'm 1\n' });
      expect(m.type).toMatch(/version=0\.0\.4/);
      expect((await get(s.address, '/other')).status).toBe(404);
    } finally {
      await s.close();
    }
  });

  it('parses listen addresses and rejects bad ones', () => {
    expect(parseListen('127.0.0.1:9153')).toEqual({ host: '127.0.0.1', port: 9153 });
    expect(parseListen('[::1]:9153')).toEqual({ host: '::1', port: 9153 });
    expect(parseListen(':9153')).toEqual({ host: '127.0.0.1', port: 9153 });
    expect(() => parseListen('9153')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
