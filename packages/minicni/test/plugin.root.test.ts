import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeNetns, podNetns, testName, type TestNetns } from '@minicni/testkit';
import { HOST_VETH_PATTERN, hostVethName } from '../src/host-veth.js';
import { PluginHarness } from './harness.js';

function conf(h: PluginHarness, bridge: string, extra: Record<string, unknown> = {}) {
  return {
    cniVersion: '1.1.0',
    name: 'mct-bridge',
    type: 'minicni',
    bridge,
    mtu: 1400,
    subnet: '10.244.40.0/24',
    dataDir: h.dataDir,
    ...extra,
  };
}

async function links(ns: TestNetns): Promise<{ ifname: string; master?: string; mtu: number }[]> {
  return ns.ipJson('link', 'show');
}

function reserved(h: PluginHarness, network = 'mct-bridge'): string[] {
  const dir = join(h.dataDir, network);
  return existsSync(dir)
    ? readdirSync(dir).filter((f) => (/^[0-9a-f.:]+$/.test(f) && f.includes('.')) || f.includes(':'))
    : [];
}

describe('minicni bridge plugin (in a throwaway node netns)', () => {
  it('ADD wires two pods that reach their gateway and each other under a FORWARD DROP policy', async () => {
    await using node = await nodeNetns();
    await using p1 = await podNetns();
    await using p2 = await podNetns();
    using h = new PluginHarness(node);
    await node.run('iptables', ['-P', 'FORWARD', 'DROP']);
    const bridge = testName('br');
    const c = conf(h, bridge);
    const a = await h.call('ADD', { containerId: 'ctr-a', netns: p1.path, ifname: 'eth0' }, c);
    expect(a.code, a.stdout).toBe(0);
    const b = await h.call('ADD', { containerId: 'ctr-b', netns: p2.path, ifname: 'eth0' }, c);
    expect(b.code, b.stdout).toBe(0);
    const ipA = a.json.ips![0]!.address;
    const ipB = b.json.ips![0]!.address;
    expect(ipA).toBe('10.244.40.2/24');
    expect(ipB).toBe('10.244.40.3/24');
    expect(a.json.ips![0]!.gateway).toBe('10.244.40.1');
    expect(a.json).toMatchObject({
      cniVersion: '1.1.0',
      interfaces: [
        { name: bridge },
        { name: hostVethName('ctr-a', 'eth0') },
        { name: 'eth0', sandbox: p1.path, mtu: 1400 },
      ],
      routes: [{ dst: '0.0.0.0/0', gw: '10.244.40.1' }],
    });
    // iproute2 as the independent witness.
    const podAddrs = await p1.ipJson<{ addr_info: { local: string; prefixlen: number }[] }[]>(
      'addr',
      'show',
      'eth0',
    );
    expect(podAddrs[0]!.addr_info.map((x) => `${x.local}/${x.prefixlen}`)).toContain(ipA);
    const routes = await p1.ipJson<{ dst: string; gateway?: string }[]>('route', 'show');
    expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.244.40.1' }));
    const nodeLinks = await links(node);
    expect(nodeLinks.find((l) => l.ifname === hostVethName('ctr-a', 'eth0'))).toMatchObject({
      master: bridge,
      mtu: 1400,
    });
    const brAddrs = await node.ipJson<{ addr_info: { local: string }[] }[]>('addr', 'show', bridge);
    expect(brAddrs[0]!.addr_info.map((x) => x.local)).toContain('10.244.40.1');
    expect((await node.run('sysctl', ['-n', 'net.ipv4.ip_forward'])).trim()).toBe('1');

    for (const [pod, dst] of [
      [p1, '10.244.40.1'],
      [p1, ipB.split('/')[0]!],
      [p2, ipA.split('/')[0]!],
    ] as const) {
      const ping = await pod.exec('ping', ['-c', '1', '-W', '2', dst]);
      expect(ping.code, `${pod.name} -> ${dst}: ${ping.stdout}`).toBe(0);
    }
    // The FORWARD jump is first, one chain per network, no per-pod chains.
    const rules = await node.run('iptables-save');
    expect(rules.split('\n').filter((l) => l.startsWith(':MINICNI-'))).toHaveLength(2);
    expect(rules.split('\n').find((l) => l.startsWith('-A FORWARD'))).toMatch(/-j MINICNI-FWD-/);
  });

  it('CHECK passes on live state and fails with code 100 when the pod lost its address', async () => {
    await using node = await nodeNetns();
    await using pod = await podNetns();
    using h = new PluginHarness(node);
    const c = conf(h, testName('br'));
    const call = { containerId: 'ctr-check', netns: pod.path, ifname: 'eth0' };
    const add = await h.call('ADD', call, c);
    expect(add.code, add.stdout).toBe(0);
    const ok = await h.call('CHECK', call, { ...c, prevResult: add.json });
    expect(ok.code, ok.stdout).toBe(0);
    const noPrev = await h.call('CHECK', call, c);
    expect(noPrev.code).toBe(1);
    expect(noPrev.json.code).toBe(7);
    await pod.run('ip', ['addr', 'flush', 'dev', 'eth0']);
    const bad = await h.call('CHECK', call, { ...c, prevResult: add.json });
    expect(bad.json).toMatchObject({ code: 100 });
    expect(bad.json.msg).toMatch(/lacks address 10\.244\.40\.2\/24/);
  });

  it('DEL releases the address even when the netns is gone, and a second DEL succeeds', async () => {
    await using node = await nodeNetns();
    using h = new PluginHarness(node);
    const c = conf(h, testName('br'));
    let podPath: string;
    {
      await using pod = await podNetns();
      podPath = pod.path;
      const add = await h.call('ADD', { containerId: 'ctr-del', netns: pod.path, ifname: 'eth0' }, c);
      expect(add.code, add.stdout).toBe(0);
      expect(reserved(h)).toEqual(['10.244.40.2']);
    }
    // The runtime removed the netns first: DEL gets the old path (or none) and must still clean up.
    const del1 = await h.call('DEL', { containerId: 'ctr-del', netns: podPath, ifname: 'eth0' }, c);
    expect(del1.code, del1.stdout).toBe(0);
    expect(reserved(h)).toEqual([]);
    const del2 = await h.call('DEL', { containerId: 'ctr-del', ifname: 'eth0' }, c);
    expect(del2.code, del2.stdout).toBe(0);
    expect((await links(node)).filter((l) => HOST_VETH_PATTERN.test(l.ifname))).toEqual([]);
  });

  it('ADD refuses an interface name that exists in the pod and changes nothing', async () => {
    await using node = await nodeNetns();
    await using pod = await podNetns();
    using h = new PluginHarness(node);
    await pod.run('ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0']);
    const r = await h.call(
      'ADD',
      { containerId: 'ctr-exists', netns: pod.path, ifname: 'eth0' },
      conf(h, testName('br')),
    );
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 4 });
    expect(r.json.msg).toMatch(/eth0 already exists/);
    expect(reserved(h)).toEqual([]);
    expect((await links(node)).filter((l) => HOST_VETH_PATTERN.test(l.ifname))).toEqual([]);
  });

  it.each([
    ['a subnet with host bits', { subnet: '10.244.44.1/24' }, 7, /host bits/],
    [
      'overlapping range sets',
      { subnet: undefined, ranges: [[{ subnet: '10.244.44.0/24' }], [{ subnet: '10.244.44.0/25' }]] },
      7,
      /overlap/,
    ],
    ['a dataDir escaping with ..', { dataDir: '/tmp/../etc' }, 7, /dataDir/],
  ])('ADD with %s fails with code %i before changing anything', async (_what, patch, code, msg) => {
    await using node = await nodeNetns();
    await using pod = await podNetns();
    using h = new PluginHarness(node);
    const r = await h.call(
      'ADD',
      { containerId: 'ctr-bad', netns: pod.path, ifname: 'eth0' },
      conf(h, testName('br'), patch),
    );
    expect(r.code).toBe(1);
    expect(r.json.code).toBe(code);
    expect(r.json.msg).toMatch(msg);
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
    expect(await node.ipJson<{ ifname: string }[]>('link', 'show')).toEqual([
      expect.objectContaining({ ifname: 'lo' }),
    ]);
    expect(readdirSync(h.dataDir)).toEqual([]);
  });

  it('a failure after the reservation undoes everything: no address, no veth', async () => {
    await using node = await nodeNetns();
    await using pod = await podNetns();
    using h = new PluginHarness(node);
    // Dual stack into a pod with IPv6 switched off: the IPv6 address cannot be added.
    await pod.run('sysctl', ['-w', 'net.ipv6.conf.all.disable_ipv6=1']);
    await pod.run('sysctl', ['-w', 'net.ipv6.conf.default.disable_ipv6=1']);
    const c = conf(h, testName('br'), {
      subnet: undefined,
      ranges: [[{ subnet: '10.244.41.0/24' }], [{ subnet: 'fd00:41::/64' }]],
    });
    const r = await h.call('ADD', { containerId: 'ctr-undo', netns: pod.path, ifname: 'eth0' }, c);
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.code).toBe(5);
    expect(reserved(h)).toEqual([]);
    expect((await links(node)).filter((l) => HOST_VETH_PATTERN.test(l.ifname))).toEqual([]);
    expect(await pod.ipJson<{ ifname: string }[]>('link', 'show')).toEqual([
      expect.objectContaining({ ifname: 'lo' }),
    ]);
  });

  it('dual stack: a pod gets one address per range set and reaches both gateways', async () => {
    await using node = await nodeNetns();
    await using pod = await podNetns();
    using h = new PluginHarness(node);
    const c = conf(h, testName('br'), {
      subnet: undefined,
      ranges: [[{ subnet: '10.244.42.0/24' }], [{ subnet: 'fd00:42::/64' }]],
    });
    const r = await h.call('ADD', { containerId: 'ctr-dual', netns: pod.path, ifname: 'eth0' }, c);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.ips!.map((i) => i.address)).toEqual(['10.244.42.2/24', 'fd00:42::2/64']);
    for (const gw of ['10.244.42.1', 'fd00:42::1']) {
      const ping = await pod.exec('ping', ['-c', '1', '-W', '3', gw]);
      expect(ping.code, `ping ${gw}: ${ping.stdout}`).toBe(0);
    }
    const del = await h.call('DEL', { containerId: 'ctr-dual', netns: pod.path, ifname: 'eth0' }, c);
    expect(del.code).toBe(0);
  });

  it('delegates to the reference host-local when ipam.type names it, and releases through it on DEL', async () => {
    await using node = await nodeNetns();
    await using pod = await podNetns();
    using h = new PluginHarness(node);
    const ipam = { type: 'host-local', subnet: '10.244.45.0/24', dataDir: h.dataDir };
    // host-local 1.1.1 speaks up to 1.0.0: its version error would reach the caller as is.
    const c = conf(h, testName('br'), { cniVersion: '1.0.0', subnet: undefined, dataDir: undefined, ipam });
    const call = { containerId: 'ctr-hl', netns: pod.path, ifname: 'eth0' };
    const add = await h.call('ADD', call, c);
    expect(add.code, add.stdout).toBe(0);
    expect(add.json.ips![0]).toMatchObject({ address: '10.244.45.2/24', gateway: '10.244.45.1' });
    expect(readdirSync(join(h.dataDir, 'mct-bridge'))).toContain('10.244.45.2');
    const ping = await pod.exec('ping', ['-c', '1', '-W', '2', '10.244.45.1']);
    expect(ping.code, ping.stdout).toBe(0);
    expect((await h.call('CHECK', call, { ...c, prevResult: add.json })).code).toBe(0);
    expect((await h.call('DEL', call, c)).code).toBe(0);
    expect(readdirSync(join(h.dataDir, 'mct-bridge'))).not.toContain('10.244.45.2');
  });

  it('the built-in IPAM is also selected with ipam.type "minicni"', async () => {
    await using node = await nodeNetns();
    await using pod = await podNetns();
    using h = new PluginHarness(node);
    const c = conf(h, testName('br'), {
      subnet: undefined,
      dataDir: undefined,
      ipam: { type: 'minicni', subnet: '10.244.46.0/24', dataDir: h.dataDir },
    });
    const add = await h.call('ADD', { containerId: 'ctr-ipam', netns: pod.path, ifname: 'eth0' }, c);
    expect(add.code, add.stdout).toBe(0);
    expect(reserved(h)).toEqual(['10.244.46.2']);
  });

  it('GC releases addresses and removes host veths of attachments that are no longer valid', async () => {
    await using node = await nodeNetns();
    await using p1 = await podNetns();
    await using p2 = await podNetns();
    await using p3 = await podNetns();
    using h = new PluginHarness(node);
    const c = conf(h, testName('br'));
    for (const [i, p] of [p1, p2, p3].entries()) {
      const r = await h.call('ADD', { containerId: `ctr-gc-${i}`, netns: p.path, ifname: 'eth0' }, c);
      expect(r.code, r.stdout).toBe(0);
    }
    // p2 and p3 are "gone" from the runtime's view, but p3's netns is still held (a leaked veth).
    const gc = await h.call(
      'GC',
      {},
      { ...c, 'cni.dev/valid-attachments': [{ containerID: 'ctr-gc-0', ifname: 'eth0' }] },
    );
    expect(gc.code, gc.stdout).toBe(0);
    expect(reserved(h)).toEqual(['10.244.40.2']);
    const left = (await links(node)).filter((l) => HOST_VETH_PATTERN.test(l.ifname)).map((l) => l.ifname);
    expect(left).toEqual([hostVethName('ctr-gc-0', 'eth0')]);
  });

  it('STATUS is ready, then not ready (50) without the readiness file or with an exhausted pool', async () => {
    await using node = await nodeNetns();
    await using pod = await podNetns();
    using h = new PluginHarness(node);
    const c = conf(h, testName('br'), { subnet: '10.244.43.0/30' });
    expect((await h.call('STATUS', {}, c)).code).toBe(0);
    const notSetUp = await h.call('STATUS', {}, { ...c, readinessFile: join(h.dataDir, 'ready') });
    expect(notSetUp.json).toMatchObject({ code: 50 });
    expect(notSetUp.json.msg).toMatch(/not set up/);
    // A /30 has one usable pod address after the gateway.
    const add = await h.call('ADD', { containerId: 'ctr-full', netns: pod.path, ifname: 'eth0' }, c);
    expect(add.code, add.stdout).toBe(0);
    expect((await h.call('STATUS', {}, c)).json).toMatchObject({ code: 50 });
  });
});
