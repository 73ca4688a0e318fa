import fc from 'fast-check';
import { Address4, Address6 } from 'ip-address';
import { describe, expect, it } from 'vitest';
import { IpamError } from './errors.js';
import { formatIp, parseIp } from './ip.js';

// parseIp computes plain IPv4 and IPv6 text itself (a fast path); ip-address is the reference.

const u32 = fc.bigInt({ min: 0n, max: 2n ** 32n - 1n });
const hextet = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 0xf }),
  fc.integer({ min: 0, max: 0xffff }),
);
// Uniform 128-bit values rarely hold zero groups, so half the values are built from zero-heavy groups.
const u128 = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }),
  fc
    .array(hextet, { minLength: 8, maxLength: 8 })
    .map((gs) => gs.reduce((v, g) => (v << 16n) | BigInt(g), 0n)),
);

/** How to write an IPv6 value non-canonically: per-group width, per-character case, which zero run becomes `::`. */
const style = fc.record({
  widths: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 8, maxLength: 8 }),
  upper: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  elide: fc.nat(),
});

function groupsOf(value: bigint): number[] {
  return Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
}

function writeIpv6(value: bigint, s: { widths: number[]; upper: number; elide: number }): string {
  const gs = groupsOf(value);
  const text = gs.map((g, i) => g.toString(16).padStart(s.widths[i]!, '0'));
  // Every run of zero groups (any start, any length >= 1) may be written as `::`; or none is.
  const runs: [number, number][] = [];
  for (let start = 0; start < 8; start++)
    for (let end = start; end < 8 && gs[end] === 0; end++) runs.push([start, end + 1]);
  const pick = s.elide % (runs.length + 1);
  let out = text.join(':');
  if (pick < runs.length) {
    const [start, end] = runs[pick]!;
    out = `${text.slice(0, start).join(':')}::${text.slice(end).join(':')}`;
  }
  return [...out].map((c, i) => ((s.upper >> (i % 31)) & 1 ? c.toUpperCase() : c)).join('');
}

describe('parseIp agrees with ip-address', () => {
  it('IPv4: every 32-bit value, in dotted-decimal', () => {
    fc.assert(
      fc.property(u32, (v) => {
        const text = formatIp({ family: 4, value: v });
        expect(parseIp(text)).toEqual({ family: 4, value: new Address4(text).bigInt() });
        expect(parseIp(text).value).toBe(v);
      }),
      { numRuns: 2000 },
    );
  });

  it('IPv6: every 128-bit value, canonical (RFC 5952)', () => {
    fc.assert(
      fc.property(u128, (v) => {
        const text = formatIp({ family: 6, value: v });
        expect(parseIp(text)).toEqual({ family: 6, value: new Address6(text).bigInt() });
        expect(parseIp(text).value).toBe(v);
      }),
      { numRuns: 2000 },
    );
  });

  it('IPv6: non-canonical forms (upper case, leading zeros, 8 groups, :: on any zero run)', () => {
    fc.assert(
      fc.property(u128, style, (v, s) => {
        const text = writeIpv6(v, s);
        expect(parseIp(text)).toEqual({ family: 6, value: new Address6(text).bigInt() });
        expect(parseIp(text).value).toBe(v);
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    '::',
    '::0',
    '0::',
    '::1',
    '1::',
    '1::2',
    '::2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7::',
    '1:2:3::5:6:7:8',
    '0:0:0:0:0:0:0:0',
    'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    'FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF',
    '0000:0000:0000:0000:0000:0000:0000:0001',
    'fd00:10:0:3e8::11',
    'Fd00:0010:0:03E8:0::11',
  ])('IPv6: edge form %s', (text) => {
    expect(parseIp(text)).toEqual({ family: 6, value: new Address6(text).bigInt() });
  });

  // Near-misses of plain IPv6: hex runs of 0-5 digits (or a stray `g`) joined by 0-3 colons. Over these, the
  // reference answer is Address6's value, or parseIp's "not an IPv6 address" error where Address6 throws.
  const hexRun = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.string({
        unit: fc.constantFrom(...'0123456789abcdefABCDEF'),
        minLength: 1,
        maxLength: 4,
      }),
    },
    { weight: 1, arbitrary: fc.constantFrom('', '00000', 'fffff', 'g') },
  );
  const sep = (plain: string) =>
    fc.oneof(
      { weight: 12, arbitrary: fc.constant(plain) },
      { weight: 2, arbitrary: fc.constantFrom('', ':', '::', ':::') },
    );
  const nearMiss = fc
    .tuple(sep(''), fc.array(fc.tuple(hexRun, sep(':')), { minLength: 1, maxLength: 10 }), sep(''))
    .map(
      ([lead, parts, trail]) =>
        lead + parts.map(([h, c], i) => (i === parts.length - 1 ? h : h + c)).join('') + trail,
    )
    .filter((t) => t.includes(':') && t.length <= 64);

  it('IPv6: near-miss text is accepted or refused exactly as before', () => {
    fc.assert(
      fc.property(nearMiss, (text) => {
        let expected: bigint | undefined;
        try {
          expected = new Address6(text).bigInt();
        } catch {
          expected = undefined;
        }
        if (expected === undefined) {
          expect(() => parseIp(text)).toThrow(
            new IpamError('INVALID_ADDRESS', `"${text}" is not an IPv6 address`),
          );
        } else {
          expect(parseIp(text)).toEqual({ family: 6, value: expected });
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('parseIp refuses malformed text with the same errors as before the fast path', () => {
  // The messages are those the Address6-only implementation gave for these inputs.
  it.each([
    [':::', `":::" is not an IPv6 address`],
    [':1::', `":1::" is not an IPv6 address`],
    ['1::2:', `"1::2:" is not an IPv6 address`],
    [':', `":" is not an IPv6 address`],
    ['::::', `"::::" is not an IPv6 address`],
    [':1:2:3:4:5:6:7:8', `":1:2:3:4:5:6:7:8" is not an IPv6 address`],
    ['1:2:3:4:5:6:7:8:', `"1:2:3:4:5:6:7:8:" is not an IPv6 address`],
    ['1:2:3:4:5:6:7:', `"1:2:3:4:5:6:7:" is not an IPv6 address`],
    ['1:2:3:4:5:6:7:8:9', `"1:2:3:4:5:6:7:8:9" is not an IPv6 address`],
    ['::1:2:3:4:5:6:7:8', `"::1:2:3:4:5:6:7:8" is not an IPv6 address`],
    ['1:2:3:4:5:6:7:8::', `"1:2:3:4:5:6:7:8::" is not an IPv6 address`],
    ['1::2:3:4:5:6:7:8', `"1::2:3:4:5:6:7:8" is not an IPv6 address`],
    ['1:2:3:4::5:6:7:8', `"1:2:3:4::5:6:7:8" is not an IPv6 address`],
    ['1::2::3', `"1::2::3" is not an IPv6 address`],
    ['1::2:::3', `"1::2:::3" is not an IPv6 address`],
    ['1:2:3:4:5:6:7', `"1:2:3:4:5:6:7" is not an IPv6 address`],
    ['0:0:0:0:0:0:0:0:0', `"0:0:0:0:0:0:0:0:0" is not an IPv6 address`],
    ['1:2:3:4:5:6:7:8::9', `"1:2:3:4:5:6:7:8::9" is not an IPv6 address`],
    ['12345::1', `"12345::1" is not an IPv6 address`],
    ['::fffff', `"::fffff" is not an IPv6 address`],
    ['1:2:3:4:5:6:7:00000', `"1:2:3:4:5:6:7:00000" is not an IPv6 address`],
    ['g::1', `"g::1" is not an IPv6 address`],
    ['::-1', `"::-1" is not an IPv6 address`],
    ['::0x1', `"::0x1" is not an IPv6 address`],
    ['1::2 ', `"1::2 " is not an IPv6 address`],
    [' ::1', `" ::1" is not an IPv6 address`],
    ['::1\n', `"::1\n" is not an IPv6 address`],
    ['::1/128', `"::1/128" is not an IPv6 address`],
    ['fe80::1%eth0', `"fe80::1%eth0" has a zone (%eth0); a zone is not allowed here`],
    ['::ffff:010.0.0.1', `"::ffff:010.0.0.1" embeds an invalid IPv4 address`],
    ['::ffff:1.2.3', `"::ffff:1.2.3" embeds an invalid IPv4 address`],
    ['1:2:3:4:5:6:1.2.3.4:1', `"1:2:3:4:5:6:1.2.3.4:1" is not an IPv6 address`],
    ['300.1.1.1', `"300.1.1.1" has an octet above 255`],
    ['10.0.0.256', `"10.0.0.256" has an octet above 255`],
    ['1.999.0.0', `"1.999.0.0" has an octet above 255`],
    [
      '010.0.0.1',
      `"010.0.0.1" is not a dotted-decimal IPv4 address (four decimal octets, no leading zeros, no hex)`,
    ],
    ['1.2.3', `"1.2.3" is not a dotted-decimal IPv4 address (four decimal octets, no leading zeros, no hex)`],
    ['', `"" is not an IP address`],
    ['a'.repeat(65), `"${'a'.repeat(65)}" is not an IP address`],
  ])('%j', (text, message) => {
    expect(() => parseIp(text)).toThrow(new IpamError('INVALID_ADDRESS', message));
    expect(() => parseIp(text)).toThrow(expect.objectContaining({ code: 'INVALID_ADDRESS', message }));
  });
});

describe('formatIp agrees with ip-address', () => {
  it('writes IPv4 and IPv6 values as Address4/Address6 correctForm does', () => {
    fc.assert(
      fc.property(u32, (v) => {
        expect(formatIp({ family: 4, value: v })).toBe(Address4.fromBigInt(v).correctForm());
      }),
      { numRuns: 2000 },
    );
    // Zero-heavy values cover every placement of the longest zero run, ties and single zero groups.
    fc.assert(
      fc.property(u128, (v) => {
        expect(formatIp({ family: 6, value: v })).toBe(Address6.fromBigInt(v).correctForm());
      }),
      { numRuns: 5000 },
    );
  });

  it('edge values', () => {
    for (const v of [0n, 1n, 2n ** 128n - 1n, 0xffff_0a00_0001n, 1n << 112n, (1n << 112n) | 1n])
      expect(formatIp({ family: 6, value: v })).toBe(Address6.fromBigInt(v).correctForm());
    for (const text of ['1:0:0:2:0:0:0:3', '1:0:0:2:0:0:3:4', '1:0:2:0:3:0:4:0', '0:0:1:0:0:1:0:0'])
      expect(formatIp(parseIp(text))).toBe(Address6.fromBigInt(parseIp(text).value).correctForm());
    expect(formatIp({ family: 6, value: 1n, zone: 'eth0' })).toBe('::1%eth0');
  });
});
