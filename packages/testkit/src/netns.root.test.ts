import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MINICNI_STAMP_DIR, nodeNetns, podNetns } from './netns.js';
import { findLeaks } from './leaks.js';
import { wirePod } from './pods.js';

describe('testkit namespaces', () => {
  it('creates a node and a pod netns, wires them, passes traffic, and removes both', async () => {
    let nodePath = '';
    let podPath = '';
    {
      await using node = await nodeNetns();
      await using pod = await podNetns();
      nodePath = node.path;
      podPath = pod.path;
      await wirePod(node, pod, { hostIf: 'veth-n', address: '10.244.250.2/30' });
      await node.run('ip', ['addr', 'add', '10.244.250.1/30', 'dev', 'veth-n']);
      const links = await pod.ipJson<{ ifname: string; operstate: string }[]>('link', 'show', 'eth0');
      expect(links[0]?.ifname).toBe('eth0');
      const ping = await pod.exec('ping', ['-c', '1', '-W', '2', '10.244.250.1']);
      expect(ping.code, ping.stderr + ping.stdout).toBe(0);
      expect(existsSync(nodePath) && existsSync(podPath)).toBe(true);
    }
    expect(existsSync(nodePath)).toBe(false);
    expect(existsSync(podPath)).toBe(false);
  });

  it('disposes the namespace even when the test body throws', async () => {
    let path = '';
    await expect(
      (async () => {
        await using ns = await nodeNetns();
        path = ns.path;
        throw new Error('boom');
      })(),
    ).rejects.toThrow('boom');
    expect(path).not.toBe('');
    expect(existsSync(path)).toBe(false);
    const leaks = await findLeaks();
    expect(leaks.netns).not.toContain(path.split('/').pop());
  });

  it("removes the minicni stamps named after the node's inode with the node, and only those", async () => {
    mkdirSync(MINICNI_STAMP_DIR, { recursive: true, mode: 0o700 });
    let mine: string[] = [];
    let other = '';
    {
      await using node = await nodeNetns();
      await using bystander = await nodeNetns();
      expect(node.inode).toBeGreaterThan(0);
      mine = [`${node.inode}-0a0b0c0d0e0f-test`, `${node.inode}.lock`].map((n) => join(MINICNI_STAMP_DIR, n));
      other = join(MINICNI_STAMP_DIR, `${bystander.inode}-0a0b0c0d0e0f-test`);
      for (const f of [...mine, other]) writeFileSync(f, '');
      await node[Symbol.asyncDispose]();
      for (const f of mine) expect(existsSync(f), f).toBe(false);
      expect(existsSync(other)).toBe(true);
    }
    expect(existsSync(other)).toBe(false);
  });
});
