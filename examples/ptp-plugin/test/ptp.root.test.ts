import { describe, expect, it } from 'vitest';
import { podThenGone, type TestNetns } from '@minicni/testkit';
import { hostVeth } from '../src/host-veth.js';
import { ptpNode } from './harness.js';

interface IpLink {
  ifname: string;
  link_type: string;
  mtu: number;
  master?: string;
  linkinfo?: { info_kind: string };
}
interface IpAddr {
  ifname: string;
  addr_info: { local: string; prefixlen: number; family: string }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
  flags: string[];
}

const addrsOf = async (ns: TestNetns, dev: string) =>
  (await ns.ipJson<IpAddr[]>('addr', 'show', 'dev', dev))[0]!.addr_info
    .filter((a) => !a.local.startsWith('fe80'))
    .map((a) => `${a.local}/${a.prefixlen}`);
const hostVeths = async (node: TestNetns) =>
  (await node.ipJson<IpLink[]>('-d', 'link', 'show')).filter((l) => hostVeth.pattern.test(l.ifname));
const ping = async (from: TestNetns, to: string) => {
  const r = await from.exec('ping', ['-c', '1', '-W', '3', to]);
  return r.code === 0 ? 'ok' : `${from.name} -> ${to} failed: ${r.stdout}${r.stderr}`;
};
const ip = (cidr: string) => cidr.split('/')[0]!;

describe('ptp example plugin (in a throwaway node netns)', () => {
  it('ADD gives two pods /32 addresses and host routes; pod->node, node->pod and pod->pod work, L3 through the node', async () => {
    await using t = await ptpNode(2);
    const {
      node,
      h,
      pods: [p1, p2],
    } = t;
    const c = h.conf();
    const [a, b] = await h.addAll(c, [
      ['ctr-a', p1],
      ['ctr-b', p2],
    ]);
    const hostA = hostVeth.name('ctr-a', 'eth0');
    expect(a.json).toMatchObject({
      cniVersion: '1.1.0',
      interfaces: [{ name: hostA }, { name: 'eth0', sandbox: p1.path, mtu: 1400 }],
      ips: [{ address: '10.244.50.2/32', gateway: '10.244.50.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.244.50.1' }],
    });
    expect(b.json.ips).toEqual([{ address: '10.244.50.3/32', gateway: '10.244.50.1', interface: 1 }]);

    // iproute2 as the independent witness, pod side: a host address, a default route on link.
    expect(await addrsOf(p1, 'eth0')).toEqual(['10.244.50.2/32']);
    expect(await p1.ipJson<IpRoute[]>('route', 'show')).toEqual([
      expect.objectContaining({ dst: 'default', gateway: '10.244.50.1', dev: 'eth0', flags: ['onlink'] }),
    ]);
    // Node side: no bridge; each host end holds the gateway and a /32 route to its pod.
    const veths = await hostVeths(node);
    expect(veths.map((l) => l.ifname).sort()).toEqual([hostA, hostVeth.name('ctr-b', 'eth0')].sort());
    expect(
      veths.every((l) => l.linkinfo?.info_kind === 'veth' && l.master === undefined && l.mtu === 1400),
    ).toBe(true);
    expect(
      (await node.ipJson<IpLink[]>('-d', 'link', 'show')).filter((l) => l.linkinfo?.info_kind === 'bridge'),
    ).toEqual([]);
    expect(await addrsOf(node, hostA)).toEqual(['10.244.50.1/32']);
    expect(await node.ipJson<IpRoute[]>('route', 'show', '10.244.50.2/32')).toEqual([
      expect.objectContaining({ dst: '10.244.50.2', dev: hostA }),
    ]);
    expect((await node.run('sysctl', ['-n', 'net.ipv4.ip_forward'])).trim()).toBe('1');

    expect(await ping(p1, '10.244.50.1')).toBe('ok');
    expect(await ping(node, ip(a.json.ips![0]!.address))).toBe('ok');
    expect(await ping(p1, ip(b.json.ips![0]!.address))).toBe('ok');
    expect(await ping(p2, ip(a.json.ips![0]!.address))).toBe('ok');
    // Routed, not switched: the other pod is reached one hop away, TTL decremented by the node.
    expect(await p1.run('ping', ['-c', '1', '-W', '3', '10.244.50.3'])).toMatch(/ttl=63/);
  });

  it('CHECK passes on live state, then fails with code 100 after tampering on either side', async () => {
    await using t = await ptpNode(1);
    const {
      node,
      h,
      pods: [pod],
    } = t;
    const c = h.conf();
    const call = { containerId: 'ctr-check', netns: pod.path, ifname: 'eth0' };
    const add = await h.call('ADD', call, c);
    expect(add.code, add.stdout).toBe(0);
    const checked = { ...c, prevResult: add.json };
    const ok = await h.call('CHECK', call, checked);
    expect(ok.code, ok.stdout).toBe(0);
    const noPrev = await h.call('CHECK', call, c);
    expect(noPrev.json.code).toBe(7);

    await node.run('ip', ['route', 'del', '10.244.50.2/32']);
    const noHostRoute = await h.call('CHECK', call, checked);
    expect(noHostRoute.json).toMatchObject({ code: 100 });
    expect(noHostRoute.json.msg).toMatch(/no route to 10\.244\.50\.2\/32 via ptp/);

    await node.run('ip', ['route', 'add', '10.244.50.2/32', 'dev', hostVeth.name('ctr-check', 'eth0')]);
    expect((await h.call('CHECK', call, checked)).code).toBe(0);
    await pod.run('ip', ['route', 'del', 'default']);
    const noDefault = await h.call('CHECK', call, checked);
    expect(noDefault.json).toMatchObject({ code: 100 });
    expect(noDefault.json.msg).toMatch(/route to 0\.0\.0\.0\/0 via 10\.244\.50\.1 is missing in the pod/);

    // The reservation is part of the attachment: CHECK sees it gone from the store.
    await h.call('DEL', { containerId: 'ctr-check', ifname: 'eth0' }, c);
    expect((await h.call('CHECK', call, checked)).json).toMatchObject({ code: 100 });
  });

  it('DEL releases the address with the netns gone, a second DEL succeeds, nothing is left', async () => {
    await using t = await ptpNode(0);
    const { node, h } = t;
    const c = h.conf();
    const podPath = await podThenGone(async (pod) => {
      const add = await h.call('ADD', { containerId: 'ctr-del', netns: pod.path, ifname: 'eth0' }, c);
      expect(add.code, add.stdout).toBe(0);
      expect(h.reserved()).toEqual(['10.244.50.2']);
      expect(await hostVeths(node)).toHaveLength(1);
    });
    const del1 = await h.call('DEL', { containerId: 'ctr-del', netns: podPath, ifname: 'eth0' }, c);
    expect(del1.code, del1.stdout).toBe(0);
    const del2 = await h.call('DEL', { containerId: 'ctr-del', ifname: 'eth0' }, c);
    expect(del2.code, del2.stdout).toBe(0);
    expect(h.reserved()).toEqual([]);
    expect(await hostVeths(node)).toEqual([]);
    expect(await node.ipJson<IpRoute[]>('route', 'show')).toEqual([]);
  });

  it('DEL of a live pod removes the veth and its host route, twice in a row', async () => {
    await using t = await ptpNode(1);
    const {
      node,
      h,
      pods: [pod],
    } = t;
    const c = h.conf();
    const call = { containerId: 'ctr-live', netns: pod.path, ifname: 'eth0' };
    expect((await h.call('ADD', call, c)).code).toBe(0);
    for (let i = 0; i < 2; i++) expect((await h.call('DEL', call, c)).code).toBe(0);
    expect(h.reserved()).toEqual([]);
    expect(await hostVeths(node)).toEqual([]);
    expect(await node.ipJson<IpRoute[]>('route', 'show')).toEqual([]);
    expect((await pod.ipJson<IpLink[]>('link', 'show')).map((l) => l.ifname)).toEqual(['lo']);
  });

  it('a failure after the veth exists undoes everything: no address, no veth, the blocking route untouched', async () => {
    await using t = await ptpNode(1);
    const {
      node,
      h,
      pods: [pod],
    } = t;
    // Someone else already routes the pod's address: the host route cannot be added.
    await node.run('ip', ['route', 'add', '10.244.50.2/32', 'dev', 'lo']);
    const r = await h.call('ADD', { containerId: 'ctr-undo', netns: pod.path, ifname: 'eth0' }, h.conf());
    expect(r.code, r.stdout).toBe(1);
    expect(r.json).toMatchObject({ code: 5 });
    expect(r.json.msg).toMatch(/10\.244\.50\.2\/32/);
    expect(h.reserved()).toEqual([]);
    expect(await hostVeths(node)).toEqual([]);
    expect((await pod.ipJson<IpLink[]>('link', 'show')).map((l) => l.ifname)).toEqual(['lo']);
    expect(await node.ipJson<IpRoute[]>('route', 'show')).toEqual([
      expect.objectContaining({ dst: '10.244.50.2', dev: 'lo' }),
    ]);
  });

  it('ADD refuses an interface name that exists in the pod and reserves nothing', async () => {
    await using t = await ptpNode(1);
    const {
      node,
      h,
      pods: [pod],
    } = t;
    await pod.run('ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0']);
    const r = await h.call('ADD', { containerId: 'ctr-exists', netns: pod.path, ifname: 'eth0' }, h.conf());
    expect(r.json).toMatchObject({ code: 4 });
    expect(h.reserved()).toEqual([]);
    expect(await hostVeths(node)).toEqual([]);
  });

  it('dual stack: /32 and /128 per pod, pods reach each other over IPv4 and IPv6', async () => {
    await using t = await ptpNode(2);
    const {
      node,
      h,
      pods: [p1, p2],
    } = t;
    const c = h.conf(
      {},
      { subnet: undefined, ranges: [[{ subnet: '10.244.51.0/24' }], [{ subnet: 'fd00:51::/64' }]] },
    );
    const [a] = await h.addAll(c, [
      ['ctr-d1', p1],
      ['ctr-d2', p2],
    ]);
    expect(a.json.ips!.map((i) => i.address)).toEqual(['10.244.51.2/32', 'fd00:51::2/128']);
    expect(a.json.routes).toEqual([
      { dst: '0.0.0.0/0', gw: '10.244.51.1' },
      { dst: '::/0', gw: 'fd00:51::1' },
    ]);
    expect(await addrsOf(p1, 'eth0')).toEqual(['10.244.51.2/32', 'fd00:51::2/128']);
    expect((await node.run('sysctl', ['-n', 'net.ipv6.conf.all.forwarding'])).trim()).toBe('1');
    // Forwarded IPv6 to a brand-new pod answers at once (no wait for the host end's DAD).
    expect(await p1.run('ping', ['-c', '1', '-W', '3', 'fd00:51::3'])).toMatch(/time=\d{1,3}(\.\d+)? ms/);
    for (const [from, to] of [
      [p1, 'fd00:51::1'],
      [p1, 'fd00:51::3'],
      [p2, 'fd00:51::2'],
      [p2, '10.244.51.2'],
    ] as const)
      expect(await ping(from, to)).toBe('ok');
    expect(
      (
        await h.call(
          'CHECK',
          { containerId: 'ctr-d1', netns: p1.path, ifname: 'eth0' },
          { ...c, prevResult: a.json },
        )
      ).code,
    ).toBe(0);
    for (const [id, p] of [
      ['ctr-d1', p1],
      ['ctr-d2', p2],
    ] as const)
      expect((await h.call('DEL', { containerId: id, netns: p.path, ifname: 'eth0' }, c)).code).toBe(0);
    expect(h.reserved()).toEqual([]);
    expect(await node.ipJson<IpRoute[]>('-6', 'route', 'show', 'fd00:51::/64')).toEqual([]);
  });

  it('delegates to host-local when ipam.type is set: ADD, CHECK, DEL through the reference IPAM plugin', async () => {
    await using t = await ptpNode(1);
    const {
      node,
      h,
      pods: [pod],
    } = t;
    const c = h.conf({ cniVersion: '1.0.0' }, { type: 'host-local', subnet: '10.244.52.0/24' });
    const call = { containerId: 'ctr-hl', netns: pod.path, ifname: 'eth0' };
    const add = await h.call('ADD', call, c);
    expect(add.code, add.stdout).toBe(0);
    expect(add.json.ips).toEqual([{ address: '10.244.52.2/32', gateway: '10.244.52.1', interface: 1 }]);
    expect(h.reserved()).toEqual(['10.244.52.2']);
    expect(await ping(pod, '10.244.52.1')).toBe('ok');
    expect((await h.call('CHECK', call, { ...c, prevResult: add.json })).code).toBe(0);
    expect((await h.call('DEL', call, c)).code).toBe(0);
    expect(h.reserved()).toEqual([]);
    expect(await hostVeths(node)).toEqual([]);
  });

  it('GC releases the reservations of attachments that are no longer valid', async () => {
    await using t = await ptpNode(2);
    const {
      h,
      pods: [p1, p2],
    } = t;
    const c = h.conf();
    for (const [i, p] of [p1, p2].entries())
      expect(
        (await h.call('ADD', { containerId: `ctr-gc-${i}`, netns: p.path, ifname: 'eth0' }, c)).code,
      ).toBe(0);
    expect(h.reserved().sort()).toEqual(['10.244.50.2', '10.244.50.3']);
    const gc = await h.gc(c, ['ctr-gc-0']);
    expect(gc.code, gc.stdout).toBe(0);
    expect(h.reserved()).toEqual(['10.244.50.2']);
  });

  it('answers in the config version: a 0.3.1 result', async () => {
    await using t = await ptpNode(1);
    const {
      h,
      pods: [pod],
    } = t;
    const r = await h.call(
      'ADD',
      { containerId: 'ctr-031', netns: pod.path, ifname: 'eth0' },
      h.conf({ cniVersion: '0.3.1' }),
    );
    expect(r.code, r.stdout).toBe(0);
    expect(r.json).toMatchObject({
      cniVersion: '0.3.1',
      ips: [{ version: '4', address: '10.244.50.2/32', interface: 1 }],
    });
  });
});
