import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CniError } from './errors.js';
import type { ExecRequest, PluginExec } from './exec.js';
import { delegateAdd, delegateDel, withDelegatedAdd } from './delegate.js';
import { execPlugin } from './exec-plugin.js';
import { findInPath } from './find-plugin.js';

const dir = mkdtempSync(join(tmpdir(), 'mct-spec-invoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const ipamConf = JSON.stringify({
  cniVersion: '0.4.0',
  name: 'n',
  type: 'bridge',
  ipam: { type: 'fake-ipam' },
});
const env = {
  PATH: process.env.PATH,
  CNI_PATH: dir,
  CNI_CONTAINERID: 'c',
  CNI_IFNAME: 'eth0',
  CNI_NETNS: '/run/netns/p',
};

describe('delegation', () => {
  it('finds plugins in CNI_PATH and refuses names with /', () => {
    script('found', 'exit 0');
    expect(findInPath('found', ['/nonexistent', dir])).toBe(join(dir, 'found'));
    expect(() => findInPath('../bin/sh', [dir])).toThrow(
      expect.objectContaining({ code: 'PLUGIN_NAME_INVALID' }),
    );
    expect(() => findInPath('/bin/sh', [dir])).toThrow(
      expect.objectContaining({ code: 'PLUGIN_NAME_INVALID' }),
    );
    expect(() => findInPath('absent', [dir])).toThrow(expect.objectContaining({ code: 'PLUGIN_NOT_FOUND' }));
    expect(() => findInPath('found', [])).toThrow(/CNI_PATH is empty/);
  });

  it('runs a real process: ADD result in the 1.1.0 shape, with CNI_COMMAND set per verb', async () => {
    script(
      'fake-ipam',
      `read -r conf
[ "$CNI_COMMAND" = ADD ] || { echo "{\\"code\\":4,\\"msg\\":\\"got $CNI_COMMAND\\"}"; exit 1; }
echo '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.244.0.7/24","gateway":"10.244.0.1"}],"dns":{}}'`,
    );
    const r = await delegateAdd('fake-ipam', ipamConf, env);
    expect(r).toEqual({
      cniVersion: '1.1.0',
      ips: [{ address: '10.244.0.7/24', gateway: '10.244.0.1' }],
      dns: {},
    });
    await expect(delegateDel('fake-ipam', ipamConf, env)).rejects.toMatchObject({ code: 4, msg: 'got DEL' });
  });

  it('takes the error from stdout JSON, else from stderr', async () => {
    script('json-err', `echo '{"cniVersion":"1.0.0","code":11,"msg":"busy","details":"try later"}'; exit 1`);
    script('stderr-err', `echo "something broke" >&2; exit 3`);
    await expect(delegateAdd('json-err', ipamConf, env)).rejects.toEqual(
      new CniError(11, 'busy', 'try later'),
    );
    await expect(delegateAdd('stderr-err', ipamConf, env)).rejects.toMatchObject({
      code: 'PLUGIN_EXEC_FAILED',
      message: expect.stringMatching(/stderr-err exited 3: something broke$/),
    });
    script('garbage', `echo 'not json'`);
    await expect(delegateAdd('garbage', ipamConf, env)).rejects.toMatchObject({
      code: 'PLUGIN_OUTPUT_INVALID',
    });
  });

  it('retries while the binary is busy (ETXTBSY), then gives up', async () => {
    let calls = 0;
    const sleeps: number[] = [];
    const busyTwice: PluginExec = (req: ExecRequest) => {
      calls++;
      if (calls <= 2) return Promise.reject(Object.assign(new Error('spawn ETXTBSY'), { code: 'ETXTBSY' }));
      return Promise.resolve({ code: 0, stdout: `ran ${req.file}`, stderr: '' });
    };
    const sleep = (ms: number) => {
      sleeps.push(ms);
      return Promise.resolve();
    };
    expect(await execPlugin('/x/p', '{}', {}, { exec: busyTwice, sleep })).toBe('ran /x/p');
    expect(sleeps).toEqual([100, 200]);
    const alwaysBusy: PluginExec = () =>
      Promise.reject(Object.assign(new Error('spawn ETXTBSY'), { code: 'ETXTBSY' }));
    await expect(
      execPlugin('/x/p', '{}', {}, { exec: alwaysBusy, sleep, attempts: 3 }),
    ).rejects.toMatchObject({
      code: 'PLUGIN_EXEC_FAILED',
    });
    const enoent: PluginExec = () =>
      Promise.reject(Object.assign(new Error('spawn ENOENT'), { code: 'ENOENT' }));
    sleeps.length = 0;
    await expect(execPlugin('/x/p', '{}', {}, { exec: enoent, sleep })).rejects.toMatchObject({
      code: 'PLUGIN_EXEC_FAILED',
    });
    expect(sleeps).toEqual([]);
  });

  it('runs DEL when the work after a delegated ADD fails, and rethrows the first error', async () => {
    const verbs: string[] = [];
    const exec: PluginExec = (req) => {
      verbs.push(String(req.env.CNI_COMMAND));
      const out =
        req.env.CNI_COMMAND === 'ADD'
          ? '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.2/8"}]}'
          : '';
      return Promise.resolve({ code: 0, stdout: out, stderr: '' });
    };
    const opts = { exec, exists: () => true };
    const failure = new Error('veth creation failed');
    await expect(withDelegatedAdd('ipam', ipamConf, env, () => Promise.reject(failure), opts)).rejects.toBe(
      failure,
    );
    expect(verbs).toEqual(['ADD', 'DEL']);
    verbs.length = 0;
    expect(await withDelegatedAdd('ipam', ipamConf, env, (r) => r.ips?.[0]?.address, opts)).toBe(
      '10.0.0.2/8',
    );
    expect(verbs).toEqual(['ADD']);
  });
});
