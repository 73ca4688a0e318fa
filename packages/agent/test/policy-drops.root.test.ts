import { describe, expect, it } from 'vitest';
import { nodeNetns, podNetns } from '@minicni/testkit';
import { FakeKubeApi } from '@minicni/testkit/k8s-fake-api';
import {
  bridgeWithTwoPods,
  CLIENT_IP,
  connects,
  eventually,
  nftIn,
  policyAgent,
  SERVER_IP,
} from './policy-lab.js';

/** One sample of the agent's /metrics text. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no ${series} in\n${text}`);
  return Number(line.slice(series.length + 1));
}

const drops = (dir: 'ingress' | 'egress', what: 'packets' | 'bytes' = 'packets') =>
  `minicni_agent_policy_dropped_${what}_total{direction="${dir}"}`;

/**
 * The policy table's drop counters in /metrics, read from the kernel with `nft -j list counters`
 * in a node netns: a probe dropped by ingress counts there, by egress there, and the totals never
 * go down when a new ruleset replaces the table (and its counters).
 */
describe('policy drop counters', () => {
  it('a dropped packet increments the counter of the direction that dropped it', async () => {
    await using api = await FakeKubeApi.start();
    await using node = await nodeNetns();
    await using server = await podNetns();
    await using client = await podNetns();
    await bridgeWithTwoPods(node, server, client);

    api.addNode({ name: 'n1', internalIPs: ['10.244.1.1'], podCIDRs: ['10.244.1.0/24'] });
    api.addNamespace('x');
    api.addPod({ namespace: 'x', name: 'server', node: 'n1', ips: [SERVER_IP], labels: { app: 'server' } });
    api.addPod({ namespace: 'x', name: 'client', node: 'n1', ips: [CLIENT_IP], labels: { app: 'client' } });
    // Every change loads the whole table (fullEveryMs 0), as the periodic full load does: the
    // kernel's counters restart at 0 each time, and the totals must carry them. (Deltas keep the
    // kernel's counters: the controller's unit tests hold that.)
    const { policy, agent } = policyAgent(api.url, nftIn(node), {
      policy: () => ({ countDrops: true, fullEveryMs: 0 }),
    });
    await agent.start();
    try {
      await eventually('the first ruleset', async () => policy.status.applies === 1);
      let m = await agent.metrics();
      expect(sample(m, drops('ingress'))).toBe(0);
      expect(sample(m, drops('egress'))).toBe(0);
      expect(await connects(client)).toBe(true);

      api.put('networkpolicies', {
        metadata: { namespace: 'x', name: 'server-deny-ingress' },
        spec: { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'] },
      });
      await eventually('the probe dropped by ingress', async () => !(await connects(client)));
      m = await agent.metrics();
      const ingressPackets = sample(m, drops('ingress'));
      // Each failed connect is a SYN and its retransmissions: at least one, each 60 bytes or more.
      expect(ingressPackets).toBeGreaterThanOrEqual(1);
      expect(sample(m, drops('ingress', 'bytes'))).toBeGreaterThanOrEqual(60 * ingressPackets);
      expect(sample(m, drops('egress'))).toBe(0);
      // The kernel agrees: the counter the ruleset names holds them.
      expect(await node.run('nft', ['list', 'counter', 'inet', 'minicni-policy', 'ingress-drops'])).toMatch(
        /packets [1-9]/,
      );

      // A new ruleset replaces the table and resets the kernel's counters; /metrics keeps counting.
      api.put('networkpolicies', {
        metadata: { namespace: 'x', name: 'client-deny-egress' },
        spec: { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'] },
      });
      // (`applies` counts a ruleset handed to nft, before nft is done: wait for the kernel.)
      await eventually('the ruleset isolating the client for egress', async () =>
        (await node.run('nft', ['list', 'map', 'inet', 'minicni-policy', 'egress4'])).includes(CLIENT_IP),
      );
      expect(await node.run('nft', ['list', 'counter', 'inet', 'minicni-policy', 'ingress-drops'])).toMatch(
        /packets 0 bytes 0/,
      );
      m = await agent.metrics();
      expect(sample(m, drops('ingress'))).toBe(ingressPackets);

      // Egress is checked first at the source: this probe now counts as an egress drop.
      expect(await connects(client)).toBe(false);
      m = await agent.metrics();
      expect(sample(m, drops('egress'))).toBeGreaterThanOrEqual(1);
      expect(sample(m, drops('ingress'))).toBe(ingressPackets);
      expect(sample(m, 'minicni_agent_policy_pending_changes')).toBe(0);
      expect(sample(m, 'minicni_agent_policy_sync_duration_seconds_count')).toBe(policy.status.syncs);
      expect(sample(m, 'minicni_agent_policy_sync_duration_seconds_bucket{le="+Inf"}')).toBe(
        policy.status.syncs,
      );
    } finally {
      await agent.stop();
    }
  });
});
