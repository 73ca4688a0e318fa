import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { nodeNetns } from './netns.js';
import { forwardIntoNetns, forwardOutOfNetns, getOverSocket } from './netns-forward.js';

describe('forwards between the test process and a test netns', () => {
  it('into the netns to a server of the test, and out of it to a server on its loopback', async () => {
    await using node = await nodeNetns();
    await node.run('ip', ['link', 'set', 'lo', 'up']);

    // Into: a server of the test reached from 127.0.0.1:<port> inside the netns.
    const outside = createServer((_q, r) => r.end('from the test process'));
    outside.listen(0, '127.0.0.1');
    await once(outside, 'listening');
    try {
      await using into = await forwardIntoNetns(node, {
        host: '127.0.0.1',
        port: (outside.address() as AddressInfo).port,
      });
      const script = `fetch('http://127.0.0.1:${into.port}/').then(async (r) => process.stdout.write(await r.text()))`;
      expect(await node.run(process.execPath, ['-e', script])).toBe('from the test process');
    } finally {
      outside.close();
    }

    // Out: a server on the netns' own loopback, reached through a unix socket.
    const server = spawn(
      'nsenter',
      [
        `--net=${node.path}`,
        '--',
        process.execPath,
        '-e',
        "require('http').createServer((q, r) => r.end('inside ' + q.url)).listen(19153, '127.0.0.1', () => console.log('up'))",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await once(server.stdout, 'data');
      const out = await forwardOutOfNetns(node, { host: '127.0.0.1', port: 19153 });
      const sock = out.socketPath;
      const bodies = await Promise.all([getOverSocket(sock, '/a'), getOverSocket(sock, '/b')]);
      expect(bodies).toEqual(['inside /a', 'inside /b']);
      await out.close();
      expect(existsSync(sock)).toBe(false);
    } finally {
      server.kill('SIGKILL');
    }
  });
});
