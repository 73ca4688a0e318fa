import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ERRNO, errnoName } from './errno.js';

// Names that share a number with another (EWOULDBLOCK = EAGAIN ...): the table keeps the first.
const ALIASES = new Set(['EWOULDBLOCK', 'EDEADLOCK', 'ENOTSUP']);

describe('errno table', () => {
  it('names every errno Node knows the way Node does', () => {
    for (const [name, n] of Object.entries(constants.errno)) {
      if (ALIASES.has(name)) continue;
      expect(errnoName(n), name).toBe(name);
    }
    for (const [name, n] of Object.entries(ERRNO))
      expect(constants.errno[name as keyof typeof constants.errno]).toBe(n);
    expect(errnoName(9999)).toBe('E9999');
    expect(errnoName(41)).toBe('E41');
  });
});
