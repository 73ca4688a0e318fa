import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeNetns, podNetns, testName } from '@minicni/testkit';
import { chainedPluginConf, k8sRuntimeConf, type ChainedPlugin } from '@minicni/testkit/conflists';
import {
  CniError,
  compareVersions,
  parseConfList,
  parseResult,
  toLatest,
  SPEC_VERSIONS,
} from '@minicni/spec';
import { nsenterExec, spawnExec } from '@minicni/spec/invoke';
import { ConflistRunner } from '@minicni/spec/runner';
import { hostVethName } from '../src/host-veth.js';
import { MINICNI, MINICNI_DIR, REFERENCE_PLUGINS, hostVeths, nodeRules, reservations } from './e2e-plugin.js';

// minicni (the built executable) first in a conflist, the Debian reference chain plugins behind
// it, driven by spec's libcni-like ConflistRunner inside a throwaway node netns.

const tmp = mkdtempSync(join(tmpdir(), 'mct-minicni-chain-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function supportedVersions(file: string): Promise<string[]> {
  const r = await spawnExec({ file, env: { CNI_COMMAND: 'VERSION' }, stdin: '' });
  return (JSON.parse(r.stdout) as { supportedVersions: string[] }).supportedVersions;
}

const CHAINED = ['tuning', 'bandwidth', 'firewall', 'portmap'] as const;
const minicniVersions = await supportedVersions(MINICNI);
const versions = new Map<string, string[]>();
for (const t of CHAINED) versions.set(t, await supportedVersions(`${REFERENCE_PLUGINS}/${t}`));
// Chaining (prevResult) starts with conflists at 0.3.0.
const chainVersions = SPEC_VERSIONS.filter(
  (v) =>
    compareVersions(v, '0.3.0') >= 0 &&
    minicniVersions.includes(v) &&
    CHAINED.some((t) => versions.get(t)?.includes(v)),
);

let third = 100;
function nextSubnet(): number {
  third += 1;
  return third;
}

function chainConflist(version: string, chained: readonly ChainedPlugin[], dataDir: string, ranges: unknown) {
  const plugins = [
    { type: 'minicni', bridge: testName('br'), mtu: 1400, ranges, dataDir },
    ...chained.map(chainedPluginConf),
  ];
  return parseConfList(JSON.stringify({ cniVersion: version, name: testName('net'), plugins }));
}

const quirks: string[] = [];

describe('reference chain plugins behind minicni (built executable, ConflistRunner, node netns)', () => {
  it('finds the versions each plugin supports', () => {
    expect(minicniVersions).toEqual(['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    console.log(
      `chain versions: ${[...versions].map(([t, v]) => `${t} ${v.join(',')}`).join('; ')}; chained at ${chainVersions.join(', ')}`,
    );
    expect(chainVersions).toEqual(['0.3.0', '0.3.1', '0.4.0', '1.0.0']);
  });

  for (const version of chainVersions) {
    const chained = CHAINED.filter((t) => versions.get(t)?.includes(version));
    it(`minicni + ${chained.join(' + ')} at ${version}: ADD, CHECK, DEL`, async () => {
      await using node = await nodeNetns();
      await using pod = await podNetns();
      const dataDir = mkdtempSync(join(tmp, 'data-'));
      const n = nextSubnet();
      const list = chainConflist(version, chained, dataDir, [[{ subnet: `10.244.${n}.0/24` }]]);
      const runner = new ConflistRunner({
        pluginDirs: [MINICNI_DIR, REFERENCE_PLUGINS],
        cacheDir: mkdtempSync(join(tmp, 'cache-')),
        exec: nsenterExec(node.path),
      });
      const rt = k8sRuntimeConf(`chain-${version.replaceAll('.', '')}`, pod.path);
      const hostVeth = hostVethName(rt.containerId, 'eth0');

      const { result, outputs } = await runner.add(list, rt);
      expect(outputs.map((o) => o.type)).toEqual(['minicni', ...chained]);
      for (const o of outputs) expect(parseResult(JSON.parse(o.stdout)).cniVersion).toBe(version);
      const ip = toLatest(result).ips![0]!.address.split('/')[0]!;
      expect(ip.startsWith(`10.244.${n}.`)).toBe(true);
      const podAddrs = await pod.ipJson<{ addr_info: { local: string }[] }[]>('addr', 'show', 'eth0');
      expect(podAddrs[0]!.addr_info.map((a) => a.local)).toContain(ip);
      expect(reservations(dataDir, list.name)).toEqual([ip]);
      // Each chained plugin did its job on what minicni made.
      const rules = await nodeRules(node);
      if (chained.includes('tuning')) {
        expect((await pod.run('cat', ['/proc/sys/net/core/somaxconn'])).trim()).toBe('512');
      }
      if (chained.includes('bandwidth')) {
        expect(await node.run('tc', ['qdisc', 'show', 'dev', hostVeth])).toMatch(/qdisc tbf/);
        expect(await node.ipJson<unknown[]>('link', 'show', 'type', 'ifb')).toHaveLength(1);
      }
      if (chained.includes('portmap')) expect(rules).toContain(`--to-destination ${ip}:80`);
      if (chained.includes('firewall')) expect(rules).toMatch(new RegExp(`-A CNI-FORWARD .*${ip}`));

      if (compareVersions(version, '0.4.0') >= 0) {
        const err = await runner.check(list, rt).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (err !== undefined) {
          // portmap 1.1.1 fails CHECK on every IPv4-only pod ("could not check ipv6 dnat"), an
          // upstream bug; it runs last, so every plugin before it has passed CHECK already.
          expect(err).toBeInstanceOf(CniError);
          expect((err as Error).message).toMatch(/plugin type="portmap" failed \(check\).*ipv6/);
          quirks.push(`${version}: ${(err as Error).message}`);
          await runner.check({ ...list, plugins: list.plugins.filter((p) => p.type !== 'portmap') }, rt);
        }
      } else {
        await expect(runner.check(list, rt)).rejects.toMatchObject({ code: 'VERSION_TOO_OLD' });
      }

      await runner.del(list, rt);
      expect(reservations(dataDir, list.name)).toEqual([]);
      expect(await hostVeths(node)).toEqual([]);
      expect(await node.ipJson<unknown[]>('link', 'show', 'type', 'ifb')).toEqual([]);
      const after = await nodeRules(node);
      expect(after).not.toContain(ip);
      expect((await pod.ipJson<{ ifname: string }[]>('link', 'show')).map((l) => l.ifname)).toEqual(['lo']);
      // DEL is idempotent through the whole chain.
      await runner.del(list, rt);
    });
  }

  it('minicni + portmap on a dual-stack pod at 1.0.0: CHECK, the upstream ipv6 quirk aside', async () => {
    await using node = await nodeNetns();
    await using pod = await podNetns();
    const dataDir = mkdtempSync(join(tmp, 'data-'));
    const n = nextSubnet();
    const list = chainConflist('1.0.0', ['portmap'], dataDir, [
      [{ subnet: `10.244.${n}.0/24` }],
      [{ subnet: `fd00:${n}::/64` }],
    ]);
    const runner = new ConflistRunner({
      pluginDirs: [MINICNI_DIR, REFERENCE_PLUGINS],
      cacheDir: mkdtempSync(join(tmp, 'cache-')),
      exec: nsenterExec(node.path),
    });
    const rt = k8sRuntimeConf('chain-dual', pod.path);
    const { result } = await runner.add(list, rt);
    const ips = toLatest(result).ips!.map((i) => i.address);
    expect(ips).toEqual([`10.244.${n}.2/24`, `fd00:${n}::2/64`]);
    const v6nat = await node.run('ip6tables-save', ['-t', 'nat']);
    expect(v6nat).toContain(`--to-destination [fd00:${n}::2]:80`);
    const err = await runner.check(list, rt).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (err !== undefined) {
      // Even with an IPv6 address, portmap 1.1.1 looks for the IPv4 rules in its ip6tables chain.
      expect((err as Error).message).toMatch(
        /plugin type="portmap" failed \(check\): could not check ipv6 dnat/,
      );
      quirks.push(`1.0.0 dual stack: ${(err as Error).message}`);
      await runner.check({ ...list, plugins: list.plugins.filter((p) => p.type !== 'portmap') }, rt);
    }
    await runner.del(list, rt);
    expect(reservations(dataDir, list.name)).toEqual([]);
    expect(await node.run('ip6tables-save', ['-t', 'nat'])).not.toContain(`fd00:${n}::2`);
  });

  for (const version of minicniVersions) {
    it(`minicni alone at ${version}: ADD result parses in ${version}, CHECK (0.4.0+), DEL`, async () => {
      await using node = await nodeNetns();
      await using pod = await podNetns();
      const dataDir = mkdtempSync(join(tmp, 'data-'));
      const n = nextSubnet();
      const list = chainConflist(version, [], dataDir, [[{ subnet: `10.244.${n}.0/24` }]]);
      const runner = new ConflistRunner({
        pluginDirs: [MINICNI_DIR],
        cacheDir: mkdtempSync(join(tmp, 'cache-')),
        exec: nsenterExec(node.path),
      });
      const rt = k8sRuntimeConf(`alone-${version.replaceAll('.', '')}`, pod.path);
      const { result, outputs } = await runner.add(list, rt);
      const raw = JSON.parse(outputs[0]!.stdout) as Record<string, unknown>;
      expect(raw.cniVersion).toBe(version);
      expect(parseResult(raw).cniVersion).toBe(version);
      const expectedIp = `10.244.${n}.2`;
      // The shape of that version, as the spec defines it.
      if (compareVersions(version, '0.3.0') < 0) {
        expect(raw).toMatchObject({ ip4: { ip: `${expectedIp}/24`, gateway: `10.244.${n}.1` } });
        expect(raw).not.toHaveProperty('ips');
        expect(raw).not.toHaveProperty('interfaces');
      } else {
        const ip0 = (raw.ips as Record<string, unknown>[])[0]!;
        expect(ip0).toMatchObject({ address: `${expectedIp}/24`, gateway: `10.244.${n}.1`, interface: 2 });
        if (compareVersions(version, '1.0.0') < 0) expect(ip0.version).toBe('4');
        else expect(ip0).not.toHaveProperty('version');
        const ifaces = raw.interfaces as Record<string, unknown>[];
        expect(ifaces[2]).toMatchObject({ name: 'eth0', sandbox: pod.path });
        if (version === '1.1.0') expect(ifaces[2]).toMatchObject({ mtu: 1400 });
        else expect(ifaces[2]).not.toHaveProperty('mtu');
      }
      expect(toLatest(result).ips![0]!.address).toBe(`${expectedIp}/24`);
      const podAddrs = await pod.ipJson<{ addr_info: { local: string }[] }[]>('addr', 'show', 'eth0');
      expect(podAddrs[0]!.addr_info.map((a) => a.local)).toContain(expectedIp);

      if (compareVersions(version, '0.4.0') >= 0) await runner.check(list, rt);
      else await expect(runner.check(list, rt)).rejects.toMatchObject({ code: 'VERSION_TOO_OLD' });

      await runner.del(list, rt);
      expect(reservations(dataDir, list.name)).toEqual([]);
      expect(await hostVeths(node)).toEqual([]);
      await runner.del(list, rt);
    });
  }

  it('reports the upstream quirks seen', () => {
    console.log(
      quirks.length
        ? `chain quirks (upstream portmap 1.1.1):\n  ${quirks.join('\n  ')}`
        : 'chain quirks: none',
    );
    expect(Array.isArray(quirks)).toBe(true);
  });
});
