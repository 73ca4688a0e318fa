import { nodeNetns, testName } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import { Netlink } from '../src/index.js';

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
  flags: string[];
  table?: string;
}

describe('routes, checked with ip -j route', () => {
  it('adds, lists, replaces and deletes IPv4 routes (gateway, dev, metric, scope, onlink, table)', async () => {
    const br = testName('br');
    await using node = await nodeNetns();
    using nl = Netlink.open({ netns: node.path });
    await nl.links.addBridge({ name: br, up: true });
    await nl.addresses.add(br, '10.244.0.1/24');
    await nl.routes.add({ dst: '10.244.1.0/24', gateway: '10.244.0.2', dev: br, metric: 50 });
    await nl.routes.add({ dst: '10.244.2.0/24', dev: br });
    await nl.routes.add({ dst: 'default', gateway: '10.244.0.254' });
    await nl.routes.add({ dst: '10.244.3.0/24', gateway: '10.99.0.1', dev: br, onlink: true });
    await nl.routes.add({ dst: '10.244.4.0/24', dev: br, table: 100, scope: 'link' });

    const main = await node.ipJson<IpRoute[]>('route', 'show');
    const by = (dst: string) => main.find((r) => r.dst === dst);
    expect(by('10.244.1.0/24')).toMatchObject({ gateway: '10.244.0.2', dev: br, metric: 50 });
    expect(by('10.244.2.0/24')).toMatchObject({ dev: br, scope: 'link' });
    // iproute2 leaves out `proto boot`, the default it uses itself; it shows anything else.
    expect(by('10.244.2.0/24')!.protocol).toBeUndefined();
    expect(by('default')).toMatchObject({ gateway: '10.244.0.254', dev: br });
    expect(by('10.244.3.0/24')).toMatchObject({ gateway: '10.99.0.1', flags: ['onlink'] });
    const t100 = await node.ipJson<IpRoute[]>('route', 'show', 'table', '100');
    expect(t100).toEqual([expect.objectContaining({ dst: '10.244.4.0/24', dev: br, scope: 'link' })]);

    const ours = await nl.routes.list({ family: 4 });
    expect(ours.map((r) => r.dst).sort()).toEqual(
      main.map((r) => (r.dst === 'default' ? '0.0.0.0/0' : r.dst)).sort(),
    );
    expect(ours.find((r) => r.dst === '10.244.3.0/24')).toMatchObject({
      onlink: true,
      gateway: '10.99.0.1',
      protocol: 3,
    });
    expect((await nl.routes.list({ table: 100 })).map((r) => r.dst)).toEqual(['10.244.4.0/24']);
    // Protocol filters: the onlink route is the only `proto static` (4) one here.
    await nl.routes.replace({
      dst: '10.244.3.0/24',
      gateway: '10.99.0.1',
      dev: br,
      onlink: true,
      protocol: 4,
    });
    expect((await nl.routes.list({ family: 4, protocol: 4 })).map((r) => r.dst)).toEqual(['10.244.3.0/24']);
    const others = (await nl.routes.list({ family: 4, exceptProtocol: 4 })).map((r) => r.dst).sort();
    expect(others).toEqual(
      ours
        .map((r) => r.dst)
        .filter((d) => d !== '10.244.3.0/24')
        .sort(),
    );
    expect((await nl.routes.list({ table: 'all', family: 4 })).length).toBeGreaterThan(ours.length);

    // route get: the kernel's choice for one destination, as `ip route get` shows it.
    const brIndex = (await nl.links.get(br)).index;
    for (const target of ['10.244.1.77', '10.244.0.9']) {
      const [witness] = await node.ipJson<IpRoute[]>('route', 'get', target);
      const got = await nl.routes.get(target);
      expect(got).toMatchObject({ dst: `${target}/32`, index: brIndex });
      expect(got.gateway).toBe(witness!.gateway);
    }
    expect((await nl.routes.get('10.244.1.77')).gateway).toBe('10.244.0.2');
    expect((await nl.routes.get('10.244.0.9')).gateway).toBeUndefined();
    await nl.routes.delete({ dst: 'default' });
    await expect(nl.routes.get('10.250.0.1')).rejects.toMatchObject({ code: 'ENETUNREACH' });
    await nl.routes.add({ dst: 'default', gateway: '10.244.0.254' });

    await expect(nl.routes.add({ dst: '10.244.2.0/24', dev: br })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await nl.routes.ensure({ dst: '10.244.2.0/24', dev: br })).toBe(false);
    await nl.routes.replace({ dst: '10.244.1.0/24', gateway: '10.244.0.3', dev: br, metric: 50 });
    expect((await node.ipJson<IpRoute[]>('route', 'show', '10.244.1.0/24'))[0]).toMatchObject({
      gateway: '10.244.0.3',
    });

    await nl.routes.delete({ dst: '10.244.1.0/24', metric: 50 });
    await nl.routes.delete({ dst: 'default' });
    await nl.routes.delete({ dst: '10.244.4.0/24', table: 100 });
    const after = (await node.ipJson<IpRoute[]>('route', 'show')).map((r) => r.dst).sort();
    expect(after).toEqual(['10.244.0.0/24', '10.244.2.0/24', '10.244.3.0/24']);
    await expect(nl.routes.delete({ dst: '10.244.1.0/24' })).rejects.toMatchObject({ code: 'ESRCH' });
    await expect(nl.routes.add({ dst: '10.245.0.0/24', gateway: '10.98.0.1' })).rejects.toMatchObject({
      code: 'ENETUNREACH',
      extAck: 'Nexthop has invalid gateway',
    });
  });

  it('adds and deletes IPv6 routes', async () => {
    const br = testName('br');
    await using node = await nodeNetns();
    using nl = Netlink.open({ netns: node.path });
    await nl.links.addBridge({ name: br, up: true });
    await nl.addresses.add(br, 'fd00::1/64', { noDad: true });
    await nl.routes.add({ dst: 'fd00:5::/64', gateway: 'fd00::2', dev: br, metric: 10 });
    await nl.routes.add({ dst: 'default', gateway: 'fd00::254', dev: br });
    const ip6 = await node.ipJson<IpRoute[]>('-6', 'route', 'show');
    expect(ip6.find((r) => r.dst === 'fd00:5::/64')).toMatchObject({
      gateway: 'fd00::2',
      metric: 10,
      dev: br,
    });
    expect(ip6.find((r) => r.dst === 'default')).toMatchObject({ gateway: 'fd00::254' });
    const ours = await nl.routes.list({ family: 6 });
    expect(ours.find((r) => r.dst === '::/0')).toMatchObject({ gateway: 'fd00::254', family: 6 });
    await nl.routes.delete({ dst: 'fd00:5::/64', gateway: 'fd00::2' });
    await nl.routes.delete({ dst: 'default', gateway: 'fd00::254' });
    const left = (await node.ipJson<IpRoute[]>('-6', 'route', 'show')).map((r) => r.dst);
    expect(left).not.toContain('fd00:5::/64');
    expect(left).not.toContain('default');
  });
});
