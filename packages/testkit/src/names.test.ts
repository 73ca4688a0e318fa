import { describe, expect, it } from 'vitest';
import { TEST_PREFIX, testName } from './names.js';

describe('testName', () => {
  it('is prefixed, unique and fits an interface name', () => {
    const names = new Set(Array.from({ length: 200 }, () => testName('veth')));
    expect(names.size).toBe(200);
    for (const n of names) {
      expect(n.startsWith(TEST_PREFIX)).toBe(true);
      expect(Buffer.byteLength(n)).toBeLessThanOrEqual(15);
    }
  });
});
