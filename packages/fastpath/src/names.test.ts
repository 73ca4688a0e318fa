import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { builtShimPath, defaultSocket, standaloneName } from './names.js';

describe('the shim’s name rules', () => {
  it('a shim installed as X looks for /run/X/plugin.sock and falls back to X-standalone', () => {
    expect(defaultSocket('minicni')).toBe('/run/minicni/plugin.sock');
    expect(standaloneName('minicni')).toBe('minicni-standalone');
    expect(defaultSocket('minicni-ptp')).toBe('/run/minicni-ptp/plugin.sock');
    expect(standaloneName('minicni-ptp')).toBe('minicni-ptp-standalone');
  });

  it('knows where the build leaves the shim', () => {
    expect(builtShimPath()).toMatch(/\/packages\/fastpath\/dist\/minicni-shim$/);
    // Built by `pnpm build` before the tests run (the root tests exec it).
    expect(existsSync(builtShimPath())).toBe(true);
  });

  it.each(['', '../x', 'a/b', '.hidden', 'sp ace'])('refuses %j as a plugin name', (name) => {
    expect(() => defaultSocket(name)).toThrow(/must be a file name/);
    expect(() => standaloneName(name)).toThrow(/must be a file name/);
  });
});
