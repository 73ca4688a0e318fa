import { describe, expect, it } from 'vitest';
import { canonicalRange } from './range.js';

describe('pod ranges and special-purpose blocks', () => {
  it.each([
    ['0.0.0.0/0', '0.0.0.0/8'],
    ['0.0.0.0/8', '0.0.0.0/8'],
    ['127.0.0.0/16', '127.0.0.0/8'],
    ['96.0.0.0/3', '127.0.0.0/8'],
    ['224.0.0.0/24', '224.0.0.0/4'],
    ['255.255.255.0/24', '255.255.255.255/32'],
    ['::/0', '::/128'],
    ['::/64', '::/128'],
    ['ff02::/64', 'ff00::/8'],
  ])('refuses %s: it overlaps %s', (subnet, special) => {
    expect(() => canonicalRange({ subnet })).toThrow(expect.objectContaining({ code: 'INVALID_RANGE' }));
    expect(() => canonicalRange({ subnet })).toThrow(
      new RegExp(`overlaps ${special.replaceAll('.', '\\.')}`),
    );
  });

  it.each([
    '1.0.0.0/8',
    '10.244.0.0/16',
    '126.255.255.0/24',
    '223.255.255.0/24',
    'fd00::/64',
    '2001:db8::/64',
  ])('accepts %s', (subnet) => {
    expect(canonicalRange({ subnet }).subnet).toBeDefined();
  });
});
