import { describe, expect, it } from 'vitest';
import { SPEC_VERSIONS, type PluginHandlers } from '@minicni/spec';
import { serveCommand } from './serve-command.js';

// Only refusals: each is decided before anything listens, so nothing here touches a socket.
const handlers: PluginHandlers = { add: () => ({ interfaces: [], ips: [] }), del: () => {}, check: () => {} };
const opts = { name: 'echo', handlers, run: { supportedVersions: SPEC_VERSIONS } };

describe('serveCommand options', () => {
  it.each([
    [['--socke', '/x'], /unknown serve option --socke/],
    [['--socket'], /--socket needs a value/],
    [['--socket', '--idle-exit'], /--socket needs a value/],
    [['--idle-exit', '0'], /--idle-exit must be a whole number of seconds from 1 to 86400/],
    [['--idle-exit', '1.5'], /--idle-exit must be/],
    [['--idle-exit', '86401'], /--idle-exit must be/],
    [['--pid-file'], /--pid-file needs a value/],
  ])('refuses %j', async (args, message) => {
    await expect(serveCommand(args, opts)).rejects.toThrow(message);
  });

  it('refuses to start for a shim of another build', async () => {
    await expect(serveCommand(['--build-id', 'a1'], { ...opts, buildId: 'b2' })).rejects.toThrow(
      'this executable is build b2, the shim that started it is build a1: install the shim and echo-standalone from one build',
    );
    await expect(serveCommand(['--build-id', 'a1'], opts)).rejects.toThrow(/build \(none\)/);
  });
});
