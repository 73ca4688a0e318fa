import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ipam-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) as unknown };
}

describe('ipam-cli over a host-local dataDir', () => {
  it('allocates, lists, reports stats, releases and collects garbage', async () => {
    const base = ['--subnet', '10.244.70.0/29', '--network', 'clinet', '--data-dir', dir];
    expect((await cli(...base, 'allocate', 'c1')).stdout).toBe('10.244.70.2/29\tgateway 10.244.70.1\n');
    const a2 = await cli(...base, '--json', 'allocate', 'c2', 'net1');
    expect(a2.json()).toEqual({
      ips: [{ address: '10.244.70.3/29', gateway: '10.244.70.1', family: 4 }],
      routes: [],
      dns: {},
      fresh: true,
    });
    // Asked again for the same owner: the same address, held before (not fresh).
    expect((await cli(...base, '--json', 'allocate', 'c2', 'net1')).json()).toMatchObject({
      ips: [{ address: '10.244.70.3/29' }],
      fresh: false,
    });
    expect(await readFile(join(dir, 'clinet', '10.244.70.3'), 'utf8')).toBe('c2\r\nnet1');
    expect((await cli(...base, '--json', 'list')).json()).toEqual([
      { ip: '10.244.70.2', containerId: 'c1', ifname: 'eth0' },
      { ip: '10.244.70.3', containerId: 'c2', ifname: 'net1' },
    ]);
    expect((await cli(...base, '--json', 'stats')).json()).toEqual([
      {
        setIndex: 0,
        subnet: '10.244.70.0/29',
        rangeStart: '10.244.70.1',
        rangeEnd: '10.244.70.6',
        size: '5',
        used: '2',
        free: '3',
      },
    ]);
    expect((await cli(...base, 'gc', 'c2/net1')).stdout).toBe('released 10.244.70.2\n');
    expect((await cli(...base, '--json', 'release', 'c2', 'net1')).json()).toEqual({
      released: ['10.244.70.3'],
    });
    expect((await cli(...base, 'list')).stdout).toBe('');
  });

  it('reads a network config file and honours --ip', async () => {
    const conf = join(dir, 'net.conf');
    await writeFile(
      conf,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'fromconf',
        type: 'bridge',
        ipam: { type: 'host-local', subnet: '10.244.71.0/24', dataDir: dir },
      }),
    );
    const r = await cli('--config', conf, '--ip', '10.244.71.77', 'allocate', 'c9');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('10.244.71.77/24');
    expect(await readFile(join(dir, 'fromconf', '10.244.71.77'), 'utf8')).toBe('c9\r\neth0');
  });

  it('says "pool exhausted" with a stable code, as text and as JSON', async () => {
    const base = ['--subnet', '10.244.72.0/30', '--network', 'tiny', '--data-dir', dir];
    expect((await cli(...base, 'allocate', 'c1')).code).toBe(0);
    const text = await cli(...base, 'allocate', 'c2');
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^ipam-cli: pool exhausted: .*\(POOL_EXHAUSTED\)\n$/);
    const json = await cli(...base, '--json', 'allocate', 'c2');
    expect(json.json()).toMatchObject({ error: { code: 'POOL_EXHAUSTED' } });
  });

  it('gives usage errors, never stack traces', async () => {
    for (const argv of [
      [],
      ['frobnicate', '--subnet', '10.0.0.0/24', '--network', 'n'],
      ['--bogus'],
      ['list'],
      ['allocate', '--subnet', '10.0.0.0/24', '--network', 'n'],
    ]) {
      const r = await cli(...argv);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/usage: ipam-cli/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const bad = await cli('--subnet', '10.0.0.5/24', '--network', 'n', '--data-dir', dir, 'list');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/host bits set.*10\.0\.0\.0\/24.*\(HOST_BITS_SET\)/);
    const unsafe = await cli('--subnet', '10.0.0.0/24', '--network', '../etc', '--data-dir', dir, 'list');
    expect(unsafe.stderr).toMatch(/UNSAFE_PATH/);
    expect((await cli('--help')).code).toBe(0);
  });
});
