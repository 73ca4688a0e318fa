// The ptp example behind the fast path: the shim (@minicni/fastpath) installed as `minicni-ptp`,
// forwarding to the built `minicni-ptp serve` running in a throwaway node netns; then, with the
// server stopped, the same shim falling back to `minicni-ptp-standalone` beside it.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runPluginInNode, type PluginCall, type TestNetns } from '@minicni/testkit';
import { startServe } from '@minicni/testkit/serve-process';
import { builtShimPath } from '@minicni/fastpath';
import { hostVeth } from '../src/host-veth.js';
import { PLUGIN_NAME } from '../src/plugin.js';
import { ptpNode } from './harness.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');
const SHIM = builtShimPath();

describe('ptp example through the fast-path shim', () => {
  it('ADD, CHECK and DEL are served by `minicni-ptp serve`; with no server the shim runs minicni-ptp-standalone', async () => {
    for (const f of [MAIN, SHIM])
      if (!existsSync(f)) throw new Error(`${f} is missing: run \`pnpm build\` first`);
    const work = mkdtempSync(join(tmpdir(), 'mct-ptp-fast-'));
    try {
      await using t = await ptpNode(2);
      const {
        node,
        h,
        pods: [p1, p2],
      } = t;
      const bin = join(work, 'bin');
      mkdirSync(bin);
      const installed = join(bin, PLUGIN_NAME);
      copyFileSync(SHIM, installed);
      const socket = join(work, 'run', 'plugin.sock');
      const c = h.conf();
      const call = (command: PluginCall['command'], id: string, pod: TestNetns, config: unknown = c) =>
        runPluginInNode(
          node,
          installed,
          {
            command,
            containerId: id,
            netns: pod.path,
            ifname: 'eth0',
            path: '/usr/lib/cni',
            extraEnv: { MINICNI_AGENT_SOCKET: socket },
          },
          config,
        );

      const server = await startServe([process.execPath, MAIN], socket, node.path);
      try {
        const a = await call('ADD', 'fast-a', p1);
        expect(a.code, a.stdout + a.stderr).toBe(0);
        const b = await call('ADD', 'fast-b', p2);
        expect(b.code, b.stdout + b.stderr).toBe(0);
        expect(a.json).toMatchObject({
          interfaces: [
            { name: hostVeth.name('fast-a', 'eth0') },
            { name: 'eth0', sandbox: p1.path, mtu: 1400 },
          ],
          ips: [{ address: '10.244.50.2/32', gateway: '10.244.50.1', interface: 1 }],
        });
        expect((await p1.exec('ping', ['-c1', '-W3', '10.244.50.3'])).code).toBe(0);
        const check = await call('CHECK', 'fast-a', p1, { ...c, prevResult: a.json });
        expect(check.code, check.stdout).toBe(0);
        for (const [id, pod] of [
          ['fast-a', p1],
          ['fast-b', p2],
        ] as const)
          expect((await call('DEL', id, pod)).code).toBe(0);
        expect(h.reserved()).toEqual([]);
      } finally {
        await server.stop();
      }
      expect(existsSync(socket)).toBe(false);

      // No server: the shim execs minicni-ptp-standalone from its own directory (no env names it).
      writeFileSync(
        join(bin, `${PLUGIN_NAME}-standalone`),
        `#!/bin/sh\nexec ${process.execPath} ${MAIN} "$@"\n`,
      );
      chmodSync(join(bin, `${PLUGIN_NAME}-standalone`), 0o755);
      const a = await call('ADD', 'slow-a', p1);
      expect(a.code, a.stdout + a.stderr).toBe(0);
      // The same store: round robin goes on after the served ADDs' .2 and .3.
      expect(a.json).toMatchObject({ ips: [{ address: '10.244.50.4/32' }] });
      expect((await call('DEL', 'slow-a', p1)).code).toBe(0);
      expect(h.reserved()).toEqual([]);
      const veths = (await node.ipJson<{ ifname: string }[]>('link', 'show')).filter((l) =>
        hostVeth.pattern.test(l.ifname),
      );
      expect(veths).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
