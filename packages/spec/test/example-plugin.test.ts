import { describe, expect, it } from 'vitest';
import { main } from './example-plugin.js';

// The plugin shown in docs/spec.md, run as a runtime would call it.
async function call(env: Record<string, string>, stdin: string) {
  let stdout = '';
  const status = await main({ env, stdin, stdout: (t) => (stdout += t), exit: () => {} });
  return { status, json: JSON.parse(stdout) as unknown };
}

const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/p', CNI_IFNAME: 'eth0' };

describe('docs example plugin (static-ip)', () => {
  it('answers ADD in the config version', async () => {
    const conf = JSON.stringify({ cniVersion: '0.4.0', name: 'n', type: 'static-ip' });
    expect(await call({ ...env, CNI_ARGS: 'IP=10.244.3.4,fd00::4' }, conf)).toEqual({
      status: 0,
      json: {
        cniVersion: '0.4.0',
        ips: [
          { version: '4', address: '10.244.3.4/32' },
          { version: '6', address: 'fd00::4/128' },
        ],
      },
    });
  });

  it('fails with a CNI error when no IP is asked for', async () => {
    const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'static-ip' });
    expect(await call(env, conf)).toEqual({
      status: 1,
      json: { cniVersion: '1.1.0', code: 4, msg: 'static-ip needs IP= in CNI_ARGS' },
    });
  });
});
