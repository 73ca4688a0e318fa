import { describe, expect, it } from 'vitest';
import { SYSTEM_PATH, runtimeEnv } from './runtime-env.js';

describe('runtimeEnv', () => {
  it("keeps only what a node's service would have, plus what the test adds", () => {
    const env = runtimeEnv(
      { CONTAINERS_CONF: '/x/containers.conf' },
      { PATH: '/work/node_modules/.bin:/usr/bin', HOME: '/root', VITEST: 'true', NODE_OPTIONS: '--inspect' },
    );
    expect(env).toEqual({ PATH: SYSTEM_PATH, HOME: '/root', CONTAINERS_CONF: '/x/containers.conf' });
  });

  it('passes TMPDIR on, and lets the test override PATH', () => {
    expect(runtimeEnv({ PATH: '/opt/bin' }, { TMPDIR: '/scratch' })).toEqual({
      PATH: '/opt/bin',
      HOME: '/root',
      TMPDIR: '/scratch',
    });
  });
});
