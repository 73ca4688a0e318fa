import { describe, expect, it } from 'vitest';
import { parseIp } from './ip.js';
import {
  formatSubnet,
  parseCidr,
  parseSubnet,
  subnetContains,
  subnetSize,
  subnetsOverlap,
} from './subnet.js';

describe('parseSubnet', () => {
  it('rejects host bits with the network address to use', () => {
    expect(() => parseSubnet('10.244.1.7/24')).toThrow(
      expect.objectContaining({ code: 'HOST_BITS_SET', message: expect.stringContaining('10.244.1.0/24') }),
    );
    expect(() => parseSubnet('fd00::1/64')).toThrow(expect.objectContaining({ code: 'HOST_BITS_SET' }));
  });

  it('keeps the address when host bits are allowed', () => {
    const { ip, subnet } = parseCidr('10.244.1.7/24', { allowHostBits: true });
    expect(formatSubnet(subnet)).toBe('10.244.1.0/24');
    expect(ip.value & 0xffn).toBe(7n);
  });

  it('writes the subnet canonically', () => {
    expect(formatSubnet(parseSubnet('fd00:10:244:0001::/64'))).toBe('fd00:10:244:1::/64');
    expect(formatSubnet(parseSubnet('FD00:0:0:0::/64'))).toBe('fd00::/64');
  });

  it.each([
    '10.0.0.0',
    '10.0.0.0/33',
    '10.0.0.0/024',
    '10.0.0.0/-1',
    'fd00::/129',
    '::ffff:10.0.0.0/120',
    '10.0.0.0/ 8',
    '"10.0.0.0/8"',
  ])('refuses %j', (t) =>
    expect(() => parseSubnet(t)).toThrow(expect.objectContaining({ code: 'INVALID_SUBNET' })),
  );

  it('sizes as BigInt', () => {
    expect(subnetSize(parseSubnet('fd00::/64'))).toBe(1n << 64n);
    expect(subnetSize(parseSubnet('0.0.0.0/0'))).toBe(1n << 32n);
  });

  it('never lets an IPv4-mapped address match an IPv4 subnet', () => {
    const s = parseSubnet('10.0.0.0/8');
    expect(subnetContains(s, parseIp('10.1.2.3'))).toBe(true);
    expect(subnetContains(s, parseIp('::ffff:10.1.2.3'))).toBe(false);
    expect(subnetContains(parseSubnet('::/0'), parseIp('10.1.2.3'))).toBe(false);
  });

  it('detects overlap only within a family', () => {
    expect(subnetsOverlap(parseSubnet('10.0.0.0/8'), parseSubnet('10.1.0.0/16'))).toBe(true);
    expect(subnetsOverlap(parseSubnet('10.0.0.0/16'), parseSubnet('10.1.0.0/16'))).toBe(false);
    expect(subnetsOverlap(parseSubnet('::/0'), parseSubnet('0.0.0.0/0'))).toBe(false);
  });
});
