import { describe, expect, it } from 'vitest';
import { parseResult } from './result-parse.js';

describe('parseResult', () => {
  it('keeps exactly the fields of the declared version', () => {
    const r110 = {
      cniVersion: '1.1.0',
      interfaces: [
        {
          name: 'eth0',
          mac: '0a:58:0a:f4:00:05',
          sandbox: '/run/netns/p',
          mtu: 1500,
          socketPath: '/s',
          pciID: 'p',
        },
      ],
      ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 0 }],
      routes: [
        { dst: '0.0.0.0/0', gw: '10.0.0.1', mtu: 1400, advmss: 1360, priority: 1, table: 2, scope: 0 },
      ],
      dns: { nameservers: ['10.0.0.53'], domain: 'd', search: ['s'], options: ['o'] },
    };
    expect(parseResult(r110)).toEqual(r110);
    const as100 = parseResult({ ...r110, cniVersion: '1.0.0', extra: 1 });
    expect(as100).toEqual({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', mac: '0a:58:0a:f4:00:05', sandbox: '/run/netns/p' }],
      ips: r110.ips,
      routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }],
      dns: r110.dns,
    });
  });

  it('derives a missing 0.4.0 ips[].version and refuses a wrong one', () => {
    expect(parseResult({ cniVersion: '0.4.0', ips: [{ address: 'fd00::2/64' }] })).toEqual({
      cniVersion: '0.4.0',
      ips: [{ version: '6', address: 'fd00::2/64' }],
    });
    expect(() =>
      parseResult({ cniVersion: '0.4.0', ips: [{ version: '4', address: 'fd00::2/64' }] }),
    ).toThrow(/ips\[0\]\.version is "4" but fd00::2\/64 is IPv6/);
  });

  it('checks 0.2.0 families, addresses, gateways and interface indexes', () => {
    expect(
      parseResult({ cniVersion: '0.2.0', ip4: { ip: '10.0.0.2/24', routes: [{ dst: '0.0.0.0/0' }] } }),
    ).toEqual({
      cniVersion: '0.2.0',
      ip4: { ip: '10.0.0.2/24', routes: [{ dst: '0.0.0.0/0' }] },
    });
    for (const bad of [
      { cniVersion: '0.2.0', ip4: { ip: 'fd00::2/64' } },
      { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2' }] },
      { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24', gateway: 'gw' }] },
      { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24', interface: 0 }] },
      { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', mac: 'bad' }] },
      { cniVersion: '1.0.0', routes: [{ gw: '10.0.0.1' }] },
      { cniVersion: '1.0.0', dns: { nameservers: ['x'] } },
      { cniVersion: '1.1.0', routes: [{ dst: '0.0.0.0/0', scope: 300 }] },
      { ips: [] },
      { cniVersion: '3.0.0' },
      [],
    ]) {
      expect(() => parseResult(bad), JSON.stringify(bad)).toThrow();
    }
  });
});
