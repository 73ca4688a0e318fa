import { nodeNetns, testName } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import { Netlink } from '../src/index.js';

interface IpNeigh {
  dst: string;
  dev: string;
  lladdr?: string;
  state: string[];
}

interface BridgeFdb {
  mac: string;
  dst?: string;
  ifname?: string;
  flags: string[];
  state?: string;
}

describe('neighbours and FDB entries, checked with ip -j neigh and bridge -j fdb', () => {
  it('adds, replaces, lists and deletes IPv4 and IPv6 neighbours', async () => {
    const br = testName('br');
    await using node = await nodeNetns();
    using nl = Netlink.open({ netns: node.path });
    await nl.links.addBridge({ name: br, up: true });
    await nl.neighbours.add({ dev: br, dst: '10.244.0.9', lladdr: '02:00:00:00:00:09' });
    await nl.neighbours.add({ dev: br, dst: 'fd00::9', lladdr: '02:00:00:00:00:0a', state: 'reachable' });
    let ip = await node.ipJson<IpNeigh[]>('neigh', 'show', 'dev', br);
    expect(ip.find((n) => n.dst === '10.244.0.9')).toMatchObject({
      lladdr: '02:00:00:00:00:09',
      state: ['PERMANENT'],
    });
    expect(ip.find((n) => n.dst === 'fd00::9')).toMatchObject({ lladdr: '02:00:00:00:00:0a' });
    await expect(
      nl.neighbours.add({ dev: br, dst: '10.244.0.9', lladdr: '02:00:00:00:00:09' }),
    ).rejects.toMatchObject({
      code: 'EEXIST',
    });
    await nl.neighbours.replace({ dev: br, dst: '10.244.0.9', lladdr: '02:00:00:00:00:19' });
    ip = await node.ipJson<IpNeigh[]>('neigh', 'show', 'dev', br);
    expect(ip.find((n) => n.dst === '10.244.0.9')!.lladdr).toBe('02:00:00:00:00:19');
    // `nud all`: plain `ip neigh` hides NOARP entries (multicast), which a dump includes. The
    // kernel adds those as the new bridge joins groups (an MLD entry, ff02::16, can land between
    // two reads), so ip is read before and after ours: what both saw is in ours, and ours holds
    // nothing neither saw.
    const seen = async () =>
      (await node.ipJson<IpNeigh[]>('neigh', 'show', 'nud', 'all', 'dev', br)).map(
        (n) => `${n.dst} ${n.lladdr}`,
      );
    const before = await seen();
    const ours = (await nl.neighbours.list({ dev: br })).map((n) => `${n.dst} ${n.lladdr}`);
    const after = await seen();
    expect(ours).toEqual(expect.arrayContaining(before.filter((e) => after.includes(e))));
    expect(ours.filter((e) => !before.includes(e) && !after.includes(e))).toEqual([]);
    expect(ours).toEqual(
      expect.arrayContaining(['10.244.0.9 02:00:00:00:00:19', 'fd00::9 02:00:00:00:00:0a']),
    );
    await nl.neighbours.delete({ dev: br, dst: '10.244.0.9' });
    await nl.neighbours.delete({ dev: br, dst: 'fd00::9' });
    expect(await node.ipJson('neigh', 'show', 'dev', br)).toEqual([]);
  });

  it('programs a vxlan device FDB: append remotes to the flood entry, replace, delete', async () => {
    const vx = testName('vx');
    await using node = await nodeNetns();
    using nl = Netlink.open({ netns: node.path });
    await nl.links.addVxlan({ name: vx, vni: 7, port: 4789, learning: false, local: '10.244.7.1' });
    await nl.fdb.append({ dev: vx, mac: '00:00:00:00:00:00', dst: '10.244.7.2' });
    await nl.fdb.append({ dev: vx, mac: '00:00:00:00:00:00', dst: '10.244.7.3' });
    await nl.fdb.add({ dev: vx, mac: '02:00:0a:f4:07:02', dst: '10.244.7.2' });
    const fdb = JSON.parse(await node.run('bridge', ['-j', 'fdb', 'show', 'dev', vx])) as BridgeFdb[];
    const flood = fdb.filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst);
    expect(flood.sort()).toEqual(['10.244.7.2', '10.244.7.3']);
    expect(fdb.find((e) => e.mac === '02:00:0a:f4:07:02')).toMatchObject({
      dst: '10.244.7.2',
      flags: ['self'],
      state: 'permanent',
    });
    const ours = await nl.fdb.list({ dev: vx });
    expect(ours.map((e) => `${e.lladdr} ${e.dst}`).sort()).toEqual(
      fdb.map((e) => `${e.mac} ${e.dst}`).sort(),
    );

    await nl.fdb.replace({ dev: vx, mac: '02:00:0a:f4:07:02', dst: '10.244.7.9' });
    await nl.fdb.delete({ dev: vx, mac: '00:00:00:00:00:00', dst: '10.244.7.3' });
    const after = JSON.parse(await node.run('bridge', ['-j', 'fdb', 'show', 'dev', vx])) as BridgeFdb[];
    expect(after.map((e) => `${e.mac} ${e.dst}`).sort()).toEqual([
      '00:00:00:00:00:00 10.244.7.2',
      '02:00:0a:f4:07:02 10.244.7.9',
    ]);
  });
});
