import { describe, expect, it } from 'vitest';
import { desiredState, DEFAULT_VXLAN, type DesiredInput, type Mode } from './desired-state.js';
import type { NodeInfo } from './node-info.js';
import { vtepIp, vtepMac } from './vtep.js';

const n = (name: string, ip: string, ...podCIDRs: string[]): NodeInfo => ({
  name,
  internalIPs: [ip],
  podCIDRs,
});
const a = n('a', '192.168.50.1', '10.244.1.0/24');
const b = n('b', '192.168.50.2', '10.244.2.0/24');
const c = n('c', '192.168.60.3', '10.244.3.0/24');
const nodes = new Map([a, b, c].map((x) => [x.name, x]));
// From a: b is on the same segment, c is reached through a router.
const underlay = new Map([
  ['192.168.50.2', { dev: 'eth0' }],
  ['192.168.60.3', { dev: 'eth0', gateway: '192.168.50.254' }],
]);
const input = (mode: Mode): DesiredInput => ({
  self: a,
  nodes,
  mode,
  vxlan: DEFAULT_VXLAN,
  underlay,
  underlayMtu: 1500,
});

describe('vtep', () => {
  it('derives a locally administered unicast MAC from the node IP, and the .0 VTEP address', () => {
    expect(vtepMac('192.168.50.2')).toBe('0e:6d:c0:a8:32:02');
    const first = parseInt(vtepMac('fd00::2').slice(0, 2), 16);
    expect(first & 0b10).toBe(0b10);
    expect(first & 0b01).toBe(0);
    expect(vtepMac('fd00::2')).not.toBe(vtepMac('fd00::3'));
    expect(vtepIp('10.244.2.0/24')).toBe('10.244.2.0');
  });
});

describe('desiredState', () => {
  it('auto: host-gw to the same-L2 peer, vxlan to the routed one', () => {
    const d = desiredState(input('auto'));
    expect(d.routes).toEqual([
      { dst: '10.244.2.0/24', via: '192.168.50.2', dev: 'eth0', onlink: false },
      { dst: '10.244.3.0/24', via: '10.244.3.0', dev: 'minicni.1', onlink: true },
    ]);
    expect(d.neighbours).toEqual([{ ip: '10.244.3.0', mac: vtepMac('192.168.60.3') }]);
    expect(d.fdb).toEqual([{ mac: vtepMac('192.168.60.3'), dst: '192.168.60.3' }]);
    expect(d.vxlan).toEqual({
      name: 'minicni.1',
      vni: 1,
      port: 8472,
      local: '192.168.50.1',
      mac: vtepMac('192.168.50.1'),
      mtu: 1450,
      addresses: ['10.244.1.0/32'],
    });
    expect(d.paths.map((p) => [p.node, p.kind])).toEqual([
      ['b', 'host-gw'],
      ['c', 'vxlan'],
    ]);
    expect(d.paths[1]!.reason).toMatch(/behind gateway 192\.168\.50\.254/);
  });

  it('vxlan: every peer through the VTEP', () => {
    const d = desiredState(input('vxlan'));
    expect(d.routes.every((r) => r.dev === 'minicni.1' && r.onlink)).toBe(true);
    expect(d.fdb.map((f) => f.dst)).toEqual(['192.168.50.2', '192.168.60.3']);
  });

  it('host-gw: the routed peer is unreachable, no vxlan device', () => {
    const d = desiredState(input('host-gw'));
    expect(d.routes).toHaveLength(1);
    expect(d.vxlan).toBeUndefined();
    expect(d.paths.find((p) => p.node === 'c')).toMatchObject({
      kind: 'unreachable',
      reason: expect.stringMatching(/gateway/),
    });
  });

  it('auto with only same-L2 peers needs no vxlan device; vxlan mode keeps one even with no peers', () => {
    const two = new Map([a, b].map((x) => [x.name, x]));
    expect(desiredState({ ...input('auto'), nodes: two }).vxlan).toBeUndefined();
    expect(desiredState({ ...input('vxlan'), nodes: new Map([['a', a]]) }).vxlan?.addresses).toEqual([
      '10.244.1.0/32',
    ]);
  });

  it('dual stack: a v6 pod CIDR goes host-gw via the v6 InternalIP, else vxlan over the v4 underlay', () => {
    const self: NodeInfo = {
      name: 'a',
      internalIPs: ['192.168.50.1', 'fd00:50::1'],
      podCIDRs: ['10.244.1.0/24', 'fd00:244:1::/64'],
    };
    const peer: NodeInfo = {
      name: 'b',
      internalIPs: ['192.168.50.2', 'fd00:50::2'],
      podCIDRs: ['10.244.2.0/24', 'fd00:244:2::/64'],
    };
    const d = desiredState({
      ...input('auto'),
      self,
      nodes: new Map([
        ['a', self],
        ['b', peer],
      ]),
      underlay: new Map([
        ['192.168.50.2', { dev: 'eth0' }],
        ['fd00:50::2', { dev: 'eth0' }],
      ]),
    });
    expect(d.routes.map((r) => `${r.dst} ${r.via}`)).toEqual([
      '10.244.2.0/24 192.168.50.2',
      'fd00:244:2::/64 fd00:50::2',
    ]);
    const v = desiredState({
      ...input('vxlan'),
      self,
      nodes: new Map([
        ['a', self],
        ['b', peer],
      ]),
    });
    expect(v.routes.map((r) => `${r.dst} ${r.via}`)).toEqual([
      '10.244.2.0/24 10.244.2.0',
      'fd00:244:2::/64 fd00:244:2::',
    ]);
    expect(v.vxlan?.addresses).toEqual(['10.244.1.0/32', 'fd00:244:1::/128']);
    expect(v.fdb).toEqual([{ mac: vtepMac('192.168.50.2'), dst: '192.168.50.2' }]);
  });

  it('skips peers without pod CIDRs and peers overlapping this node', () => {
    const bare = n('d', '192.168.50.4');
    const clash = n('e', '192.168.50.5', '10.244.1.0/25');
    const d = desiredState({
      ...input('auto'),
      nodes: new Map([
        ['a', a],
        ['d', bare],
        ['e', clash],
      ]),
    });
    expect(d.routes).toEqual([]);
    expect(d.paths).toEqual([
      { node: 'e', podCIDR: '10.244.1.0/25', kind: 'unreachable', reason: expect.stringMatching(/overlaps/) },
    ]);
  });
});
