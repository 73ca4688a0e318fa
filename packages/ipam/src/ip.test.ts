import { describe, expect, it } from 'vitest';
import { isIpamError } from './errors.js';
import { canonicalIp, formatIp, isIpv4Mapped, parseIp, tryParseIp } from './ip.js';

describe('parseIp', () => {
  it.each(['10.0.0.1', '0.0.0.0', '255.255.255.255'])('accepts %s', (t) => {
    expect(formatIp(parseIp(t))).toBe(t);
  });

  it.each([
    '010.0.0.1',
    '10.0.0.01',
    '0x0a.0.0.1',
    '10.0.1',
    '10.0.0.256',
    '1e1.0.0.1',
    ' 10.0.0.1',
    '10.0.0.1 ',
    '',
    '10..0.1',
    '+1.0.0.1',
  ])('refuses IPv4 %j', (t) => {
    expect(() => parseIp(t)).toThrow(expect.objectContaining({ code: 'INVALID_ADDRESS' }));
  });

  it('canonicalises IPv6 per RFC 5952', () => {
    expect(canonicalIp('2001:DB8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonicalIp('fd00:0:0:1::')).toBe('fd00:0:0:1::');
    expect(canonicalIp('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    // The longest zero run is compressed, not the first; an embedded IPv4 tail becomes hextets.
    expect(canonicalIp('fd00:0:0:1:0:0:0:1')).toBe('fd00:0:0:1::1');
    expect(canonicalIp('::ffff:1.2.3.4')).toBe('::ffff:102:304');
  });

  it.each(['2001:db8::1::1', '2001:db8:::1', '12345::1', 'g::1', '2001:db8::010.0.0.1', '::1/128'])(
    'refuses IPv6 %j',
    (t) => {
      expect(() => parseIp(t)).toThrow(expect.objectContaining({ code: 'INVALID_ADDRESS' }));
    },
  );

  it('handles zones only when allowed', () => {
    expect(() => parseIp('fe80::1%eth0')).toThrow(/zone/);
    const z = parseIp('fe80::1%eth0', { allowZone: true });
    expect(z.zone).toBe('eth0');
    expect(formatIp(z)).toBe('fe80::1%eth0');
    expect(() => parseIp('fe80::1%eth 0', { allowZone: true })).toThrow();
  });

  it('recognises IPv4-mapped IPv6', () => {
    expect(isIpv4Mapped(parseIp('::ffff:10.0.0.1'))).toBe(true);
    expect(isIpv4Mapped(parseIp('10.0.0.1'))).toBe(false);
    expect(isIpv4Mapped(parseIp('::10.0.0.1'))).toBe(false);
  });

  it('gives typed errors, never plain ones', () => {
    try {
      parseIp('300.1.1.1');
      expect.unreachable();
    } catch (e) {
      expect(isIpamError(e, 'INVALID_ADDRESS')).toBe(true);
    }
  });
});

describe('tryParseIp', () => {
  it("gives parseIp's answer, or undefined where parseIp throws", () => {
    expect(tryParseIp('192.168.50.1')).toEqual({ family: 4, value: 0xc0a83201n });
    expect(tryParseIp('FD00:50::1')).toEqual(parseIp('fd00:50::1'));
    expect(tryParseIp('::ffff:1.2.3.4')?.family).toBe(6);
    for (const t of ['n1', '', '010.0.0.1', '10.0.0.0/8', 'fe80::1%eth0'])
      expect(tryParseIp(t)).toBeUndefined();
    expect(tryParseIp('fe80::1%eth0', { allowZone: true })?.zone).toBe('eth0');
  });
});
