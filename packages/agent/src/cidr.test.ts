import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bigIntToIp, canonicalIp, cidrsOverlap, ipToBigInt, parseCidr } from './cidr.js';
import { nodeInfoFromKube } from './node-info.js';

describe('cidr', () => {
  it('parses v4 and v6 prefixes canonically and rejects host bits', () => {
    expect(parseCidr('10.244.1.0/24')).toMatchObject({ family: 4, prefix: 24, text: '10.244.1.0/24' });
    expect(parseCidr('fd00:10:244:0001::/64').text).toBe('fd00:10:244:1::/64');
    expect(() => parseCidr('10.244.1.1/24')).toThrow(/did you mean 10\.244\.1\.0\/24/);
    expect(() => parseCidr('10.244.1.0/33')).toThrow(expect.objectContaining({ code: 'INVALID_CIDR' }));
    expect(() => parseCidr('10.244.1.0')).toThrow(expect.objectContaining({ code: 'INVALID_CIDR' }));
    expect(() => parseCidr('"10.244.1.0/24"')).toThrow(expect.objectContaining({ code: 'INVALID_CIDR' }));
  });

  it('round-trips any IPv6 value through text as RFC 5952 text', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (v) => {
        const text = bigIntToIp(v, 6);
        expect(ipToBigInt(text)).toBe(v);
        expect(canonicalIp(text)).toBe(text);
      }),
    );
    expect(canonicalIp('::ffff:1.2.3.4')).toBe('::ffff:102:304');
    expect(canonicalIp('fd00:0:0:1:0:0:0:1')).toBe('fd00:0:0:1::1');
  });

  it('tells overlapping prefixes', () => {
    expect(cidrsOverlap(parseCidr('10.244.0.0/16'), parseCidr('10.244.3.0/24'))).toBe(true);
    expect(cidrsOverlap(parseCidr('10.244.2.0/24'), parseCidr('10.244.3.0/24'))).toBe(false);
    expect(cidrsOverlap(parseCidr('10.244.0.0/16'), parseCidr('fd00::/8'))).toBe(false);
  });
});

describe('nodeInfoFromKube', () => {
  it('prefers spec.podCIDRs, falls back to spec.podCIDR, and keeps only InternalIPs', () => {
    const dual = nodeInfoFromKube({
      metadata: { name: 'n1' },
      spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'] },
      status: {
        addresses: [
          { type: 'InternalIP', address: '192.168.50.1' },
          { type: 'ExternalIP', address: '203.0.113.1' },
          { type: 'Hostname', address: 'n1' },
          { type: 'InternalIP', address: 'fd00:50::1' },
        ],
      },
    });
    expect(dual).toEqual({
      name: 'n1',
      internalIPs: ['192.168.50.1', 'fd00:50::1'],
      podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'],
    });
    const legacy = nodeInfoFromKube({ metadata: { name: 'n2' }, spec: { podCIDR: '10.244.2.0/24' } });
    expect(legacy.podCIDRs).toEqual(['10.244.2.0/24']);
    expect(nodeInfoFromKube({ metadata: { name: 'n3' } }).podCIDRs).toEqual([]);
    expect(() => nodeInfoFromKube({ spec: {} })).toThrow(expect.objectContaining({ code: 'INVALID_NODE' }));
  });
});
