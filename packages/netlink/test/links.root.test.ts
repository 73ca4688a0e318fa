import { nodeNetns, podNetns, testName } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import { Netlink, NetlinkError } from '../src/index.js';

interface IpLink {
  ifname: string;
  ifindex: number;
  mtu: number;
  address: string;
  flags: string[];
  master?: string;
  link_netnsid?: number;
  linkinfo?: {
    info_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_kind?: string;
    info_slave_data?: Record<string, unknown>;
  };
}

// Every check reads the kernel's state back through iproute2, the independent witness.
describe('links, checked with ip -j link', () => {
  it('lists and gets links as ip sees them', async () => {
    const br = testName('br');
    await using node = await nodeNetns();
    using nl = Netlink.open({ netns: node.path });
    await node.run('ip', ['link', 'add', br, 'type', 'bridge']);
    const ip = await node.ipJson<IpLink[]>('link', 'show');
    const ours = await nl.links.list();
    expect(ours.map((l) => [l.name, l.index, l.mtu, l.mac])).toEqual(
      ip.map((l) => [l.ifname, l.ifindex, l.mtu, l.address]),
    );
    expect(await nl.links.get(br)).toEqual(await nl.links.get(ip[1]!.ifindex));
    await expect(nl.links.get('nosuch')).rejects.toMatchObject({
      code: 'ENODEV',
      operation: 'link get nosuch',
    });
  });

  it('lists a dump that spans many datagrams (300 links, addresses and routes)', async () => {
    await using node = await nodeNetns();
    using nl = Netlink.open({ netns: node.path });
    const lines = [];
    for (let i = 0; i < 300; i++) {
      lines.push(`link add mctd${i} up type bridge`, `addr add 10.244.${i >> 8}.${i & 255}/32 dev mctd${i}`);
      lines.push(`route add 10.245.${i >> 2}.${(i & 3) * 64}/26 dev mctd${i}`);
    }
    await node.run('ip', ['-batch', '-'], { stdin: `${lines.join('\n')}\n` });
    const ip = await node.ipJson<IpLink[]>('link', 'show');
    const ours = await nl.links.list();
    expect(ours).toHaveLength(301);
    expect(ours.map((l) => `${l.index} ${l.name}`)).toEqual(ip.map((l) => `${l.ifindex} ${l.ifname}`));
    expect((await nl.addresses.list({ family: 4 })).length).toBe(301);
    expect((await nl.routes.list({ family: 4 })).filter((r) => r.dst.startsWith('10.245.'))).toHaveLength(
      300,
    );
  });

  it('adds a bridge with mtu and mac, brings it up and down', async () => {
    const br = testName('br');
    await using node = await nodeNetns();
    using nl = Netlink.open({ netns: node.path });
    await nl.links.addBridge({ name: br, mtu: 1400, mac: '02:00:00:00:01:01' });
    let [link] = await node.ipJson<IpLink[]>('-d', 'link', 'show', br);
    expect(link).toMatchObject({
      mtu: 1400,
      address: '02:00:00:00:01:01',
      linkinfo: { info_kind: 'bridge' },
    });
    expect(link!.flags).not.toContain('UP');
    await nl.links.setUp(br);
    [link] = await node.ipJson<IpLink[]>('link', 'show', br);
    expect(link!.flags).toContain('UP');
    await nl.links.setDown(link!.ifindex);
    [link] = await node.ipJson<IpLink[]>('link', 'show', br);
    expect(link!.flags).not.toContain('UP');
    const err = await nl.links.addBridge({ name: br }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'EEXIST', errno: 17 });
  });

  it('adds a veth whose peer is created straight in another netns', async () => {
    const v0 = testName('v0');
    await using node = await nodeNetns();
    await using pod = await podNetns();
    using nl = Netlink.open({ netns: node.path });
    await nl.links.addVeth({
      name: v0,
      peerName: 'eth0',
      peerNetns: pod.path,
      mtu: 1450,
      mac: '02:00:00:00:02:01',
      peerMac: '02:00:00:00:02:02',
    });
    const [host] = await node.ipJson<IpLink[]>('-d', 'link', 'show', v0);
    const [peer] = await pod.ipJson<IpLink[]>('-d', 'link', 'show', 'eth0');
    expect(host).toMatchObject({ mtu: 1450, address: '02:00:00:00:02:01', linkinfo: { info_kind: 'veth' } });
    expect(peer).toMatchObject({ mtu: 1450, address: '02:00:00:00:02:02', linkinfo: { info_kind: 'veth' } });
    expect(await node.ipJson('link', 'show', 'eth0').catch(() => [])).toEqual([]);
    expect((await nl.links.get(v0)).linkIndex).toBe(peer!.ifindex);
  });

  it('adds a vxlan with vni, local, underlay dev, port and learning', async () => {
    const under = testName('under');
    const vx = testName('vx');
    await using node = await nodeNetns();
    using nl = Netlink.open({ netns: node.path });
    await nl.links.addBridge({ name: under });
    await nl.links.addVxlan({
      name: vx,
      vni: 4242,
      local: '10.244.7.1',
      dev: under,
      port: 4789,
      learning: false,
    });
    const [ipVx] = await node.ipJson<IpLink[]>('-d', 'link', 'show', vx);
    const underLink = await nl.links.get(under);
    expect(ipVx!.linkinfo).toMatchObject({
      info_kind: 'vxlan',
      info_data: { id: 4242, local: '10.244.7.1', link: under, port: 4789, learning: false },
    });
    expect((await nl.links.get(vx)).vxlan).toEqual({
      vni: 4242,
      local: '10.244.7.1',
      dev: underLink.index,
      port: 4789,
      learning: false,
    });
  });

  it('sets mtu, mac, master, hairpin, nomaster and renames', async () => {
    const br = testName('br');
    const v1 = testName('v1');
    const v1new = testName('v1new');
    await using node = await nodeNetns();
    await using pod = await podNetns();
    using nl = Netlink.open({ netns: node.path });
    await nl.links.addBridge({ name: br });
    await nl.links.addVeth({ name: v1, peerName: 'eth0', peerNetns: pod.path });
    await nl.links.setMtu(v1, 1300);
    await nl.links.setMac(v1, '02:00:00:00:03:01');
    await nl.links.setMaster(v1, br);
    await nl.links.setHairpin(v1, true);
    let [v] = await node.ipJson<IpLink[]>('-d', 'link', 'show', v1);
    expect(v).toMatchObject({ mtu: 1300, address: '02:00:00:00:03:01', master: br });
    expect(v!.linkinfo).toMatchObject({ info_slave_kind: 'bridge', info_slave_data: { hairpin: true } });
    expect(await nl.links.get(v1)).toMatchObject({ hairpin: true, slaveKind: 'bridge' });
    await nl.links.setHairpin(v1, false);
    [v] = await node.ipJson<IpLink[]>('-d', 'link', 'show', v1);
    expect(v!.linkinfo!.info_slave_data).toMatchObject({ hairpin: false });
    await nl.links.setNoMaster(v1);
    [v] = await node.ipJson<IpLink[]>('link', 'show', v1);
    expect(v!.master).toBeUndefined();
    await nl.links.rename(v1, v1new);
    [v] = await node.ipJson<IpLink[]>('link', 'show', v1new);
    expect(v!.address).toBe('02:00:00:00:03:01');
  });

  it('moves a link to another netns and deletes links', async () => {
    const p2 = testName('p2');
    const v2 = testName('v2');
    await using node = await nodeNetns();
    await using pod = await podNetns();
    using nl = Netlink.open({ netns: node.path });
    await nl.links.addVeth({ name: v2, peerName: p2 });
    await nl.links.moveToNetns(p2, pod.name); // a bare name means /run/netns/<name>
    expect((await pod.ipJson<IpLink[]>('link', 'show', p2))[0]!.ifname).toBe(p2);
    expect(await nl.links.find(p2)).toBeUndefined();
    await nl.links.delete(v2);
    expect((await node.ipJson<IpLink[]>('link', 'show')).map((l) => l.ifname)).toEqual(['lo']);
    expect((await pod.ipJson<IpLink[]>('link', 'show')).map((l) => l.ifname)).toEqual(['lo']);
    await expect(nl.links.delete(v2)).rejects.toMatchObject({ code: 'ENODEV' });
  });

  it('ensureBridge creates once, then adjusts, and refuses a non-bridge of that name', async () => {
    const cni = testName('cni');
    const notbr = testName('notbr');
    const notbrp = testName('notbrp');
    await using node = await nodeNetns();
    using nl = Netlink.open({ netns: node.path });
    const first = await nl.links.ensureBridge({ name: cni, mtu: 1400 });
    const second = await nl.links.ensureBridge({ name: cni, mtu: 1380 });
    expect(second.index).toBe(first.index);
    const [link] = await node.ipJson<IpLink[]>('link', 'show', cni);
    expect(link).toMatchObject({ mtu: 1380 });
    expect(link!.flags).toContain('UP');
    await nl.links.addVeth({ name: notbr, peerName: notbrp });
    await expect(nl.links.ensureBridge({ name: notbr })).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('works on a handle in the opener’s own netns too (a child process in the node netns)', async () => {
    await using node = await nodeNetns();
    const own = testName('own');
    const script = `import('${new URL('../dist/index.js', import.meta.url).pathname}').then(async (m) => {
      const nl = m.Netlink.open(); await nl.links.addBridge({ name: '${own}' });
      console.log(JSON.stringify((await nl.links.list()).map((l) => l.name))); nl.close();
    })`;
    const out = await node.run(process.execPath, ['-e', script]);
    expect(JSON.parse(out)).toEqual(['lo', own]);
  });
});
