import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NetlinkInputError } from './errors.js';
import { ownerVethName, ownerVethPattern } from './pod-veth.js';

describe('ownerVethName', () => {
  it('is the prefix and 12 hex digits of SHA-256(containerId/ifname): stable across versions', () => {
    expect(ownerVethName('mc', 'ctr-a', 'eth0')).toBe('mc5492dbf487ca');
    const sha = createHash('sha256').update('ctr-b/net1').digest('hex');
    expect(ownerVethName('ptp', 'ctr-b', 'net1')).toBe(`ptp${sha.slice(0, 12)}`);
  });

  it('gives each owner its own name, always within 15 bytes', () => {
    const names = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const n = ownerVethName('abc', `container-${i}`, i % 2 ? 'eth0' : 'eth1');
      expect(Buffer.byteLength(n)).toBeLessThanOrEqual(15);
      names.add(n);
    }
    expect(names.size).toBe(2000);
    expect(ownerVethName('mc', 'x', 'eth0')).not.toBe(ownerVethName('mc', 'x', 'eth1'));
  });

  it('matches its own names and nothing else', () => {
    const re = ownerVethPattern('mc');
    expect(re.test(ownerVethName('mc', 'ctr', 'eth0'))).toBe(true);
    expect(re.test(ownerVethName('ptp', 'ctr', 'eth0'))).toBe(false);
    expect(re.test('veth0a1b2c3d')).toBe(false);
    expect(re.test('mc0123456789ab0')).toBe(false);
    expect(re.test('mc0123456789AB')).toBe(false);
  });

  it('refuses a prefix that could overflow the name or inject a pattern', () => {
    for (const bad of ['', 'abcd', 'MC', 'm.', 'a|b', 'm1']) {
      expect(() => ownerVethName(bad, 'c', 'eth0')).toThrow(NetlinkInputError);
      expect(() => ownerVethPattern(bad)).toThrow(/prefix/);
    }
  });
});
