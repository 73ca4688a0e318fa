import fc from 'fast-check';
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { NetlinkInputError } from '../errors.js';
import { formatIp, formatMac, networkOf, parseCidr, parseIp, parseMac } from './ip.js';

describe('IP addresses', () => {
  it('parses IPv4 and IPv6 forms', () => {
    expect(parseIp('10.244.0.5')).toEqual({ family: 4, bytes: Buffer.from([10, 244, 0, 5]) });
    expect(parseIp('fd00::1').bytes.toString('hex')).toBe('fd000000000000000000000000000001');
    expect(parseIp('::').bytes.toString('hex')).toBe('0'.repeat(32));
    expect(parseIp('::ffff:10.0.0.1').bytes.toString('hex')).toBe('00000000000000000000ffff0a000001');
    expect(parseIp('1:2:3:4:5:6:7:8').bytes.toString('hex')).toBe('00010002000300040005000600070008');
  });

  it('rejects malformed addresses with a typed error', () => {
    for (const bad of [
      '',
      '10.0.0',
      '10.0.0.256',
      '01.2.3.4',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      'fd00::g',
      ':::',
      'x',
    ]) {
      expect(() => parseIp(bad), bad).toThrow(NetlinkInputError);
    }
  });

  it('parses CIDRs and computes networks', () => {
    expect(parseCidr('10.244.0.5/24').prefixLength).toBe(24);
    expect(parseCidr('fd00::5').prefixLength).toBe(128);
    expect(formatIp(networkOf(parseCidr('10.244.3.77/22')))).toBe('10.244.0.0');
    expect(formatIp(networkOf(parseCidr('fd00:1:2:3::9/48')))).toBe('fd00:1:2::');
    expect(() => parseCidr('10.0.0.1/33')).toThrow(NetlinkInputError);
    expect(() => parseCidr('10.0.0.1/')).toThrow(NetlinkInputError);
  });

  it('formats IPv6 like iproute2 (RFC 5952)', () => {
    expect(formatIp(parseIp('fd00:0:0:0:0:0:0:1').bytes)).toBe('fd00::1');
    expect(formatIp(parseIp('1:0:0:2:0:0:0:3').bytes)).toBe('1:0:0:2::3');
    expect(formatIp(parseIp('1:0:2:3:4:5:6:7').bytes)).toBe('1:0:2:3:4:5:6:7');
    expect(formatIp(parseIp('fe80::aa:bbbb').bytes)).toBe('fe80::aa:bbbb');
  });

  it('round-trips every address: parse(format(bytes)) == bytes, and format gives what net.isIP accepts', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ minLength: 4, maxLength: 4 }),
          fc.uint8Array({ minLength: 16, maxLength: 16 }),
        ),
        (bytes) => {
          const text = formatIp(bytes);
          expect(isIP(text)).toBe(bytes.length === 4 ? 4 : 6);
          expect(Buffer.compare(parseIp(text).bytes, Buffer.from(bytes))).toBe(0);
        },
      ),
    );
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        expect(isIP(formatIp(parseIp(text).bytes))).toBe(6);
      }),
    );
  });

  it('writes RFC 5952 for zero-heavy addresses: the longest run of two or more zero groups (the first of equals) as ::', () => {
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
        const bytes = Buffer.alloc(16);
        groups.forEach((g, i) => bytes.writeUInt16BE(g, 2 * i));
        const text = formatIp(bytes);
        expect(Buffer.compare(parseIp(text).bytes, bytes)).toBe(0);
        if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return;
        let best = -1;
        let len = 1;
        for (let i = 0; i < 8; i++) {
          let j = i;
          while (j < 8 && groups[j] === 0) j++;
          if (j - i > len) [best, len] = [i, j - i];
        }
        const hex = groups.map((g) => g.toString(16));
        const want =
          best < 0 ? hex.join(':') : `${hex.slice(0, best).join(':')}::${hex.slice(best + len).join(':')}`;
        expect(text).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });

  it('parses and formats MAC addresses', () => {
    expect(formatMac(parseMac('02:AA:bb:00:01:ff'))).toBe('02:aa:bb:00:01:ff');
    expect(formatMac(parseMac('02-aa-bb-00-01-ff'))).toBe('02:aa:bb:00:01:ff');
    expect(() => parseMac('02:aa:bb:00:01')).toThrow(NetlinkInputError);
  });
});
