import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeNetns, podNetns, type TestNetns } from '@minicni/testkit';
import { FakeKubeApi } from '@minicni/testkit/k8s-fake-api';
import { NftSession } from '../src/policy-nft.js';
import { bridgeWithTwoPods, connects, eventually, policyAgent, runPolicyOff } from './policy-lab.js';

async function hasTable(node: TestNetns): Promise<boolean> {
  return (await node.run('nft', ['list', 'tables'])).includes('table inet minicni-policy');
}

/**
 * The agent's policy controller, fed by the API stand-in, enforcing on a node netns with a
 * bridge (br_netfilter on) and two pods: a default-deny-ingress policy drops a probe, deleting
 * it lets the probe through again, and `run --network-policy off` leaves no table behind.
 */
describe('NetworkPolicy enforced by the agent', () => {
  it('deny, allow again, and off removes the table', async () => {
    await using api = await FakeKubeApi.start();
    await using node = await nodeNetns();
    await using server = await podNetns();
    await using client = await podNetns();
    const dir = mkdtempSync(join(tmpdir(), 'agent-policy-'));
    try {
      await bridgeWithTwoPods(node, server, client);

      api.addNode({ name: 'n1', internalIPs: ['10.244.1.1'], podCIDRs: ['10.244.1.0/24'] });
      api.addNamespace('x');
      api.addPod({
        namespace: 'x',
        name: 'server',
        node: 'n1',
        ips: ['10.244.1.10'],
        labels: { app: 'server' },
      });
      api.addPod({ namespace: 'x', name: 'client', node: 'n1', ips: ['10.244.1.11'] });
      // The agent's runner: the first table and small deltas through one `nft -i` in the node netns.
      const session = new NftSession(['nsenter', `--net=${node.path}`, '--']);
      const nft = session.run;
      const { policy, agent } = policyAgent(api.url, nft);
      await agent.start();
      try {
        await eventually(
          'the first ruleset',
          async () => policy.status.applies === 1 && (await hasTable(node)),
        );
        expect(await connects(client)).toBe(true);

        api.put('networkpolicies', {
          metadata: { namespace: 'x', name: 'default-deny-ingress' },
          spec: { podSelector: {}, policyTypes: ['Ingress'] },
        });
        await eventually('the probe dropped', async () => !(await connects(client)));
        const ruleset = await node.run('nft', ['list', 'table', 'inet', 'minicni-policy']);
        expect(ruleset).toMatch(/10\.244\.1\.10 : jump/);

        api.delete('networkpolicies', 'x/default-deny-ingress');
        await eventually('the probe allowed again', () => connects(client));

        const metrics = await agent.metrics();
        expect(metrics).toMatch(/^minicni_agent_policy_applies_total 3$/m);
        // The first whole table, then two deltas.
        expect(metrics).toMatch(/^minicni_agent_policy_full_applies_total 1$/m);
        expect(metrics).toMatch(/^minicni_agent_policy_applies_failed_total 0$/m);
        expect(metrics).toMatch(/^minicni_agent_policy_pending_changes 0$/m);
        expect(metrics).toMatch(/^minicni_agent_policy_last_sync_duration_seconds \d/m);
      } finally {
        await agent.stop();
        await session.close();
      }
      // Stopping the agent leaves the table: pods stay governed across a restart.
      expect(await hasTable(node)).toBe(true);

      const { code, err } = await runPolicyOff(api.url, dir, nft);
      await session.close(); // main() ran the removal through it, starting it again
      expect(code, err).toBe(0);
      expect(await hasTable(node)).toBe(false);
      expect(await connects(client)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
