import { describe, expect, it } from 'vitest';
import { parseIpamSettings } from './config.js';
import { formatIp } from './ip.js';

describe('parseIpamSettings (host-local semantics)', () => {
  it('puts the legacy range in front of ranges (dual stack: one set per family)', () => {
    const s = parseIpamSettings({
      config: {
        type: 'host-local',
        subnet: '10.244.1.0/24',
        rangeStart: '10.244.1.10',
        rangeEnd: '10.244.1.20',
        gateway: '10.244.1.254',
        ranges: [[{ subnet: 'fd00:1::/64' }]],
        routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'FD00:1::1' }],
        dataDir: '/tmp/x',
        resolvConf: '/etc/resolv.conf',
      },
    });
    expect(s.rangeSets.map((r) => r.family)).toEqual([4, 6]);
    const r0 = s.rangeSets[0]!.ranges[0]!;
    expect(formatIp({ family: 4, value: r0.start })).toBe('10.244.1.10');
    expect(formatIp({ family: 4, value: r0.gateway })).toBe('10.244.1.254');
    expect(s.routes).toEqual([{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'fd00:1::1' }]);
    expect(s.dataDir).toBe('/tmp/x');
  });

  it('lets the ipRanges capability replace the configured ranges', () => {
    const s = parseIpamSettings({
      config: { subnet: '10.244.1.0/24' },
      runtimeConfig: { ipRanges: [[{ subnet: '10.244.9.0/24' }]] },
    });
    expect(s.rangeSets).toHaveLength(1);
    expect(s.rangeSets[0]!.ranges[0]!.subnet.base & 0xff00n).toBe(0x900n);
  });

  it('collects static requests from CNI_ARGS, args.cni.ips and the ips capability', () => {
    const s = parseIpamSettings({
      config: { ranges: [[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00::/64' }]] },
      cniArgs: 'IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.244.1.9',
      args: { cni: { ips: ['fd00::9'] } },
      runtimeConfig: { ips: ['10.244.1.9/24'] },
    });
    expect(s.requested.map(formatIp)).toEqual(['10.244.1.9', 'fd00::9']);
  });

  it('applies global exclusions to ranges of their family', () => {
    const s = parseIpamSettings({
      config: {
        ranges: [[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00::/64' }]],
        exclude: ['10.244.1.0/28', 'fd00::5'],
      },
    });
    // .1-.254 less .1-.15 (the /28 also covers the gateway .1)
    expect(s.rangeSets[0]!.capacity).toBe(254n - 15n);
    expect(s.rangeSets[1]!.capacity).toBe(2n ** 64n - 1n - 2n);
  });

  it.each([
    [{}, 'INVALID_CONFIG', /no IP ranges/],
    [{ subnet: '10.244.1.5/24' }, 'HOST_BITS_SET', /10\.244\.1\.0\/24/],
    [{ subnet: '10.244.1.0/31' }, 'SUBNET_TOO_SMALL', /too small/],
    [{ subnet: '10.244.1.0/24', rangeStart: '10.244.2.1' }, 'INVALID_RANGE', /outside/],
    [{ subnet: '10.244.1.0/24', rangeEnd: '10.244.1.255' }, 'INVALID_RANGE', /broadcast/],
    [{ ranges: [[{ subnet: '10.0.0.0/16' }], [{ subnet: '10.0.1.0/24' }]] }, 'RANGES_OVERLAP', /overlaps/],
    [{ ranges: [[{ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' }]] }, 'INVALID_RANGE', /mixes/],
    [{ subnet: '10.0.0.0/24', routes: [{ dst: '10.1.0.1/16' }] }, 'HOST_BITS_SET', /host bits/],
    [{ subnet: '10.0.0.0/24', reuseCooldownSeconds: -1 }, 'INVALID_CONFIG', /cooldown/i],
    [{ subnet: '010.0.0.0/24' }, 'INVALID_SUBNET', /leading zeros/],
  ])('refuses %j with %s', (config, code, msg) => {
    expect(() => parseIpamSettings({ config })).toThrow(
      expect.objectContaining({ code, message: expect.stringMatching(msg) }),
    );
  });

  it('refuses a static request that is IPv4-mapped', () => {
    expect(() =>
      parseIpamSettings({ config: { subnet: '10.0.0.0/24' }, cniArgs: 'IP=::ffff:10.0.0.5' }),
    ).toThrow(/IPv4-mapped/);
  });
});
