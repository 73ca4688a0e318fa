import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileNodeRuleset, namespaceFromK8s, networkPolicyFromK8s, podFromK8s } from '@minicni/policy';
import { nodeNetns, type TestNetns } from '@minicni/testkit';
import { FakeKubeApi, makePod } from '@minicni/testkit/k8s-fake-api';
import { main } from '../src/cli.js';
import { capturingIo } from './cli-run.js';
import { nftIn, runPolicyOff, tablesIn } from './policy-lab.js';

/** A ruleset as the agent compiles it (an isolated pod, so every chain, set and counter is there). */
function compiledRuleset(): string {
  const state = {
    namespaces: [namespaceFromK8s({ metadata: { name: 'x' } })],
    pods: [podFromK8s(makePod({ namespace: 'x', name: 'a', node: 'n1', ips: ['10.244.1.10'] }))],
    policies: [
      networkPolicyFromK8s({
        metadata: { namespace: 'x', name: 'deny' },
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      }),
    ],
    nodes: [{ name: 'n1', ips: ['10.244.1.1'] }],
  };
  return compileNodeRuleset(state, 'n1', { nodeIps: ['10.244.1.1'] });
}

/** Loads our table, and a table that is not ours, which must survive. */
async function loadTables(node: TestNetns): Promise<void> {
  await nftIn(node)(['-f', '-'], compiledRuleset());
  await nftIn(node)(['-f', '-'], 'table inet keep-me {\n  chain c { }\n}\n');
  expect(await tablesIn(node)).toEqual(['inet minicni-policy', 'inet keep-me']);
}

/**
 * A clean uninstall: `minicni-agent uninstall`, and `run --network-policy off`, leave no policy
 * table behind in a node netns holding one (loaded as the agent compiles it), and leave other
 * tables alone.
 */
describe('no policy table left behind', () => {
  it('uninstall removes the policy table (and the files), and nothing else', async () => {
    await using node = await nodeNetns();
    const dir = mkdtempSync(join(tmpdir(), 'agent-cleanup-'));
    try {
      await loadTables(node);
      writeFileSync(join(dir, '10-minicni.conflist'), '{}');
      writeFileSync(join(dir, 'minicni'), '');
      const { io, out, err } = capturingIo(nftIn(node));
      const args = ['uninstall', '--cni-conf-dir', dir, '--cni-bin-dir', dir, '--ready-file', 'off'];
      expect(await main(args, io), err()).toBe(0);
      expect(out()).toMatch(/^removed 2 file\(s\): .* and the policy table\n$/);
      expect(existsSync(join(dir, 'minicni'))).toBe(false);
      expect(await tablesIn(node)).toEqual(['inet keep-me']);
      // Twice is no error: nothing left to remove.
      expect(await main(args, io), err()).toBe(0);
      expect(await tablesIn(node)).toEqual(['inet keep-me']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('run --network-policy off removes the policy table at start, and nothing else', async () => {
    await using api = await FakeKubeApi.start();
    await using node = await nodeNetns();
    const dir = mkdtempSync(join(tmpdir(), 'agent-cleanup-'));
    try {
      api.addNode({ name: 'n1', internalIPs: ['10.244.1.1'], podCIDRs: ['10.244.1.0/24'] });
      await loadTables(node);
      const { code, err } = await runPolicyOff(api.url, dir, nftIn(node));
      expect(code, err).toBe(0);
      expect(err).toContain('network policy off: table inet minicni-policy removed');
      expect(await tablesIn(node)).toEqual(['inet keep-me']);
      // With policy off the agent never watched policies at all.
      expect(api.requests.some((r) => r.includes('networkpolicies'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
