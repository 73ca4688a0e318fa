import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeNetns, podNetns, type TestNetns } from '@minicni/testkit';
import { FakeKubeApi } from '@minicni/testkit/k8s-fake-api';
import { Agent } from '../src/agent.js';
import { Backoff } from '../src/backoff.js';
import { main } from '../src/cli.js';
import { KubeClient } from '../src/kube-client.js';
import { KubeNodeSource } from '../src/kube-node-source.js';
import { PolicyController } from '../src/policy-controller.js';
import { NftSession } from '../src/policy-nft.js';
import { policyInformers } from '../src/policy-sources.js';
import { bridgeWithTwoPods, connects, eventually, noRoutes } from './policy-lab.js';

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
      const kube = new KubeClient({ server: api.url });
      const fast = () => new Backoff({ baseMs: 10, maxMs: 50 });
      const policy = new PolicyController({
        nodeName: 'n1',
        caches: policyInformers(kube, { backoff: fast }),
        nft,
      });
      const agent = new Agent({
        nodeName: 'n1',
        mode: 'host-gw',
        source: new KubeNodeSource(kube, { backoff: fast() }),
        dataplane: noRoutes,
        metricsAddress: null,
        readyFile: null,
        policy,
      });
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

      const err: string[] = [];
      const code = await main(
        [
          'run',
          '--network-policy',
          'off',
          '--server',
          api.url,
          '--node-name',
          'n1',
          '--mode',
          'host-gw',
          '--metrics-address',
          'off',
          '--ready-file',
          'off',
          '--rules-dir',
          dir,
        ],
        {
          env: {},
          stdout: () => {},
          stderr: (t) => err.push(t),
          stopSignal: Promise.resolve(),
          netlinkDataplane: async () => noRoutes,
          nft,
        },
      );
      await session.close(); // main() ran the removal through it, starting it again
      expect(code, err.join('')).toBe(0);
      expect(await hasTable(node)).toBe(false);
      expect(await connects(client)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
