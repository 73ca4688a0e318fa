import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnExec } from '@minicni/spec/invoke';
import { buildStaticIpPlugin } from './bundle-plugin.js';

// runPlugin's default I/O (process.env, fd 0, process.stdout, process.exitCode) in a real
// process: the docs example plugin, bundled and executed like a runtime executes plugins.

const dir = mkdtempSync(join(tmpdir(), 'mct-spec-proc-'));
let plugin = '';
beforeAll(async () => {
  plugin = await buildStaticIpPlugin(dir);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (env: Record<string, string>, stdin: string) => spawnExec({ file: plugin, env, stdin });
const attach = { CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/p', CNI_IFNAME: 'eth0', CNI_PATH: dir };

describe('a runPlugin executable', () => {
  it('answers VERSION', async () => {
    const r = await run({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      cniVersion: '1.0.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
  });

  it('prints the ADD result from stdin config and CNI_ARGS, exit 0', async () => {
    const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'static-ip' });
    const r = await run({ ...attach, CNI_COMMAND: 'ADD', CNI_ARGS: 'IP=10.244.9.9/24' }, conf);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.244.9.9/24' }] });
  });

  it('fails with one CNI error JSON and exit 1, nothing on stderr, no stack', async () => {
    for (const [env, stdin, code] of [
      [{ ...attach, CNI_COMMAND: 'ADD' }, '', 6],
      [{ ...attach, CNI_COMMAND: 'ADD' }, '{"cniVersion":"1.0.0","name":"n","type":"static-ip"}', 4],
      [{ CNI_COMMAND: 'ADD' }, '{}', 4],
      [{ ...attach, CNI_COMMAND: 'CHECK' }, '{"cniVersion":"0.3.1","name":"n","type":"static-ip"}', 1],
      [{ ...attach, CNI_COMMAND: 'ADD' }, '{"cniVersion":"0.2.0","name":"n","type":"static-ip"}', 1],
    ] as const) {
      const r = await run(env, stdin);
      expect(r.code, r.stdout).toBe(1);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ code });
      expect(r.stdout).not.toMatch(/\bat .*:\d+:\d+/);
    }
  });
});
