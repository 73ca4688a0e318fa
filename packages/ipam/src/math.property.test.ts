import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntervalSet } from './intervals.js';
import { formatIp, parseIp, type Family } from './ip.js';
import { canonicalRange } from './range.js';
import { candidates, canonicalRangeSet } from './range-set.js';
import { formatSubnet, parseSubnet, subnetContains, subnetSize, subnetsOverlap } from './subnet.js';

// The model: plain BigInt arithmetic on (base, prefix), written independently of the code.
const bitsOf = (f: Family) => (f === 4 ? 32 : 128);
const modelSize = (f: Family, p: number) => 2n ** BigInt(bitsOf(f) - p);
const modelBase = (f: Family, v: bigint, p: number) => (v / modelSize(f, p)) * modelSize(f, p);

const v4 = fc.bigInt({ min: 0n, max: 2n ** 32n - 1n });
const v6 = fc.bigInt({ min: 0n, max: 2n ** 128n - 1n });
const addr = (f: Family) => (f === 4 ? v4 : v6);
const PREFIXES: Record<Family, number[]> = { 4: [8, 16, 24, 30, 31, 32], 6: [64, 120, 126, 127, 128] };

describe.each([4, 6] as const)('subnet math, IPv%s, against a BigInt model', (family) => {
  const prefix = fc.constantFrom(...PREFIXES[family]);

  it('text round-trips through canonical form', () => {
    fc.assert(
      fc.property(addr(family), (v) => {
        const text = formatIp({ family, value: v });
        expect(parseIp(text)).toEqual({ family, value: v });
        expect(formatIp(parseIp(text.toUpperCase()))).toBe(text);
      }),
    );
  });

  it('contains, size and overlap agree with the model', () => {
    fc.assert(
      fc.property(addr(family), prefix, addr(family), prefix, (a, pa, b, pb) => {
        const sa = parseSubnet(`${formatIp({ family, value: modelBase(family, a, pa) })}/${pa}`);
        const sb = parseSubnet(`${formatIp({ family, value: modelBase(family, b, pb) })}/${pb}`);
        expect(subnetSize(sa)).toBe(modelSize(family, pa));
        const inA = modelBase(family, b, pa) === modelBase(family, a, pa);
        expect(subnetContains(sa, { family, value: b })).toBe(inA);
        const lo = (x: bigint, p: number) => modelBase(family, x, p);
        const hi = (x: bigint, p: number) => lo(x, p) + modelSize(family, p) - 1n;
        const overlap = lo(a, pa) <= hi(b, pb) && lo(b, pb) <= hi(a, pa);
        expect(subnetsOverlap(sa, sb)).toBe(overlap);
        expect(formatSubnet(sa)).toBe(`${formatIp({ family, value: lo(a, pa) })}/${pa}`);
      }),
    );
  });

  it('host bits are refused exactly when the address is not the network address', () => {
    fc.assert(
      fc.property(addr(family), prefix, (a, p) => {
        const text = `${formatIp({ family, value: a })}/${p}`;
        if (modelBase(family, a, p) === a) expect(parseSubnet(text).base).toBe(a);
        else expect(() => parseSubnet(text)).toThrow(expect.objectContaining({ code: 'HOST_BITS_SET' }));
      }),
    );
  });
});

describe('range policy and iteration', () => {
  it.each(['10.0.0.0/31', '10.0.0.0/32', 'fd00::/127', 'fd00::/128'])('refuses %s as too small', (s) => {
    expect(() => canonicalRange({ subnet: s })).toThrow(
      expect.objectContaining({ code: 'SUBNET_TOO_SMALL' }),
    );
  });

  it('uses host-local defaults: gateway .1, start .1, IPv4 end broadcast-1, IPv6 end the last address', () => {
    const r4 = canonicalRange({ subnet: '10.0.0.0/24' });
    expect([r4.start & 0xffn, r4.end & 0xffn, r4.gateway & 0xffn]).toEqual([1n, 254n, 1n]);
    const r6 = canonicalRange({ subnet: 'fd00::/120' });
    expect([r6.start & 0xffn, r6.end & 0xffn]).toEqual([1n, 255n]);
  });

  // Iteration against a model that walks every address (only for small pools).
  const cases: Array<[Family, string]> = [
    [4, '10.9.0.0/24'],
    [4, '10.9.0.0/30'],
    [6, 'fd00:9::/120'],
    [6, 'fd00:9::/126'],
  ];
  it.each(cases)(
    'IPv%s %s: candidates visit each allowed address once, from the cursor, wrapping',
    (family, subnet) => {
      const s = parseSubnet(subnet);
      const size = Number(subnetSize(s));
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(size - 1), fc.nat(8)), { maxLength: 5 }),
          fc.option(fc.nat(size - 1), { nil: undefined }),
          (excl, cursorOff) => {
            const exclude = excl.map(([o, len]) => {
              const lo = s.base + BigInt(o);
              const hi =
                lo + BigInt(len) > s.base + BigInt(size - 1) ? s.base + BigInt(size - 1) : lo + BigInt(len);
              return `${formatIp({ family, value: lo })}-${formatIp({ family, value: hi })}`;
            });
            const set = canonicalRangeSet([{ subnet, exclude }], 'r');
            const r = set.ranges[0]!;
            const blocked = new IntervalSet(
              excl.map(([o, len]) => ({ lo: s.base + BigInt(o), hi: s.base + BigInt(o + len) })),
            );
            const allowed: bigint[] = [];
            for (let v = r.start; v <= r.end; v++) if (v !== r.gateway && !blocked.has(v)) allowed.push(v);
            const cursor =
              cursorOff === undefined ? undefined : { family, value: s.base + BigInt(cursorOff) };
            const got = [...candidates(set, cursor)].map((c) => c.value);
            expect(BigInt(got.length)).toBe(set.capacity);
            expect([...got].sort((a, b) => (a < b ? -1 : 1))).toEqual(allowed);
            if (got.length > 0 && cursor && cursor.value >= r.start && cursor.value <= r.end) {
              const expectedFirst = allowed.find((v) => v > cursor.value) ?? allowed[0];
              expect(got[0]).toBe(expectedFirst);
            }
          },
        ),
        { numRuns: 200 },
      );
    },
  );

  it('starts near 2^63 in a /64 without walking there', () => {
    const set = canonicalRangeSet([{ subnet: 'fd00::/64' }], 'r');
    const base = set.ranges[0]!.subnet.base;
    const it = candidates(set, { family: 6, value: base + 2n ** 63n });
    expect(it.next().value).toEqual({ rangeIndex: 0, value: base + 2n ** 63n + 1n });
    const end = candidates(set, { family: 6, value: base + 2n ** 64n - 1n }).next().value;
    // Wraps to the start; base+1 is the gateway, so base+2 comes first.
    expect(end).toEqual({ rangeIndex: 0, value: base + 2n });
  });
});
