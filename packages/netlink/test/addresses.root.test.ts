import { nodeNetns, testName, type TestNetns } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import { Netlink } from '../src/index.js';

interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number; scope: string; nodad?: boolean }[];
}

async function ipAddrs(ns: TestNetns, dev: string): Promise<string[]> {
  const [link] = await ns.ipJson<IpAddr[]>('addr', 'show', 'dev', dev);
  return link!.addr_info.filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`);
}

describe('addresses, checked with ip -j addr', () => {
  it('adds, lists, replaces and deletes IPv4 and IPv6 addresses', async () => {
    const br = testName('br');
    await using node = await nodeNetns();
    using nl = Netlink.open({ netns: node.path });
    await nl.links.addBridge({ name: br, up: true });
    await nl.addresses.add(br, '10.244.0.1/24');
    await nl.addresses.add(br, '10.244.5.1/16');
    await nl.addresses.add(br, 'fd00:1::1/64', { noDad: true });
    expect((await ipAddrs(node, br)).sort()).toEqual(['10.244.0.1/24', '10.244.5.1/16', 'fd00:1::1/64']);
    const [link] = await node.ipJson<IpAddr[]>('addr', 'show', 'dev', br);
    expect(link!.addr_info.find((a) => a.local === 'fd00:1::1')).toMatchObject({ nodad: true });

    const ours = await nl.addresses.list({ dev: br });
    expect(
      ours
        .filter((a) => a.scope !== 253)
        .map((a) => a.cidr)
        .sort(),
    ).toEqual((await ipAddrs(node, br)).sort());
    expect((await nl.addresses.list({ family: 6, dev: br })).every((a) => a.family === 6)).toBe(true);

    await expect(nl.addresses.add(br, '10.244.0.1/24')).rejects.toMatchObject({ code: 'EEXIST' });
    // replace updates an address in place (here: its flags) and creates a missing one.
    await nl.addresses.add(br, 'fd00:2::1/64');
    await nl.addresses.replace(br, 'fd00:2::1/64', { noDad: true });
    await nl.addresses.replace(br, '10.244.7.1/24');
    const [replaced] = await node.ipJson<IpAddr[]>('addr', 'show', 'dev', br);
    expect(replaced!.addr_info.filter((a) => a.local === 'fd00:2::1')).toEqual([
      expect.objectContaining({ prefixlen: 64, nodad: true }),
    ]);
    expect(await ipAddrs(node, br)).toContain('10.244.7.1/24');
    await nl.addresses.delete(br, 'fd00:2::1/64');
    await nl.addresses.delete(br, '10.244.7.1/24');
    expect(await nl.addresses.ensure(br, '10.244.0.1/24')).toBe(false);
    expect(await nl.addresses.ensure(br, '10.244.6.1/24')).toBe(true);

    await nl.addresses.delete(br, '10.244.5.1/16');
    await nl.addresses.delete(br, 'fd00:1::1/64');
    expect((await ipAddrs(node, br)).sort()).toEqual(['10.244.0.1/24', '10.244.6.1/24']);
    await expect(nl.addresses.delete(br, '10.244.5.1/16')).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
  });

  it('sets the IPv4 broadcast address like `brd +`', async () => {
    const br = testName('br');
    await using node = await nodeNetns();
    using nl = Netlink.open({ netns: node.path });
    await nl.links.addBridge({ name: br });
    await nl.addresses.add(br, '10.244.8.9/22');
    const [link] = await node.ipJson<{ addr_info: { broadcast?: string }[] }[]>('addr', 'show', 'dev', br);
    expect(link!.addr_info[0]!.broadcast).toBe('10.244.11.255');
  });
});
