import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeNetns, podNetns, testName, type TestNetns } from '@minicni/testkit';
import { hostVeths, nodeRuleLines, reservations, runMinicni } from './e2e-plugin.js';

const PODS = 100;

/** Creates `n` pod netns, `batch` at a time (ip netns add is cheap, but 100 at once is a storm). */
async function pods(n: number, batch = 20): Promise<TestNetns[]> {
  const out: TestNetns[] = [];
  for (let i = 0; i < n; i += batch) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => podNetns()))));
  }
  return out;
}

describe('minicni executable under 100 parallel calls', () => {
  it(`${PODS} parallel ADDs get ${PODS} distinct addresses; ${PODS} parallel DELs leave no address, veth or per-pod rule`, async () => {
    const work = mkdtempSync(join(tmpdir(), 'mct-minicni-par-'));
    const netns: TestNetns[] = [];
    try {
      await using node = await nodeNetns();
      netns.push(...(await pods(PODS)));
      const third = randomInt(1, 250);
      const network = testName('net');
      const conf = {
        cniVersion: '1.1.0',
        name: network,
        type: 'minicni',
        bridge: testName('br'),
        subnet: `10.244.${third}.0/24`,
        dataDir: join(work, 'data'),
      };
      const call = (i: number) => ({ containerId: `par-${i}`, netns: netns[i]!.path, ifname: 'eth0' });

      const t0 = Date.now();
      const adds = await Promise.all(
        netns.map((_, i) => runMinicni(node, { command: 'ADD', ...call(i), path: '/usr/lib/cni' }, conf)),
      );
      const addMs = Date.now() - t0;
      for (const r of adds) expect(r.code, r.stdout + r.stderr).toBe(0);
      const ips = adds.map((r) => (r.json as { ips: { address: string }[] }).ips[0]!.address.split('/')[0]!);
      expect(new Set(ips).size).toBe(PODS);
      for (const ip of ips) expect(ip).toMatch(new RegExp(`^10\\.244\\.${third}\\.\\d+$`));
      expect(reservations(conf.dataDir, network)).toEqual([...ips].sort());
      expect(await hostVeths(node)).toHaveLength(PODS);
      // Each pod holds exactly the address it was given.
      for (const [i, ns] of netns.entries()) {
        const addrs = await ns.ipJson<{ addr_info: { local: string }[] }[]>('addr', 'show', 'eth0');
        expect(addrs[0]!.addr_info.map((a) => a.local)).toContain(ips[i]);
      }
      // The node rules: one chain per network for each job, never one per pod.
      const rules = await nodeRuleLines(node);
      const chains = rules.filter((l) => l.startsWith(':MINICNI-'));
      expect(chains).toHaveLength(2);
      // ...and exactly one jump into each, even though 100 first ADDs ensured them concurrently.
      expect(rules.filter((l) => l.startsWith('-A FORWARD') && l.includes('-j MINICNI-FWD-'))).toHaveLength(
        1,
      );
      expect(
        rules.filter((l) => l.startsWith('-A POSTROUTING') && l.includes('-j MINICNI-NAT-')),
      ).toHaveLength(1);
      const ruleCount = rules.filter((l) => l.startsWith('-A')).length;
      expect(rules.some((l) => ips.some((ip) => l.includes(ip)))).toBe(false);
      // Pod to pod across the bridge, first to last.
      const ping = await netns[0]!.exec('ping', ['-c', '1', '-W', '2', ips[PODS - 1]!]);
      expect(ping.code, ping.stdout).toBe(0);

      const t1 = Date.now();
      const dels = await Promise.all(
        netns.map((_, i) => runMinicni(node, { command: 'DEL', ...call(i), path: '/usr/lib/cni' }, conf)),
      );
      const delMs = Date.now() - t1;
      for (const r of dels) expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(reservations(conf.dataDir, network)).toEqual([]);
      expect(await hostVeths(node)).toEqual([]);
      for (const ns of netns) {
        const links = await ns.ipJson<{ ifname: string }[]>('link', 'show');
        expect(links.map((l) => l.ifname)).toEqual(['lo']);
      }
      // DEL leaves the per-network rules as they were (they are node state, not pod state).
      const after = await nodeRuleLines(node);
      expect(after.filter((l) => l.startsWith(':MINICNI-'))).toEqual(chains);
      expect(after.filter((l) => l.startsWith('-A')).length).toBe(ruleCount);
      console.log(
        `minicni parallel: ${PODS} ADDs (separate processes) in ${addMs} ms, ${PODS} DELs in ${delMs} ms`,
      );
    } finally {
      await Promise.allSettled(netns.map((ns) => ns[Symbol.asyncDispose]()));
      rmSync(work, { recursive: true, force: true });
    }
  });

  // Every pod of a new node's first wave arrives at once: each ADD finds the node rules missing
  // and ensures them. Repeated on fresh nodes, since the window is a few milliseconds wide.
  it('20 concurrent first ADDs on a fresh node all succeed, 4 nodes in a row; one jump per chain', async () => {
    const work = mkdtempSync(join(tmpdir(), 'mct-minicni-first-'));
    try {
      const failures: string[] = [];
      for (let round = 0; round < 4; round++) {
        await using node = await nodeNetns();
        const netns = await pods(20);
        try {
          const network = testName('net');
          const conf = {
            cniVersion: '1.1.0',
            name: network,
            type: 'minicni',
            bridge: testName('br'),
            subnet: `10.244.${randomInt(1, 250)}.0/24`,
            dataDir: join(work, `data-${round}`),
          };
          const call = (i: number) => ({
            containerId: `first-${i}`,
            netns: netns[i]!.path,
            ifname: 'eth0',
            path: '/usr/lib/cni',
          });
          const adds = await Promise.all(
            netns.map((_, i) => runMinicni(node, { command: 'ADD', ...call(i) }, conf)),
          );
          for (const r of adds) if (r.code !== 0) failures.push(`node ${round}: ${r.stdout.trim()}`);
          const rules = await nodeRuleLines(node);
          expect(
            rules.filter((l) => l.startsWith('-A FORWARD') && l.includes('-j MINICNI-FWD-')),
          ).toHaveLength(1);
          const dels = await Promise.all(
            netns.map((_, i) => runMinicni(node, { command: 'DEL', ...call(i) }, conf)),
          );
          for (const r of dels) expect(r.code, r.stdout).toBe(0);
          expect(reservations(conf.dataDir, network)).toEqual([]);
        } finally {
          await Promise.allSettled(netns.map((ns) => ns[Symbol.asyncDispose]()));
        }
      }
      expect(failures).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
