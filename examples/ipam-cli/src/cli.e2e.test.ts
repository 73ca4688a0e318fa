import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '@minicni/testkit/etcd';
import { exec } from '@minicni/testkit/exec';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

describe('ipam-cli against real peers', () => {
  it('works over etcd', async () => {
    await using etcd = await startEtcd();
    const base = ['--subnet', '10.244.73.0/24', '--network', 'etcdnet', '--etcd', etcd.endpoint];
    expect((await cli(...base, 'allocate', 'c1')).stdout).toBe('10.244.73.2/24\tgateway 10.244.73.1\n');
    expect((await cli(...base, 'allocate', 'c2')).stdout).toContain('10.244.73.3/24');
    expect((await cli(...base, 'list')).stdout).toBe('10.244.73.2\tc1\teth0\n10.244.73.3\tc2\teth0\n');
    expect((await cli(...base, 'gc', 'c1/eth0')).stdout).toBe('released 10.244.73.3\n');
    expect((await cli(...base, 'release', 'c1')).stdout).toBe('released 10.244.73.2\n');
    expect((await cli(...base, '--json', 'stats')).stdout).toContain('"used":"0"');
  });

  it('lists and releases what the reference host-local allocated', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mct-cli-'));
    try {
      const conf = {
        cniVersion: '1.0.0',
        name: 'hlnet',
        type: 'bridge',
        ipam: { type: 'host-local', subnet: '10.244.74.0/24', dataDir: dir },
      };
      const add = await exec('/usr/lib/cni/host-local', [], {
        env: {
          PATH: process.env.PATH,
          CNI_COMMAND: 'ADD',
          CNI_CONTAINERID: 'hl1',
          CNI_NETNS: '/x',
          CNI_IFNAME: 'eth0',
          CNI_PATH: '/usr/lib/cni',
        },
        stdin: JSON.stringify(conf),
      });
      expect(add.code, add.stdout).toBe(0);
      const base = ['--subnet', '10.244.74.0/24', '--network', 'hlnet', '--data-dir', dir];
      expect((await cli(...base, 'list')).stdout).toBe('10.244.74.2\thl1\teth0\n');
      expect((await cli(...base, 'release', 'hl1')).stdout).toBe('released 10.244.74.2\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
