// The BUILT plugin (dist/main.js, as `bin` installs it) run as separate processes by a libcni-like
// runner, chained with the reference `tuning` plugin, inside a throwaway node netns.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfList, type Result } from '@minicni/spec';
import { nsenterExec } from '@minicni/spec/invoke';
import { ConflistRunner } from '@minicni/spec/runner';
import { nodeNetns, nodeWithPods, runPluginInNode } from '@minicni/testkit';
import { hostVeth } from '../src/host-veth.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/main.js');
if (!existsSync(BIN)) {
  // A missing build must fail the tier, never skip it.
  throw new Error(`${BIN} is missing: run \`pnpm --filter @minicni/example-ptp-plugin... build\` first`);
}

describe('ptp example plugin, built, as a runtime runs it', () => {
  it('answers VERSION as a process', async () => {
    await using node = await nodeNetns();
    const r = await runPluginInNode(node, BIN, { command: 'VERSION' }, { cniVersion: '1.0.0' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({
      cniVersion: '1.0.0',
      supportedVersions: expect.arrayContaining(['1.1.0']),
    });
  });

  it('ADD, CHECK and DEL of a [minicni-ptp, tuning] conflist for two pods that then ping each other', async () => {
    await using net = await nodeWithPods(2);
    const {
      node,
      pods: [p1, p2],
    } = net;
    const tmp = mkdtempSync(join(tmpdir(), 'mct-ptp-e2e-'));
    try {
      const bin = join(tmp, 'bin');
      const dataDir = join(tmp, 'data');
      for (const d of [bin, dataDir]) mkdirSync(d);
      symlinkSync(BIN, join(bin, 'minicni-ptp'));
      symlinkSync('/usr/lib/cni/tuning', join(bin, 'tuning'));
      const list = parseConfList(
        JSON.stringify({
          cniVersion: '1.0.0',
          name: 'mct-ptp-e2e',
          plugins: [
            { type: 'minicni-ptp', mtu: 1400, ipam: { type: 'minicni', subnet: '10.244.53.0/24', dataDir } },
            { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.accept_local': '1' } },
          ],
        }),
      );
      const runner = new ConflistRunner({
        pluginDirs: [bin],
        cacheDir: join(tmp, 'cache'),
        exec: nsenterExec(node.path),
      });
      const pods = [
        { containerId: 'ctr-e2e-1', netns: p1.path, ifname: 'eth0' },
        { containerId: 'ctr-e2e-2', netns: p2.path, ifname: 'eth0' },
      ];
      const results: Result[] = [];
      for (const rt of pods) results.push((await runner.add(list, rt)).result as Result);
      expect(results.map((r) => r.ips?.[0]?.address)).toEqual(['10.244.53.2/32', '10.244.53.3/32']);
      // tuning found the pod interface through our result's interfaces[].sandbox.
      expect((await p1.run('sysctl', ['-n', 'net.ipv4.conf.eth0.accept_local'])).trim()).toBe('1');
      for (const [from, to] of [
        [p1, '10.244.53.3'],
        [p2, '10.244.53.2'],
        [p1, '10.244.53.1'],
      ] as const) {
        const ping = await from.exec('ping', ['-c', '1', '-W', '3', to]);
        expect(ping.code, `${from.name} -> ${to}: ${ping.stdout}`).toBe(0);
      }
      for (const rt of pods) await runner.check(list, rt);
      for (const rt of pods) {
        await runner.del(list, rt);
        await runner.del(list, rt);
      }
      expect(readdirSync(join(dataDir, 'mct-ptp-e2e')).filter((f) => /^[0-9.]+$/.test(f))).toEqual([]);
      const links = await node.ipJson<{ ifname: string }[]>('link', 'show');
      expect(links.filter((l) => hostVeth.pattern.test(l.ifname))).toEqual([]);
      expect(await node.ipJson('route', 'show')).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
