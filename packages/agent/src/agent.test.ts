import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubeApi } from '@minicni/testkit/k8s-fake-api';
import { Agent } from './agent.js';
import { Backoff } from './backoff.js';
import type { ActualState, Dataplane, DataplaneOp } from './dataplane.js';
import { KubeClient } from './kube-client.js';
import { KubeNodeSource } from './kube-node-source.js';

/** Records changes into an in-memory route table; every peer IP is on the same L2. */
function memoryDataplane() {
  const state: ActualState = { routes: [], neighbours: [], fdb: [] };
  const ops: DataplaneOp[] = [];
  const dp: Dataplane = {
    read: async () => structuredClone(state),
    apply: async (op) => {
      ops.push(op);
      if (op.op === 'replaceRoute')
        state.routes = [...state.routes.filter((r) => r.dst !== op.route.dst), op.route];
      if (op.op === 'delRoute') state.routes = state.routes.filter((r) => r.dst !== op.route.dst);
    },
    routesTo: async (ips) => new Map(ips.map((ip) => [ip, { dev: 'eth0' }])),
    addressMtu: async () => 1500,
  };
  return { dp, state, ops };
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('Agent with the Kubernetes node source', () => {
  it('routes to nodes as the API adds and deletes them, survives a broken watch, and becomes ready', async () => {
    await using api = await FakeKubeApi.start({ token: 't' });
    api.addNode({ name: 'me', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'] });
    const kube = new KubeNodeSource(new KubeClient({ server: api.url, token: () => 't' }), {
      backoff: new Backoff({ baseMs: 10, maxMs: 20 }),
    });
    const mem = memoryDataplane();
    const ready = join(mkdtempSync(join(tmpdir(), 'agent-')), 'ready');
    const agent = new Agent({
      nodeName: 'me',
      mode: 'host-gw',
      source: kube,
      dataplane: mem.dp,
      metricsAddress: '127.0.0.1:0',
      readyFile: ready,
      resyncMs: 100,
      sourceStats: () => kube.stats,
    });
    await agent.start();
    try {
      await until(() => agent.ready, 'ready');
      expect(JSON.parse(readFileSync(ready, 'utf8')).node).toBe('me');
      api.addNode({ name: 'peer', internalIPs: ['192.168.50.2'], podCIDRs: ['10.244.2.0/24'] });
      await until(() => mem.state.routes.length === 1, 'route to the new peer');
      expect(mem.state.routes[0]).toEqual({
        dst: '10.244.2.0/24',
        via: '192.168.50.2',
        dev: 'eth0',
        onlink: false,
      });
      api.breakWatches();
      api.addNode({ name: 'late', internalIPs: ['192.168.50.3'], podCIDRs: ['10.244.3.0/24'] });
      await until(() => mem.state.routes.length === 2, 'route to a node added while the watch was down');
      api.deleteNode('peer');
      await until(() => mem.state.routes.length === 1, 'route of the deleted node removed');
      expect(mem.state.routes[0]!.dst).toBe('10.244.3.0/24');
      const metrics = await agent.metrics();
      expect(metrics).toMatch(/^minicni_agent_routes 1$/m);
      expect(metrics).toMatch(/^minicni_agent_node_watches_total [2-9]/m);
    } finally {
      await agent.stop();
    }
    // Stopping leaves the readiness file (and the routes) in place.
    expect(existsSync(ready)).toBe(true);
  });
});
