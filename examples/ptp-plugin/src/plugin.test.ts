import { describe, expect, it } from 'vitest';
import { runPlugin } from '@minicni/spec';
import { ptpPlugin, SUPPORTED_VERSIONS } from './plugin.js';

// Verbs that fail before any netlink or file work, run in-process the way a runtime would call them.
async function call(env: Record<string, string>, config: unknown) {
  let stdout = '';
  const code = await runPlugin(ptpPlugin({ nodeNetns: '/nonexistent/node' }), {
    supportedVersions: SUPPORTED_VERSIONS,
    io: {
      env,
      stdin: JSON.stringify(config),
      stdout: (t) => (stdout += t),
      stderr: () => {},
      exit: () => {},
    },
  });
  return { code, json: JSON.parse(stdout) as { code?: number; msg?: string; supportedVersions?: string[] } };
}

const add = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/nonexistent/pod', CNI_IFNAME: 'eth0' };
const conf = (extra: Record<string, unknown>) => ({
  cniVersion: '1.1.0',
  name: 'mct-ptp',
  type: 'ptp',
  ...extra,
});

describe('ptpPlugin through runPlugin', () => {
  it('answers VERSION with every spec version from 0.1.0 to 1.1.0', async () => {
    const r = await call({ CNI_COMMAND: 'VERSION' }, { cniVersion: '1.0.0' });
    expect(r).toEqual({ code: 0, json: { cniVersion: '1.0.0', supportedVersions: [...SUPPORTED_VERSIONS] } });
  });

  it.each([
    ['no ipam section', conf({}), 7, /"ipam" must be an object/],
    ['ipMasq', conf({ ipMasq: true, ipam: { type: 'minicni', subnet: '10.244.0.0/24' } }), 2, /ipMasq/],
    ['a pool the allocator rejects', conf({ ipam: { type: 'minicni' } }), 7, /no IP ranges/],
    ['a bad subnet', conf({ ipam: { type: 'minicni', subnet: '10.244.0.0/33' } }), 7, /10\.244\.0\.0\/33/],
    [
      'a dataDir with ..',
      conf({ ipam: { type: 'minicni', subnet: '10.244.0.0/24', dataDir: '/var/../etc' } }),
      7,
      /dataDir/,
    ],
    ['an IPAM plugin path', conf({ ipam: { type: '../sh' } }), 7, /ipam\.type/],
  ])('refuses %s with a CNI error, not an internal one', async (_, config, code, msg) => {
    const r = await call(add, config);
    expect(r.code).toBe(1);
    expect(r.json.code).toBe(code);
    expect(r.json.msg).toMatch(msg);
  });
});
