import { describe, expect, it } from 'vitest';
import { addEnv, callPlugin, conf } from '../test/plugin-harness.js';
import { CniError, ErrorCode } from './errors.js';
import type { AddContext, PluginHandlers } from './plugin-types.js';
import type { HandlerResult } from './result-types.js';

const result: HandlerResult = {
  interfaces: [{ name: 'eth0', mac: '0a:58:0a:f4:00:05', sandbox: '/run/netns/pod1', mtu: 1450 }],
  ips: [{ address: '10.244.0.5/24', gateway: '10.244.0.1', interface: 0 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.244.0.1', priority: 5 }],
  dns: {},
};

function handlers(over: Partial<PluginHandlers> = {}): PluginHandlers & { seen: unknown[] } {
  const seen: unknown[] = [];
  return {
    seen,
    add: (ctx) => {
      seen.push(ctx);
      return result;
    },
    del: (ctx) => void seen.push(ctx),
    check: (ctx) => void seen.push(ctx),
    ...over,
  };
}

describe('runPlugin', () => {
  it('ADD prints the result in the config version and exits 0', async () => {
    for (const [v, expected] of [
      ['1.1.0', { cniVersion: '1.1.0', ...result }],
      [
        '1.0.0',
        {
          cniVersion: '1.0.0',
          ...result,
          interfaces: [{ name: 'eth0', mac: '0a:58:0a:f4:00:05', sandbox: '/run/netns/pod1' }],
          routes: [{ dst: '0.0.0.0/0', gw: '10.244.0.1' }],
        },
      ],
      [
        '0.2.0',
        {
          cniVersion: '0.2.0',
          ip4: {
            ip: '10.244.0.5/24',
            gateway: '10.244.0.1',
            routes: [{ dst: '0.0.0.0/0', gw: '10.244.0.1' }],
          },
          dns: {},
        },
      ],
    ] as const) {
      const c = await callPlugin(handlers(), addEnv, conf(v));
      expect(c.status).toBe(0);
      expect(c.exitCalls).toEqual([0]);
      expect(c.json).toEqual(expected);
    }
  });

  it('hands handlers a parsed context', async () => {
    const h = handlers();
    const prev = { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.244.0.9/24' }] };
    await callPlugin(
      h,
      { ...addEnv, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web;K8S_POD_NAMESPACE=ns;IP=10.244.0.9;FOO=bar' },
      conf('0.4.0', {
        runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }] },
        prevResult: prev,
      }),
    );
    const ctx = h.seen[0] as AddContext;
    expect(ctx).toMatchObject({
      command: 'ADD',
      containerId: 'ctr1',
      netns: '/run/netns/pod1',
      ifname: 'eth0',
      path: ['/opt/cni/bin'],
      cniVersion: '0.4.0',
      args: { ignoreUnknown: true, k8sPodName: 'web', k8sPodNamespace: 'ns', ips: ['10.244.0.9'] },
    });
    expect(ctx.config.name).toBe('net1');
    expect(ctx.config.runtimeConfig?.portMappings?.[0]?.hostPort).toBe(80);
    expect(ctx.config.prevResult).toEqual({ cniVersion: '1.1.0', ips: [{ address: '10.244.0.9/24' }] });
    expect(Buffer.isBuffer(ctx.rawConfig)).toBe(true);
  });

  it('answers VERSION from the declared versions, in the version asked', async () => {
    const c = await callPlugin(handlers(), { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.3.1"}', {
      supportedVersions: ['0.3.1', '1.0.0'],
    });
    expect(c.json).toEqual({ cniVersion: '0.3.1', supportedVersions: ['0.3.1', '1.0.0'] });
    const bare = await callPlugin(handlers(), { CNI_COMMAND: 'VERSION' }, '', {
      supportedVersions: ['0.3.1', '1.0.0'],
    });
    expect(bare.json).toEqual({ cniVersion: '1.0.0', supportedVersions: ['0.3.1', '1.0.0'] });
  });

  it('refuses CHECK below 0.4.0 and STATUS/GC below 1.1.0 with code 1', async () => {
    const check = await callPlugin(handlers(), { ...addEnv, CNI_COMMAND: 'CHECK' }, conf('0.3.1'));
    expect(check.json).toMatchObject({
      cniVersion: '0.3.1',
      code: 1,
      msg: 'config version does not allow CHECK',
    });
    expect(check.status).toBe(1);
    for (const cmd of ['STATUS', 'GC']) {
      const c = await callPlugin(handlers(), { CNI_COMMAND: cmd, CNI_PATH: '/x' }, conf('1.0.0'));
      expect(c.json).toMatchObject({ code: 1, msg: `config version does not allow ${cmd}` });
    }
  });

  it('refuses a config version the plugin does not declare (code 1, versions in details)', async () => {
    const c = await callPlugin(handlers(), addEnv, conf('0.3.0'), { supportedVersions: ['1.0.0'] });
    expect(c.json).toEqual({
      cniVersion: '0.3.0',
      code: 1,
      msg: 'incompatible CNI versions',
      details: 'config is "0.3.0", plugin supports ["1.0.0"]',
    });
  });

  it('maps bad input to the right codes', async () => {
    const cases: [Record<string, string>, string, number][] = [
      [{ CNI_COMMAND: 'ADD' }, conf('1.0.0'), ErrorCode.InvalidEnvironment],
      [{ ...addEnv, CNI_IFNAME: 'a/b' }, conf('1.0.0'), ErrorCode.InvalidEnvironment],
      [{ ...addEnv, CNI_CONTAINERID: '-x' }, conf('1.0.0'), ErrorCode.InvalidEnvironment],
      [{ ...addEnv, CNI_NETNS: 'relative' }, conf('1.0.0'), ErrorCode.InvalidEnvironment],
      [{ ...addEnv, CNI_ARGS: 'UNKNOWN=1' }, conf('1.0.0'), ErrorCode.InvalidEnvironment],
      [addEnv, '{not json', ErrorCode.DecodingFailure],
      [addEnv, '[]', ErrorCode.DecodingFailure],
      [addEnv, JSON.stringify({ cniVersion: '1.0.0', name: 7, type: 't' }), ErrorCode.DecodingFailure],
      [addEnv, JSON.stringify({ cniVersion: '1.0.0', type: 't' }), ErrorCode.InvalidNetworkConfig],
      [
        addEnv,
        JSON.stringify({ cniVersion: '1.0.0', name: 'bad name', type: 't' }),
        ErrorCode.InvalidNetworkConfig,
      ],
      [addEnv, JSON.stringify({ cniVersion: '1.0.0', name: 'n' }), ErrorCode.InvalidNetworkConfig],
      [
        addEnv,
        conf('1.0.0', { runtimeConfig: { portMappings: [{ hostPort: 'x' }] } }),
        ErrorCode.InvalidNetworkConfig,
      ],
      [
        addEnv,
        conf('1.0.0', { prevResult: { cniVersion: '1.0.0', ips: [{ address: 'nope' }] } }),
        ErrorCode.InvalidNetworkConfig,
      ],
      [addEnv, conf('9.9.9'), ErrorCode.IncompatibleVersion],
    ];
    for (const [env, stdin, code] of cases) {
      const c = await callPlugin(handlers(), env, stdin);
      expect(c.status, `${JSON.stringify(env)} ${stdin}`).toBe(1);
      expect(c.json?.code, `${JSON.stringify(env)} ${stdin}: ${c.stdout}`).toBe(code);
      expect(typeof c.json?.msg).toBe('string');
    }
  });

  it('DEL works without a netns', async () => {
    const h = handlers();
    const c = await callPlugin(h, { ...addEnv, CNI_COMMAND: 'DEL', CNI_NETNS: '' }, conf('1.0.0'));
    expect(c.status).toBe(0);
    expect(c.stdout).toBe('');
    expect((h.seen[0] as { netns: unknown }).netns).toBeUndefined();
  });

  it('passes a handler CniError through and turns anything else into code 999 without a stack', async () => {
    const status = await callPlugin(
      handlers({
        status: () => {
          throw new CniError(ErrorCode.PluginNotAvailable, 'no IPs left', 'pool 10.244.0.0/24 is full');
        },
      }),
      { CNI_COMMAND: 'STATUS' },
      conf('1.1.0'),
    );
    expect(status.json).toEqual({
      cniVersion: '1.1.0',
      code: 50,
      msg: 'no IPs left',
      details: 'pool 10.244.0.0/24 is full',
    });

    const boom = await callPlugin(
      handlers({
        add: () => {
          throw new TypeError('cannot read x of undefined');
        },
      }),
      addEnv,
      conf('1.0.0', { logFile: '/var/log/test.log' }),
    );
    expect(boom.json).toEqual({ cniVersion: '1.0.0', code: 999, msg: 'cannot read x of undefined' });
    expect(boom.stdout + boom.stderr).not.toMatch(/\n\s+at /);
    // The stack goes only to the debug log, which the config turned on.
    expect(boom.log).toHaveLength(1);
    expect(boom.log[0]?.path).toBe('/var/log/test.log');
    const rec = JSON.parse(boom.log[0]?.text ?? '') as Record<string, unknown>;
    expect(rec).toMatchObject({
      command: 'ADD',
      containerId: 'ctr1',
      netns: '/run/netns/pod1',
      ifname: 'eth0',
      code: 999,
    });
    expect(String(rec.stack)).toMatch(/TypeError/);

    const thrownString = await callPlugin(
      handlers({
        del: () => {
          throw 'plain string' as unknown as Error;
        },
      }),
      { ...addEnv, CNI_COMMAND: 'DEL' },
      conf('1.0.0'),
    );
    expect(thrownString.json).toMatchObject({ code: 999, msg: 'internal error: plain string' });
  });

  it('refuses an invalid handler result as an internal error', async () => {
    const c = await callPlugin(
      handlers({ add: () => ({ ips: [{ address: '10.0.0.1' }] }) }),
      addEnv,
      conf('1.0.0'),
    );
    expect(c.json).toMatchObject({ code: 999 });
    expect(String(c.json?.msg)).toMatch(/plugin result: ips\[0\]\.address/);
  });

  it('reports a result the config version cannot hold as code 1', async () => {
    const c = await callPlugin(
      handlers({ add: () => ({ interfaces: [{ name: 'eth0' }] }) }),
      addEnv,
      conf('0.2.0'),
    );
    expect(c.json).toMatchObject({ cniVersion: '0.2.0', code: 1 });
  });

  it('GC gets the valid attachments; missing STATUS/GC handlers succeed', async () => {
    let got: unknown;
    const gcConf = conf('1.1.0', { 'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'eth0' }] });
    const c = await callPlugin(
      handlers({ gc: (ctx) => void (got = ctx.validAttachments) }),
      { CNI_COMMAND: 'GC', CNI_PATH: '/x' },
      gcConf,
    );
    expect(c.status).toBe(0);
    expect(got).toEqual([{ containerID: 'c1', ifname: 'eth0' }]);
    expect((await callPlugin(handlers(), { CNI_COMMAND: 'STATUS' }, conf('1.1.0'))).status).toBe(0);
    expect((await callPlugin(handlers(), { CNI_COMMAND: 'GC', CNI_PATH: '/x' }, gcConf)).status).toBe(0);
  });

  it('writes the debug log only when configured, one line per call', async () => {
    const off = await callPlugin(handlers(), addEnv, conf('1.0.0'));
    expect(off.log).toEqual([]);
    const on = await callPlugin(handlers(), { ...addEnv, CNI_ARGS: 'K8S_POD_NAME=x' }, conf('1.0.0'), {
      logFile: '/tmp/x.log',
    });
    expect(on.log).toHaveLength(1);
    expect(JSON.parse(on.log[0]?.text ?? '')).toMatchObject({
      outcome: 'ok',
      args: 'K8S_POD_NAME=x',
      stdin: conf('1.0.0'),
    });
    const failing = await callPlugin(handlers(), addEnv, conf('1.0.0'), {
      logFile: '/nope/x.log',
      io: {
        appendFile: () => {
          throw new Error('EACCES');
        },
      },
    });
    expect(failing.status).toBe(0);
    expect(failing.stderr).toMatch(/debug log \/nope\/x.log not written: EACCES/);
  });
});
