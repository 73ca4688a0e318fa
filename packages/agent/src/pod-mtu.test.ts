import { describe, expect, it } from 'vitest';
import { renderConflist, DEFAULT_TEMPLATE } from './conflist-template.js';
import { defaultRouteMtu, podMtuFor } from './pod-mtu.js';

const ROUTE_HEAD = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT';
const files = (map: Record<string, string>) => (p: string) => {
  if (!(p in map)) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
  return map[p]!;
};

describe('pod MTU', () => {
  it('is the underlay MTU for host-gw and leaves room for the VXLAN header otherwise', () => {
    expect(podMtuFor('host-gw', 1500)).toBe(1500);
    expect(podMtuFor('vxlan', 1500)).toBe(1450);
    expect(podMtuFor('auto', 9001)).toBe(8951);
    expect(podMtuFor('vxlan', 1500, 6)).toBe(1430);
  });

  it("reads the default route's device MTU, lowest metric first", () => {
    const read = files({
      '/proc/net/route': [
        ROUTE_HEAD,
        'eth1\t00000000\t0101A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0',
        'eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0',
        'eth2\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      ].join('\n'),
      '/sys/class/net/eth0/mtu': '9001\n',
      '/sys/class/net/eth1/mtu': '1500\n',
    });
    expect(defaultRouteMtu(read)).toBe(9001);
  });

  it('is undefined without a default route, an unreadable table or a strange MTU', () => {
    expect(defaultRouteMtu(files({}))).toBeUndefined();
    expect(
      defaultRouteMtu(
        files({ '/proc/net/route': `${ROUTE_HEAD}\neth2\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF` }),
      ),
    ).toBeUndefined();
    const route = `${ROUTE_HEAD}\neth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0`;
    expect(
      defaultRouteMtu(files({ '/proc/net/route': route, '/sys/class/net/eth0/mtu': 'x' })),
    ).toBeUndefined();
    expect(defaultRouteMtu(files({ '/proc/net/route': route }))).toBeUndefined();
  });

  it('fills __POD_MTU__ in the default template (1500 when not given)', () => {
    const conf = (podMtu?: number) =>
      JSON.parse(
        renderConflist(DEFAULT_TEMPLATE, {
          nodeName: 'n1',
          podCIDRs: ['10.244.1.0/24'],
          ...(podMtu === undefined ? {} : { podMtu }),
        }),
      ) as { plugins: { mtu: number }[] };
    expect(conf(1450).plugins[0]!.mtu).toBe(1450);
    expect(conf().plugins[0]!.mtu).toBe(1500);
  });
});
