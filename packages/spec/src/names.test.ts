import { describe, expect, it } from 'vitest';
import { validateContainerId, validateIfName, validateNetnsPath, validateNetworkName } from './names.js';
import { SpecError } from './errors.js';

function code(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof SpecError ? err.code : 'NOT_A_SPEC_ERROR';
  }
}

describe('names', () => {
  it('container IDs and network names follow ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$', () => {
    for (const ok of ['a', 'abc-123_x.y', '0ctr']) {
      expect(code(() => validateContainerId(ok))).toBeUndefined();
      expect(code(() => validateNetworkName(ok))).toBeUndefined();
    }
    for (const bad of ['', '-a', '_a', '.a', 'a b', 'a/b', 'ä']) {
      expect(code(() => validateContainerId(bad))).toBe('CONTAINER_ID_INVALID');
      expect(code(() => validateNetworkName(bad))).toBe('NETWORK_NAME_INVALID');
    }
  });

  it('interface names: 1-15 bytes, not . or .., no / : or whitespace', () => {
    for (const ok of ['eth0', 'a', 'x'.repeat(15), 'net-1.2_3'])
      expect(code(() => validateIfName(ok))).toBeUndefined();
    for (const bad of [
      '',
      'x'.repeat(16),
      'é'.repeat(8),
      '.',
      '..',
      'a/b',
      'a:b',
      'a b',
      'a\tb',
      'a\nb',
      'a\u0001',
    ]) {
      expect(
        code(() => validateIfName(bad)),
        bad,
      ).toBe('IFNAME_INVALID');
    }
  });

  it('netns paths must be absolute and clean', () => {
    expect(code(() => validateNetnsPath('/run/netns/x'))).toBeUndefined();
    expect(code(() => validateNetnsPath('/proc/123/ns/net'))).toBeUndefined();
    for (const bad of ['run/netns/x', '', '/run/../etc', '/run/\nx']) {
      expect(code(() => validateNetnsPath(bad))).toBe('NETNS_INVALID');
    }
  });
});
