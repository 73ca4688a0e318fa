import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Netlink } from '@minicni/netlink';
import { existsSync } from 'node:fs';
import { MultiNodeLab } from '@minicni/testkit/multinode';
import { bundleAgent } from '../scripts/bundle.mjs';
import { podPlugin } from './demo-main.js';
import { addLabPods, fourChecks, formatChecks } from './lab-checks.js';
import { LabAgent, writeNodesFile } from './lab-agents.js';
import { podMtuFor } from '../src/pod-mtu.js';

// Three node namespaces: n1 and n2 on one L2 segment, n3 behind a router. Pods come from the
// minicni executable when it is built, else from the Debian reference bridge + host-local
// (ipMasq off); MINICNI_E2E_POD_PLUGIN overrides (a minicni path or a plugin directory).
// Cross-node routing does not depend on which bridge plugin made the pods. One agent process
// per node, inside the node's netns.
const minicni = resolve(import.meta.dirname, '../../minicni/dist/minicni');
const POD_PLUGIN = process.env.MINICNI_E2E_POD_PLUGIN ?? (existsSync(minicni) ? minicni : '/usr/lib/cni');
describe('agent across three nodes (two on one L2 segment, one behind a router)', () => {
  let lab: MultiNodeLab;
  let agents: LabAgent[];
  let bundleDir: string;
  const handles: Netlink[] = [];

  beforeAll(async () => {
    bundleDir = mkdtempSync(join(tmpdir(), 'minicni-agent-bundle-'));
    const bundle = await bundleAgent(bundleDir);
    lab = await MultiNodeLab.create();
    const plugin = podPlugin(POD_PLUGIN);
    process.stdout.write(`\npods made by: ${plugin.label}\n`);
    await addLabPods(lab, plugin);
    writeNodesFile(lab, ['n1', 'n2', 'n3']);
    agents = lab.nodes.map((n) => new LabAgent(lab, n, bundle));
  });

  afterAll(async () => {
    for (const h of handles) h.close();
    for (const a of agents ?? []) await a.stop('SIGKILL');
    await lab?.[Symbol.asyncDispose]();
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  /** Starts every agent; waits for those whose node is in the node list to be ready. */
  async function startAll(mode: string, listed = ['n1', 'n2', 'n3']): Promise<void> {
    for (const a of agents) a.start(mode);
    for (const a of agents) if (listed.includes(a.node.name)) await a.waitReady();
  }
  async function stopAll(): Promise<void> {
    for (const a of agents) await a.stop();
  }
  const routesOf = async (node: string) => {
    const nl = Netlink.open({ netns: lab.node(node).ns.path });
    try {
      return (await nl.routes.list({ family: 4 })).filter((r) => r.protocol === 77);
    } finally {
      nl.close();
    }
  };

  it.each(['host-gw', 'vxlan', 'auto'])('the four checks pass in %s mode', async (mode) => {
    try {
      await startAll(mode);
      const rows = await fourChecks(lab, mode);
      process.stdout.write(`\n${formatChecks(mode, rows)}\n`);
      for (const r of rows.filter((x) => x.applicable))
        expect(r.ok, `${r.check} ${r.from} -> ${r.to}`).toBe(true);
      const n1 = (await routesOf('n1')).map((r) => `${r.dst} via ${r.gateway}`).sort();
      if (mode === 'host-gw') {
        expect(n1).toEqual(['10.244.2.0/24 via 10.244.250.12']);
        const m = await agents[0]!.http('/metrics');
        expect(m.body).toMatch(/minicni_agent_peers\{path="unreachable"\} 1/);
      } else if (mode === 'vxlan') {
        expect(n1).toEqual(['10.244.2.0/24 via 10.244.2.0', '10.244.3.0/24 via 10.244.3.0']);
        // The path through the vxlan device carries exactly the pod MTU the installer writes
        // for this mode (podMtuFor): a don't-fragment packet of that size crosses, one byte
        // more does not (the underlay links here are 1500).
        const p1a = lab.pods.find((p) => p.name === 'p1a')!;
        const p3 = lab.pods.find((p) => p.name === 'p3')!;
        const payload = podMtuFor('vxlan', 1500) - 28;
        const df = (size: number) =>
          p1a.ns.exec('ping', ['-c', '1', '-W', '2', '-M', 'do', '-s', String(size), p3.ip]);
        expect((await df(payload)).code).toBe(0);
        expect((await df(payload + 1)).code).not.toBe(0);
      } else {
        expect(n1).toEqual(['10.244.2.0/24 via 10.244.250.12', '10.244.3.0/24 via 10.244.3.0']);
      }
    } finally {
      await stopAll();
    }
  });

  it('serves /healthz, /readyz and /metrics with peers, routes and IPAM use', async () => {
    try {
      await startAll('auto');
      const a = agents[0]!;
      expect(await a.http('/healthz')).toEqual({ status: 200, body: 'ok\n' });
      expect((await a.http('/readyz')).status).toBe(200);
      const m = (await a.http('/metrics')).body;
      expect(m).toMatch(/^minicni_agent_peers\{path="host-gw"\} 1$/m);
      expect(m).toMatch(/^minicni_agent_peers\{path="vxlan"\} 1$/m);
      expect(m).toMatch(/^minicni_agent_routes 2$/m);
      expect(m).toMatch(/^minicni_ipam_allocated_addresses\{network="[^"]+",range="10\.244\.1\.0\/24"\} 2$/m);
      expect(m).toMatch(
        /^minicni_ipam_capacity_addresses\{network="[^"]+",range="10\.244\.1\.0\/24"\} 253$/m,
      );

      // Drift: routes deleted by hand on n1 are back within one resync period (1 s here).
      const n1 = lab.node('n1').ns;
      const t0 = performance.now();
      await n1.run('ip', ['route', 'del', '10.244.2.0/24']);
      await n1.run('ip', ['route', 'del', '10.244.3.0/24']);
      while ((await routesOf('n1')).length < 2) {
        if (performance.now() - t0 > 5000) throw new Error(`drift not repaired within 5 s:\n${a.log()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      process.stdout.write(
        `\nroutes deleted by hand on n1 -> back in ${(performance.now() - t0).toFixed(0)} ms\n`,
      );
    } finally {
      await stopAll();
    }
  });

  it('puts a new node on every peer within 1 s, removes a departed one everywhere, and measures the agents', async () => {
    writeNodesFile(lab, ['n1', 'n2']);
    try {
      await startAll('auto', ['n1', 'n2']);
      // n3's agent is running but n3 is not in the node list yet.
      expect((await routesOf('n1')).some((r) => r.dst === '10.244.3.0/24')).toBe(false);
      for (const n of lab.nodes) handles.push(Netlink.open({ netns: n.ns.path }));
      const has = async (i: number, dst: string) =>
        (await handles[i]!.routes.list({ family: 4 })).some((r) => r.protocol === 77 && r.dst === dst);
      const t0 = performance.now();
      writeNodesFile(lab, ['n1', 'n2', 'n3']);
      const seen: Record<string, number> = {};
      while (Object.keys(seen).length < 4 && performance.now() - t0 < 5000) {
        const now = performance.now() - t0;
        if (!seen.n1 && (await has(0, '10.244.3.0/24'))) seen.n1 = now;
        if (!seen.n2 && (await has(1, '10.244.3.0/24'))) seen.n2 = now;
        if (!seen['n3->n1'] && (await has(2, '10.244.1.0/24'))) seen['n3->n1'] = now;
        if (!seen['n3->n2'] && (await has(2, '10.244.2.0/24'))) seen['n3->n2'] = now;
        await new Promise((r) => setTimeout(r, 5));
      }
      const worst = Math.max(...Object.values(seen));
      process.stdout.write(
        `\nnew node n3 -> routes on every peer: ${Object.entries(seen)
          .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
          .join(', ')}; worst ${worst.toFixed(0)} ms\n`,
      );
      if (worst > 300) process.stdout.write(`n1's log:\n${agents[0]!.log()}\n`);
      expect(Object.keys(seen)).toHaveLength(4);
      expect(worst).toBeLessThan(1000);
      const pinged = await lab.ping(
        lab.pods.find((p) => p.name === 'p1a')!,
        lab.pods.find((p) => p.name === 'p3')!.ip,
      );
      expect(pinged).toBe(true);

      // Idle cost, measured over 30 s with the drift-repair timer at 1 s.
      const before = agents.map((a) => a.cpuSeconds());
      const t1 = performance.now();
      await new Promise((r) => setTimeout(r, 30_000));
      const secs = (performance.now() - t1) / 1000;
      const figures = agents.map((a, i) => ({
        node: a.node.name,
        rssMiB: a.rssKiB() / 1024,
        cpuPct: ((a.cpuSeconds() - before[i]!) / secs) * 100,
      }));
      process.stdout.write(
        `agent idle over ${secs.toFixed(0)} s (resync 1 s, netlink): ${figures
          .map((f) => `${f.node} RSS ${f.rssMiB.toFixed(1)} MiB CPU ${f.cpuPct.toFixed(2)}%`)
          .join('; ')}\n`,
      );
      for (const f of figures) {
        expect(f.rssMiB).toBeLessThan(150);
        expect(f.cpuPct).toBeLessThan(10);
      }

      // n3 leaves: its routes go from every peer, and the peers' routes go from n3's agent's view.
      const t2 = performance.now();
      writeNodesFile(lab, ['n1', 'n2']);
      while ((await has(0, '10.244.3.0/24')) || (await has(1, '10.244.3.0/24'))) {
        if (performance.now() - t2 > 5000) throw new Error('routes of a departed node still there after 5 s');
        await new Promise((r) => setTimeout(r, 10));
      }
      process.stdout.write(
        `departed node n3 -> routes gone from n1 and n2 in ${(performance.now() - t2).toFixed(0)} ms\n`,
      );
      // In auto mode no peer needs vxlan any more on n1: the device is gone too.
      expect((await handles[0]!.links.find('minicni.1')) === undefined, agents[0]!.log()).toBe(true);
    } finally {
      await stopAll();
      writeNodesFile(lab, ['n1', 'n2', 'n3']);
    }
  });

  it('restarting an agent does not break established pod traffic', async () => {
    try {
      await startAll('vxlan');
      const p1a = lab.pods.find((p) => p.name === 'p1a')!;
      const p3 = lab.pods.find((p) => p.name === 'p3')!;
      // 60 pings at 100 ms across the router (vxlan) while n1's and n3's agents restart.
      const pinging = p1a.ns.exec('ping', ['-c', '60', '-i', '0.1', '-W', '1', p3.ip], { timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 1500));
      for (const i of [0, 2]) {
        await agents[i]!.stop('SIGTERM');
        await new Promise((r) => setTimeout(r, 300));
        agents[i]!.start('vxlan');
        await agents[i]!.waitReady();
      }
      // And once more, killed without warning.
      await agents[0]!.stop('SIGKILL');
      agents[0]!.start('vxlan');
      await agents[0]!.waitReady();
      const r = await pinging;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
      const lost = Number(m?.[1]) - Number(m?.[2]);
      process.stdout.write(`ping p1a -> p3 during three agent restarts: ${m?.[0]}, ${lost} lost\n`);
      expect(m).not.toBeNull();
      expect(lost).toBeLessThanOrEqual(1);
    } finally {
      await stopAll();
    }
  });
});
