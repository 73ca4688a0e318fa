import fc from 'fast-check';
import { formatIp, parseIp } from '@minicni/ipam';
import { describe, expect, it } from 'vitest';
import { canonicalAddress, formatAddress, ipBlockIntervals } from './addresses.js';

describe('addresses', () => {
  it('formatAddress writes what the ipam block writes, for both families', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }),
        fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
        (v4, v6) => {
          expect(formatAddress(4, v4)).toBe(formatIp({ family: 4, value: v4 }));
          expect(formatAddress(6, v6)).toBe(formatIp({ family: 6, value: v6 }));
        },
      ),
    );
    expect(formatAddress(4, 0xffffffffn)).toBe('255.255.255.255');
  });

  it('ipBlockIntervals: the cidr minus its excepts, merged', () => {
    const { family, set } = ipBlockIntervals({
      cidr: '10.0.0.0/24',
      except: ['10.0.0.0/26', '10.0.0.64/26', '10.0.0.192/30'],
    });
    expect(family).toBe(4);
    expect(set.intervals).toEqual([
      { lo: 0x0a000080n, hi: 0x0a0000bfn },
      { lo: 0x0a0000c4n, hi: 0x0a0000ffn },
    ]);
  });
});

describe('canonicalAddress fast path for IPv4', () => {
  it('returns the same text as the full parse for every valid dotted quad, and rejects the rest', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(canonicalAddress(ip, 'x')).toBe(formatIp(parseIp(ip)));
      }),
    );
    for (const bad of ['010.0.0.1', '256.1.1.1', '1.2.3', '1.2.3.4.5', ' 1.2.3.4']) {
      expect(() => canonicalAddress(bad, 'x')).toThrow();
    }
  });
});
