import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  pickHighestVersion,
  versionAtLeast,
  isCniVersion,
  SPEC_VERSIONS,
} from './versions.js';

describe('versions', () => {
  it('orders numerically, not as text', () => {
    expect(compareVersions('0.10.0', '0.4.0')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0', '1.0.0')).toBe(0);
    expect([...SPEC_VERSIONS].reverse().sort(compareVersions)).toEqual([...SPEC_VERSIONS]);
  });

  it('picks the highest supported of cniVersions', () => {
    expect(pickHighestVersion(['0.3.1', '1.1.0', '1.0.0'], ['0.3.1', '1.0.0'])).toBe('1.0.0');
    expect(pickHighestVersion(['1.1.0', '0.4.0'])).toBe('1.1.0');
    expect(pickHighestVersion(['2.0.0', 'banana'], SPEC_VERSIONS)).toBeUndefined();
  });

  it('gates verbs by version', () => {
    expect(versionAtLeast('0.3.1', '0.4.0')).toBe(false);
    expect(versionAtLeast('1.0.0', '0.4.0')).toBe(true);
    expect(versionAtLeast('x', '0.1.0')).toBe(false);
    expect(isCniVersion('0.3.1')).toBe(true);
    expect(isCniVersion('0.5.0')).toBe(false);
  });
});
