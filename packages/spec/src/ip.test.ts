import { describe, expect, it } from 'vitest';
import { ipFamily, isCidr, isIPv4, isIPv6, isMac } from './ip.js';

describe('address syntax', () => {
  it.each(['0.0.0.0', '10.244.0.1', '255.255.255.255'])('IPv4 %s', (s) => expect(isIPv4(s)).toBe(true));
  it.each(['256.0.0.1', '1.2.3', '01.2.3.4', '1.2.3.4.5', ''])('not IPv4 %s', (s) =>
    expect(isIPv4(s)).toBe(false),
  );
  it.each(['::', '::1', 'fd00::1', 'fe80::a:b:c:d', '1:2:3:4:5:6:7:8', '::ffff:10.0.0.1', '1::'])(
    'IPv6 %s',
    (s) => expect(isIPv6(s)).toBe(true),
  );
  it.each([
    '1:2:3:4:5:6:7:8:9',
    ':::',
    '1::2::3',
    'fd00::g',
    '12345::',
    'fd00::1%eth0',
    '1:2:3:4:5:6:7::8:9',
  ])('not IPv6 %s', (s) => expect(isIPv6(s)).toBe(false));
  it('families follow Go (IPv4-mapped counts as 4)', () => {
    expect(ipFamily('10.0.0.1/24')).toBe(4);
    expect(ipFamily('fd00::1/64')).toBe(6);
    expect(ipFamily('::ffff:10.0.0.1')).toBe(4);
    expect(ipFamily('nope')).toBeUndefined();
  });
  it('CIDR prefixes are bounded per family', () => {
    expect(isCidr('10.0.0.0/32')).toBe(true);
    expect(isCidr('10.0.0.0/33')).toBe(false);
    expect(isCidr('fd00::/128')).toBe(true);
    expect(isCidr('fd00::/129')).toBe(false);
    expect(isCidr('10.0.0.1')).toBe(false);
  });
  it('MACs', () => {
    expect(isMac('0a:58:0a:f4:00:02')).toBe(true);
    expect(isMac('0A-58-0A-F4-00-02')).toBe(true);
    expect(isMac('0a:58-0a:f4:00:02')).toBe(false);
    expect(isMac('0a:58:0a:f4:00')).toBe(false);
  });
});
