import { describe, expect, it } from 'vitest';
import { convertResult, toLatest } from './result-convert.js';
import type { Result, Result020, Result040 } from './result-types.js';

const latest: Result = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'cni0', mac: '0a:58:0a:f4:00:01', mtu: 1500 },
    {
      name: 'eth0',
      mac: '0a:58:0a:f4:00:05',
      sandbox: '/run/netns/p',
      socketPath: '/s',
      pciID: '0000:01:00.0',
    },
  ],
  ips: [
    { address: '10.244.0.5/24', gateway: '10.244.0.1', interface: 1 },
    { address: 'fd00::5/64', gateway: 'fd00::1', interface: 1 },
    { address: '10.244.1.5/24', interface: 1 },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.244.0.1', mtu: 1400, advmss: 1360, priority: 10, table: 100, scope: 0 },
    { dst: '::/0' },
  ],
  dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
};

describe('convertResult (Go pkg/types rules)', () => {
  it('same version is a copy, never the same object', () => {
    const c = convertResult(latest, '1.1.0');
    expect(c).toEqual(latest);
    expect(c).not.toBe(latest);
  });

  it('1.1.0 -> 1.0.0 drops the 1.1.0-only fields', () => {
    expect(convertResult(latest, '1.0.0')).toEqual({
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'cni0', mac: '0a:58:0a:f4:00:01' },
        { name: 'eth0', mac: '0a:58:0a:f4:00:05', sandbox: '/run/netns/p' },
      ],
      ips: latest.ips,
      routes: [{ dst: '0.0.0.0/0', gw: '10.244.0.1' }, { dst: '::/0' }],
      dns: latest.dns,
    });
  });

  it('1.x -> 0.4.0/0.3.x derives ips[].version', () => {
    const r = convertResult(latest, '0.3.1');
    expect(r.cniVersion).toBe('0.3.1');
    expect(r.ips?.map((i) => i.version)).toEqual(['4', '6', '4']);
    expect(r.ips?.[0]).toEqual({
      version: '4',
      address: '10.244.0.5/24',
      gateway: '10.244.0.1',
      interface: 1,
    });
  });

  it('-> 0.2.0 keeps the first IP per family, splits routes, drops interfaces', () => {
    const r: Result020 = convertResult(latest, '0.2.0');
    expect(r).toEqual({
      cniVersion: '0.2.0',
      ip4: { ip: '10.244.0.5/24', gateway: '10.244.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.244.0.1' }] },
      ip6: { ip: 'fd00::5/64', gateway: 'fd00::1', routes: [{ dst: '::/0' }] },
      dns: latest.dns,
    });
  });

  it('-> 0.1.0 drops routes of a family without an address', () => {
    const v4only: Result = {
      cniVersion: '1.1.0',
      ips: [{ address: '10.0.0.2/8' }],
      routes: [{ dst: '::/0' }],
    };
    expect(convertResult(v4only, '0.1.0')).toEqual({ cniVersion: '0.1.0', ip4: { ip: '10.0.0.2/8' } });
  });

  it('a result without IPs cannot go to 0.1.0/0.2.0', () => {
    const none: Result = { cniVersion: '1.1.0', interfaces: [{ name: 'eth0' }] };
    expect(() => convertResult(none, '0.2.0')).toThrow(
      expect.objectContaining({ code: 'RESULT_NOT_CONVERTIBLE' }),
    );
    expect(convertResult(none, '0.4.0')).toEqual({ cniVersion: '0.4.0', interfaces: [{ name: 'eth0' }] });
  });

  it('0.2.0 -> newer merges ip4/ip6 and their routes', () => {
    const old: Result020 = {
      cniVersion: '0.2.0',
      ip4: { ip: '10.0.0.2/24', gateway: '10.0.0.1', routes: [{ dst: '0.0.0.0/0' }] },
      ip6: { ip: 'fd00::2/64', routes: [{ dst: '::/0', gw: 'fd00::1' }] },
    };
    const r: Result040 = convertResult(old, '0.4.0');
    expect(r).toEqual({
      cniVersion: '0.4.0',
      ips: [
        { version: '4', address: '10.0.0.2/24', gateway: '10.0.0.1' },
        { version: '6', address: 'fd00::2/64' },
      ],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'fd00::1' }],
    });
    expect(toLatest(old).ips).toEqual([
      { address: '10.0.0.2/24', gateway: '10.0.0.1' },
      { address: 'fd00::2/64' },
    ]);
  });

  it('0.3.0 <-> 0.4.0 and 0.1.0 <-> 0.2.0 only relabel', () => {
    const r040 = convertResult(latest, '0.4.0');
    expect(convertResult(r040, '0.3.0')).toEqual({ ...r040, cniVersion: '0.3.0' });
    const r020 = convertResult(latest, '0.2.0');
    expect(convertResult(r020, '0.1.0')).toEqual({ ...r020, cniVersion: '0.1.0' });
  });

  it('refuses unknown target versions', () => {
    expect(() => convertResult(latest, '0.5.0')).toThrow(
      expect.objectContaining({ code: 'VERSION_UNSUPPORTED' }),
    );
  });

  it('never modifies its input', () => {
    const before = JSON.stringify(latest);
    for (const v of ['0.1.0', '0.4.0', '1.0.0'] as const) convertResult(latest, v);
    expect(JSON.stringify(latest)).toBe(before);
  });
});
