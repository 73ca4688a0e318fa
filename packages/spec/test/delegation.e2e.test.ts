import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeNetns, podNetns, testName } from '@minicni/testkit';
import { parseConfList, toLatest } from '@minicni/spec';
import { delegateAdd, delegateCheck, delegateDel, nsenterExec, withDelegatedAdd } from '@minicni/spec/invoke';
import { ConflistRunner } from '@minicni/spec/runner';
import { buildStaticIpPlugin } from './bundle-plugin.js';

// Delegation both ways with the reference plugins: the Go bridge plugin calls our runPlugin
// executable as its IPAM, and our delegateAdd/Del/Check drive Go's host-local.

const REF = '/usr/lib/cni';
const tmp = mkdtempSync(join(tmpdir(), 'mct-spec-deleg-'));
let binDir = '';
beforeAll(async () => {
  binDir = join(tmp, 'bin');
  await buildStaticIpPlugin(binDir);
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('delegation with the reference plugins', () => {
  for (const [i, version] of ['0.3.0', '0.3.1', '0.4.0', '1.0.0'].entries()) {
    it(`Go bridge uses our static-ip plugin as IPAM at ${version}`, async () => {
      await using node = await nodeNetns();
      await using pod = await podNetns();
      const list = parseConfList(
        JSON.stringify({
          cniVersion: version,
          name: testName('net'),
          plugins: [{ type: 'bridge', bridge: testName('br'), isGateway: true, ipam: { type: 'static-ip' } }],
        }),
      );
      const runner = new ConflistRunner({
        pluginDirs: [binDir, REF],
        cacheDir: mkdtempSync(join(tmp, 'cache-')),
        exec: nsenterExec(node.path),
      });
      const rt = {
        containerId: `c${i}`,
        netns: pod.path,
        ifname: 'eth0',
        args: [
          ['IgnoreUnknown', '1'],
          ['IP', `10.244.20${i}.7/24`],
        ] as [string, string][],
      };
      const { result } = await runner.add(list, rt);
      const latest = toLatest(result);
      expect(latest.ips).toEqual([
        { address: `10.244.20${i}.7/24`, gateway: `10.244.20${i}.1`, interface: 2 },
      ]);
      const addrs = await pod.ipJson<{ addr_info: { local: string }[] }[]>('addr', 'show', 'eth0');
      expect(addrs[0]?.addr_info.map((a) => a.local)).toContain(`10.244.20${i}.7`);
      if (version !== '0.3.0' && version !== '0.3.1') await runner.check(list, rt);
      await runner.del(list, rt);
      expect((await pod.ipJson<{ ifname: string }[]>('link', 'show')).map((l) => l.ifname)).not.toContain(
        'eth0',
      );
    });
  }

  it('delegateAdd/Check/Del drive host-local; withDelegatedAdd releases the IP when later work fails', async () => {
    const dataDir = join(tmp, 'ipam');
    const conf = (prev?: unknown) =>
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'mctdeleg',
        type: 'bridge',
        ipam: { type: 'host-local', subnet: '10.244.210.0/24', dataDir },
        ...(prev ? { prevResult: prev } : {}),
      });
    const env = {
      PATH: process.env.PATH,
      CNI_PATH: REF,
      CNI_CONTAINERID: 'd1',
      CNI_IFNAME: 'eth0',
      CNI_NETNS: '/run/netns/none',
    };
    const r = await delegateAdd('host-local', conf(), env);
    expect(r).toMatchObject({
      cniVersion: '1.1.0',
      ips: [{ address: '10.244.210.2/24', gateway: '10.244.210.1' }],
    });
    expect(existsSync(join(dataDir, 'mctdeleg', '10.244.210.2'))).toBe(true);
    await delegateCheck('host-local', conf({ ...r, cniVersion: '1.0.0' }), env);
    await delegateDel('host-local', conf(), env);
    expect(existsSync(join(dataDir, 'mctdeleg', '10.244.210.2'))).toBe(false);

    const failure = new Error('veth setup failed');
    await expect(
      withDelegatedAdd('host-local', conf(), { ...env, CNI_CONTAINERID: 'd2' }, () =>
        Promise.reject(failure),
      ),
    ).rejects.toBe(failure);
    expect(readdirSync(join(dataDir, 'mctdeleg')).filter((f) => /^\d/.test(f))).toEqual([]);

    // host-local's own CNI error comes back as a CniError with its code and message.
    const bad = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'mctdeleg',
      type: 'x',
      ipam: { type: 'host-local' },
    });
    await expect(delegateAdd('host-local', bad, env)).rejects.toMatchObject({
      name: 'CniError',
      code: expect.any(Number),
    });
  });
});
