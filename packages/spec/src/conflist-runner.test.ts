import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfList } from './config.js';
import { ConflistRunner } from './conflist-runner.js';
import { CniError } from './errors.js';
import type { PluginExec } from './exec.js';
import type { PluginHandlers } from './plugin-types.js';
import { runPlugin } from './run-plugin.js';

// The runner drives plugins built with runPlugin, in-process through an injected exec: the
// whole runtime <-> plugin protocol without spawning anything.

const tmp = mkdtempSync(join(tmpdir(), 'mct-spec-runner-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Call {
  type: string;
  env: Record<string, string | undefined>;
  stdin: Record<string, unknown>;
}

function fakePlugins(calls: Call[], status?: () => void): PluginExec {
  const plugin = (type: string): PluginHandlers => ({
    add: (ctx) => {
      const prev = ctx.config.prevResult;
      if (type === 'main') {
        return {
          interfaces: [{ name: ctx.ifname, sandbox: ctx.netns }],
          ips: [{ address: '10.244.0.5/24', gateway: '10.244.0.1', interface: 0 }],
          routes: [{ dst: '0.0.0.0/0' }],
        };
      }
      return prev ?? { ips: [] };
    },
    del: () => undefined,
    check: () => undefined,
    status: () => status?.(),
    gc: () => undefined,
  });
  return async (req) => {
    const type = req.file.split('/').at(-1) ?? '';
    let stdout = '';
    const stdin = typeof req.stdin === 'string' ? req.stdin : Buffer.from(req.stdin).toString();
    calls.push({ type, env: { ...req.env }, stdin: JSON.parse(stdin) as Record<string, unknown> });
    const code = await runPlugin(plugin(type), {
      supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'],
      io: { env: req.env, stdin, stdout: (t) => (stdout += t), stderr: () => {}, exit: () => {} },
    });
    return { code, stdout, stderr: '' };
  };
}

const listText = (v: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    cniVersion: v,
    name: 'mctnet',
    ...extra,
    plugins: [
      { type: 'main', capabilities: { portMappings: true } },
      { type: 'meta', capabilities: { bandwidth: true, aliases: false } },
    ],
  });

const rt = {
  containerId: 'ctr1',
  netns: '/run/netns/pod',
  ifname: 'eth0',
  args: [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAME', 'web'],
  ] as [string, string][],
  capabilityArgs: {
    portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }],
    bandwidth: { ingressRate: 5 },
    aliases: ['x'],
  },
};

describe('ConflistRunner', () => {
  it('ADD injects name, cniVersion, declared runtimeConfig and prevResult; caches as cniCacheV1', async () => {
    const calls: Call[] = [];
    const cacheDir = mkdtempSync(join(tmp, 'c-'));
    const runner = new ConflistRunner({
      pluginDirs: ['/p'],
      cacheDir,
      exec: fakePlugins(calls),
      exists: () => true,
    });
    const list = parseConfList(listText('1.0.0'));
    const { result } = await runner.add(list, rt);
    expect(calls.map((c) => c.type)).toEqual(['main', 'meta']);
    expect(calls[0]?.stdin).toEqual({
      type: 'main',
      capabilities: { portMappings: true },
      name: 'mctnet',
      cniVersion: '1.0.0',
      runtimeConfig: { portMappings: rt.capabilityArgs.portMappings },
    });
    expect(calls[1]?.stdin.runtimeConfig).toEqual({ bandwidth: { ingressRate: 5 } });
    expect(calls[1]?.stdin.prevResult).toEqual(result);
    expect(calls[0]?.env).toMatchObject({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'ctr1',
      CNI_NETNS: '/run/netns/pod',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web',
      CNI_PATH: '/p',
    });
    const cache = JSON.parse(readFileSync(join(cacheDir, 'results', 'mctnet-ctr1-eth0'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(cache).toEqual({
      kind: 'cniCacheV1',
      containerId: 'ctr1',
      config: Buffer.from(listText('1.0.0')).toString('base64'),
      ifName: 'eth0',
      networkName: 'mctnet',
      netns: '/run/netns/pod',
      cniArgs: rt.args,
      capabilityArgs: rt.capabilityArgs,
      result,
    });
  });

  it('CHECK and DEL get the cached result; DEL runs in reverse and drops the cache', async () => {
    const calls: Call[] = [];
    const cacheDir = mkdtempSync(join(tmp, 'c-'));
    const runner = new ConflistRunner({
      pluginDirs: ['/p'],
      cacheDir,
      exec: fakePlugins(calls),
      exists: () => true,
    });
    const list = parseConfList(listText('0.4.0'));
    const { result } = await runner.add(list, rt);
    calls.length = 0;
    await runner.check(list, rt);
    await runner.del(list, rt);
    expect(calls.map((c) => `${c.env.CNI_COMMAND} ${c.type}`)).toEqual([
      'CHECK main',
      'CHECK meta',
      'DEL meta',
      'DEL main',
    ]);
    for (const c of calls) expect(c.stdin.prevResult).toEqual(result);
    expect(runner.cachedResult(list, rt)).toBeUndefined();
    calls.length = 0;
    await runner.del(list, rt);
    expect(calls.every((c) => c.stdin.prevResult === undefined)).toBe(true);
  });

  it('honours disableCheck, refuses CHECK below 0.4.0, and skips STATUS below 1.1.0', async () => {
    const calls: Call[] = [];
    const runner = new ConflistRunner({
      pluginDirs: ['/p'],
      cacheDir: mkdtempSync(join(tmp, 'c-')),
      exec: fakePlugins(calls),
      exists: () => true,
    });
    await runner.check(parseConfList(listText('1.0.0', { disableCheck: true })), rt);
    await expect(runner.check(parseConfList(listText('0.3.1')), rt)).rejects.toMatchObject({
      code: 'VERSION_TOO_OLD',
    });
    await runner.status(parseConfList(listText('1.0.0')));
    expect(calls).toEqual([]);
  });

  it('STATUS at 1.1.0 surfaces the plugin code', async () => {
    const calls: Call[] = [];
    const runner = new ConflistRunner({
      pluginDirs: ['/p'],
      cacheDir: mkdtempSync(join(tmp, 'c-')),
      exec: fakePlugins(calls, () => {
        throw new CniError(50, 'pool exhausted');
      }),
      exists: () => true,
    });
    await expect(runner.status(parseConfList(listText('1.1.0')))).rejects.toMatchObject({
      code: 50,
      message: 'plugin type="main" failed (status): pool exhausted',
    });
    expect(calls[0]?.stdin).toEqual({
      type: 'main',
      capabilities: { portMappings: true },
      name: 'mctnet',
      cniVersion: '1.1.0',
    });
  });

  it('GC deletes stale cached attachments, then sends valid-attachments to every plugin', async () => {
    const calls: Call[] = [];
    const runner = new ConflistRunner({
      pluginDirs: ['/p'],
      cacheDir: mkdtempSync(join(tmp, 'c-')),
      exec: fakePlugins(calls),
      exists: () => true,
    });
    const list = parseConfList(listText('1.1.0'));
    await runner.add(list, rt);
    await runner.add(list, { ...rt, containerId: 'keep' });
    calls.length = 0;
    await runner.gc(list, [{ containerID: 'keep', ifname: 'eth0' }]);
    expect(calls.map((c) => `${c.env.CNI_COMMAND} ${c.type} ${c.env.CNI_CONTAINERID ?? '-'}`)).toEqual([
      'DEL meta ctr1',
      'DEL main ctr1',
      'GC main -',
      'GC meta -',
    ]);
    expect(calls[2]?.stdin['cni.dev/valid-attachments']).toEqual([{ containerID: 'keep', ifname: 'eth0' }]);
    expect(runner.cache.list().map((e) => e.containerId)).toEqual(['keep']);
  });

  it('picks the highest supported of cniVersions', () => {
    const list = parseConfList(
      JSON.stringify({ cniVersions: ['0.4.0', '1.1.0', '9.0.0'], name: 'n', plugins: [{ type: 'x' }] }),
      ['0.4.0', '1.0.0'],
    );
    expect(list.cniVersion).toBe('0.4.0');
  });
});
