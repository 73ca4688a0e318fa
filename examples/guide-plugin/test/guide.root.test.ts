// docs/write-a-plugin.md, run: its code blocks are this package's source files byte for byte,
// and the built plugin works in throwaway namespaces, behind the fast-path shim installed as
// `minicni-guide` (served by `minicni-guide serve`) and through its standalone fallback.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeNetns, podNetns, runPluginInNode, type PluginCall, type TestNetns } from '@minicni/testkit';
import { startServe } from '@minicni/testkit/serve-process';
import { builtShimPath } from '@minicni/fastpath';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MAIN = join(root, 'examples', 'guide-plugin', 'dist', 'main.js');
const SHIM = builtShimPath();

/** The doc's code blocks, by the file each is marked with. */
function docBlocks(): Map<string, string> {
  const doc = readFileSync(join(root, 'docs', 'write-a-plugin.md'), 'utf8');
  const blocks = new Map<string, string>();
  for (const m of doc.matchAll(/<!-- file: (\S+) -->\n```ts\n([\s\S]*?)```/g)) blocks.set(m[1]!, m[2]!);
  return blocks;
}

describe('the "write your own plugin" guide', () => {
  it('shows the plugin’s files as they are, in under 60 lines', () => {
    const blocks = docBlocks();
    expect([...blocks.keys()].sort()).toEqual([
      'examples/guide-plugin/src/main.ts',
      'examples/guide-plugin/src/plugin.ts',
    ]);
    let lines = 0;
    for (const [file, code] of blocks) {
      expect(code, file).toBe(readFileSync(join(root, file), 'utf8'));
      lines += code.split('\n').length - 1;
    }
    expect(lines).toBeLessThan(60);
  });

  it('two pods through the shim reach each other; CHECK, DEL, GC; then the standalone fallback', async () => {
    for (const f of [MAIN, SHIM])
      if (!existsSync(f)) throw new Error(`${f} is missing: run \`pnpm build\` first`);
    const work = mkdtempSync(join(tmpdir(), 'mct-guide-'));
    try {
      await using node = await nodeNetns();
      await using p1 = await podNetns();
      await using p2 = await podNetns();
      const bin = join(work, 'bin');
      mkdirSync(bin);
      copyFileSync(SHIM, join(bin, 'minicni-guide'));
      const socket = join(work, 'run', 'plugin.sock');
      const dataDir = join(work, 'data');
      const conf = {
        cniVersion: '1.1.0',
        name: 'mct-guide',
        type: 'minicni-guide',
        ipam: { type: 'minicni', subnet: '10.244.70.0/24', dataDir },
      };
      const call = (command: PluginCall['command'], id: string, pod?: TestNetns, config: unknown = conf) =>
        runPluginInNode(
          node,
          join(bin, 'minicni-guide'),
          {
            command,
            containerId: id,
            ifname: 'eth0',
            ...(pod ? { netns: pod.path } : {}),
            path: '/usr/lib/cni',
            extraEnv: { MINICNI_AGENT_SOCKET: socket },
          },
          config,
        );
      const reserved = () =>
        existsSync(join(dataDir, 'mct-guide'))
          ? readdirSync(join(dataDir, 'mct-guide')).filter((f) => /^[\d.]+$/.test(f))
          : [];
      const hostVeths = async () =>
        (await node.ipJson<{ ifname: string }[]>('link', 'show')).filter((l) =>
          /^gd[0-9a-f]{12}$/.test(l.ifname),
        );

      const server = await startServe([process.execPath, MAIN], socket, node.path);
      try {
        const a = await call('ADD', 'g-a', p1);
        expect(a.code, a.stdout + a.stderr).toBe(0);
        expect(a.json).toMatchObject({
          cniVersion: '1.1.0',
          interfaces: [{ name: expect.stringMatching(/^gd/) }, { name: 'eth0', sandbox: p1.path }],
          ips: [{ address: '10.244.70.2/32', gateway: '10.244.70.1', interface: 1 }],
        });
        expect((await call('ADD', 'g-b', p2)).code).toBe(0);
        expect((await p1.exec('ping', ['-c1', '-W3', '10.244.70.3'])).code).toBe(0);
        expect((await node.exec('ping', ['-c1', '-W3', '10.244.70.2'])).code).toBe(0);
        // The same ifname again: refused before anything is reserved.
        const again = await call('ADD', 'g-c', p1);
        expect(again.json).toMatchObject({ code: 4, msg: expect.stringMatching(/eth0 already exists/) });
        expect(reserved().sort()).toEqual(['10.244.70.2', '10.244.70.3']);

        expect((await call('CHECK', 'g-a', p1, { ...conf, prevResult: a.json })).code).toBe(0);
        await p1.run('ip', ['addr', 'flush', 'dev', 'eth0']);
        const bad = await call('CHECK', 'g-a', p1, { ...conf, prevResult: a.json });
        expect(bad.json).toMatchObject({
          code: 100,
          msg: expect.stringMatching(/eth0 lacks address 10\.244\.70\.2\/32/),
        });

        expect((await call('DEL', 'g-a', p1)).code).toBe(0);
        expect((await call('DEL', 'g-a', p1)).code).toBe(0);
        const gc = await call('GC', 'unused', undefined, { ...conf, 'cni.dev/valid-attachments': [] });
        expect(gc.code, gc.stdout).toBe(0);
        expect(reserved()).toEqual([]);
        expect((await call('DEL', 'g-b', p2)).code).toBe(0);
        expect(await hostVeths()).toEqual([]);
      } finally {
        await server.stop();
      }

      writeFileSync(
        join(bin, 'minicni-guide-standalone'),
        `#!/bin/sh\nexec ${process.execPath} ${MAIN} "$@"\n`,
      );
      chmodSync(join(bin, 'minicni-guide-standalone'), 0o755);
      const v = await call('VERSION', 'x', undefined, { cniVersion: '0.4.0' });
      expect(v.json).toMatchObject({
        cniVersion: '0.4.0',
        supportedVersions: expect.arrayContaining(['0.1.0', '1.1.0']),
      });
      const s = await call('ADD', 'g-s', p2);
      expect(s.code, s.stdout + s.stderr).toBe(0);
      expect((await call('DEL', 'g-s', p2)).code).toBe(0);
      expect(reserved()).toEqual([]);
      expect(await hostVeths()).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
