import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MultiNodeLab, type PodPlugin } from '@minicni/testkit/multinode';
import { runPluginInNode } from '@minicni/testkit';
import { bundleAgent } from '../scripts/bundle.mjs';
import { podPlugin } from './demo-main.js';
import { addLabPods, fourChecks, formatChecks } from './lab-checks.js';
import { LabAgent, writeNodesFile } from './lab-agents.js';

// minicni's fast path on three nodes, laid out as the DaemonSet runs it: each node has its agent
// (routes) and, in a process of its own, the plugin executable's `serve`; every pod is added by
// minicni-shim, which forwards the call to its node's server. The standalone fallback is pointed
// at /bin/false, so an ADD can only succeed if it was served.
const SHIM = resolve(import.meta.dirname, '../../minicni/dist/minicni-shim');
const PLUGIN = resolve(import.meta.dirname, '../../minicni/dist/minicni');

describe('fast path across three nodes: minicni-shim -> minicni serve beside each agent', () => {
  it('pods added through the agents reach each other across nodes (host-gw), DEL releases', async () => {
    if (!existsSync(SHIM)) throw new Error(`${SHIM} is missing: run \`pnpm build\` first`);
    const bundleDir = mkdtempSync(join(tmpdir(), 'minicni-agent-bundle-'));
    const bundle = await bundleAgent(bundleDir);
    await using lab = await MultiNodeLab.create();
    const socket = (node: string) => join(lab.dir, node, 'run', 'plugin.sock');
    writeNodesFile(lab, ['n1', 'n2', 'n3']);
    const agents = lab.nodes.map((n) => new LabAgent(lab, n, bundle));
    try {
      for (const a of agents) a.start('host-gw');
      for (const a of agents) await a.servePlugin(PLUGIN, socket(a.node.name));
      for (const a of agents) await a.waitReady();
      const base = podPlugin(SHIM);
      const plugin: PodPlugin = {
        ...base,
        label: 'minicni-shim -> minicni serve',
        env: (node) => ({ MINICNI_AGENT_SOCKET: socket(node.name), MINICNI_STANDALONE: '/bin/false' }),
      };
      await addLabPods(lab, plugin);
      const rows = await fourChecks(lab, 'host-gw');
      process.stdout.write(`\n${formatChecks('host-gw (fast path)', rows)}\n`);
      for (const r of rows.filter((x) => x.applicable))
        expect(r.ok, `${r.check} ${r.from} -> ${r.to}`).toBe(true);

      // DEL through the shim releases the reservation in the node's store.
      const p2 = lab.pods.find((p) => p.name === 'p2')!;
      const n2 = lab.node('n2');
      const ipamDir = join(lab.dir, 'n2', 'ipam', 'minicni');
      expect(readdirSync(ipamDir)).toContain(p2.ip);
      const del = await runPluginInNode(
        n2.ns,
        SHIM,
        {
          command: 'DEL',
          containerId: `p2-${p2.ns.name}`,
          netns: p2.ns.path,
          ifname: 'eth0',
          path: base.cniPath,
          extraEnv: plugin.env!(n2),
        },
        base.config(n2, join(lab.dir, 'n2', 'ipam')),
      );
      expect(del.code, del.stdout).toBe(0);
      expect(readdirSync(ipamDir)).not.toContain(p2.ip);
    } finally {
      for (const a of agents) await a.stop();
      rmSync(bundleDir, { recursive: true, force: true });
    }
    // A stopped server removes its socket: the shim then falls back to the standalone plugin.
    for (const n of ['n1', 'n2', 'n3']) expect(existsSync(socket(n))).toBe(false);
  }, 180_000);
});
