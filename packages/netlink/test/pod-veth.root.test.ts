import { nodeNetns, podNetns, testName } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import { Netlink, setupPodVeth, teardownPodVeth } from '../src/index.js';

interface IpLink {
  ifname: string;
  ifindex: number;
  mtu: number;
  address: string;
  flags: string[];
  master?: string;
  linkinfo?: { info_slave_data?: { hairpin?: boolean } };
  addr_info?: { local: string; prefixlen: number; scope: string; tentative?: boolean }[];
}

describe('setupPodVeth / teardownPodVeth, checked with ip -j and ping', () => {
  it('puts a veth into the pod netns with addresses and routes, attached to a bridge with hairpin', async () => {
    const br = testName('br');
    const host = testName('veth');
    await using node = await nodeNetns();
    await using pod = await podNetns();
    using nl = Netlink.open({ netns: node.path });
    const bridge = await nl.links.ensureBridge({ name: br, mtu: 1400 });
    await nl.addresses.ensure(br, '10.244.0.1/24');
    await nl.addresses.ensure(br, 'fd00:244::1/64', { noDad: true });

    const result = await setupPodVeth({
      host: nl,
      podNetns: pod.path,
      ifname: 'eth0',
      hostIfname: host,
      mtu: 1400,
      mac: '02:42:0a:f4:00:05',
      addresses: ['10.244.0.5/24', 'fd00:244::5/64'],
      routes: [
        { dst: '0.0.0.0/0', gateway: '10.244.0.1' },
        { dst: '::/0', gateway: 'fd00:244::1' },
      ],
      master: bridge.index,
      hairpin: true,
    });

    const [hostIp] = await node.ipJson<IpLink[]>('-d', 'link', 'show', host);
    const [podIp] = await pod.ipJson<IpLink[]>('-d', 'addr', 'show', 'eth0');
    expect(result).toEqual({
      host: { name: host, index: hostIp!.ifindex, mac: hostIp!.address },
      pod: { name: 'eth0', index: podIp!.ifindex, mac: '02:42:0a:f4:00:05' },
    });
    expect(hostIp).toMatchObject({ mtu: 1400, master: br, linkinfo: { info_slave_data: { hairpin: true } } });
    expect(hostIp!.flags).toContain('UP');
    expect(podIp).toMatchObject({ mtu: 1400, address: '02:42:0a:f4:00:05' });
    expect(podIp!.flags).toContain('UP');
    const global = podIp!.addr_info!.filter((a) => a.scope === 'global');
    expect(global.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(['10.244.0.5/24', 'fd00:244::5/64']);
    expect(global.some((a) => a.tentative)).toBe(false);
    expect((await pod.run('sysctl', ['-n', 'net.ipv6.conf.eth0.accept_dad'])).trim()).toBe('0');
    const routes4 = await pod.ipJson<{ dst: string; gateway?: string; dev: string }[]>('route', 'show');
    expect(routes4).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: '10.244.0.1', dev: 'eth0' }),
    );
    const routes6 = await pod.ipJson<{ dst: string; gateway?: string }[]>('-6', 'route', 'show');
    expect(routes6).toContainEqual(expect.objectContaining({ dst: 'default', gateway: 'fd00:244::1' }));
    // Traffic stays inside our two namespaces: the pod reaches its gateway on the bridge at once.
    await pod.run('ping', ['-c', '1', '-W', '2', '10.244.0.1']);
    await pod.run('ping', ['-6', '-c', '1', '-W', '2', 'fd00:244::1']);

    expect(await teardownPodVeth({ podNetns: pod.path, ifname: 'eth0' })).toBe(true);
    expect(await node.ipJson('link', 'show', 'master', br)).toEqual([]);
    expect((await pod.ipJson<IpLink[]>('link', 'show')).map((l) => l.ifname)).toEqual(['lo']);
    expect(await teardownPodVeth({ podNetns: pod.path, ifname: 'eth0' })).toBe(false);
  });

  it('undoes the veth when a later step fails, and reports that step', async () => {
    const host = testName('veth');
    await using node = await nodeNetns();
    await using pod = await podNetns();
    using nl = Netlink.open({ netns: node.path });
    const err = await setupPodVeth({
      host: nl,
      podNetns: pod.path,
      ifname: 'eth0',
      hostIfname: host,
      addresses: ['10.244.0.5/24'],
      routes: [{ dst: '0.0.0.0/0', gateway: '10.99.0.1' }],
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'ENETUNREACH',
      operation: expect.stringContaining('route add 0.0.0.0/0 via 10.99.0.1'),
    });
    expect((await node.ipJson<IpLink[]>('link', 'show')).map((l) => l.ifname)).toEqual(['lo']);
    expect((await pod.ipJson<IpLink[]>('link', 'show')).map((l) => l.ifname)).toEqual(['lo']);
  });

  it('fails with EEXIST when the pod already has the interface, leaving it alone', async () => {
    const host = testName('veth');
    await using node = await nodeNetns();
    await using pod = await podNetns();
    using nl = Netlink.open({ netns: node.path });
    await pod.run('ip', ['link', 'add', 'eth0', 'type', 'bridge']);
    await expect(
      setupPodVeth({ host: nl, podNetns: pod.path, ifname: 'eth0', hostIfname: host }),
    ).rejects.toMatchObject({
      code: 'EEXIST',
    });
    expect((await node.ipJson<IpLink[]>('link', 'show')).map((l) => l.ifname)).toEqual(['lo']);
    expect((await pod.ipJson<IpLink[]>('link', 'show')).map((l) => l.ifname)).toEqual(['lo', 'eth0']);
  });

  it('tears down successfully when the pod netns is already gone', async () => {
    const pod = await podNetns();
    const path = pod.path;
    await pod[Symbol.asyncDispose]();
    expect(await teardownPodVeth({ podNetns: path, ifname: 'eth0' })).toBe(false);
  });
});
