/**
 * Assertions (vitest `expect`) on pod sandboxes run through a CRI, shared by the containerd e2e
 * tests: what a pod network must look like once the sandboxes run, and once they are removed.
 * Kept out of `index.ts` so that importing the kit does not import vitest.
 *
 * API:
 * - `expectReadySandboxes(ctd, node, ids, ipPrefix, prefixLength = 24) -> {ips, netnsPaths}`:
 *   the ids are distinct; each sandbox is SANDBOX_READY with exactly one address, starting with
 *   `ipPrefix` (e.g. `"10.244.7."`), in a netns the CRI plugin made (`/run/netns/cni-...`), and
 *   that address (`/prefixLength`) is the one on eth0 inside; no two sandboxes share an address.
 *   Returns the addresses and netns paths in the order of `ids`.
 * - `expectSandboxesGone(ctd, node, {ips, netnsPaths})`: after the sandboxes were stopped and
 *   removed: the CRI lists none, the node has no veth, no DNAT rule names `<ips[0]>:80` (the
 *   host port of `runPodSandboxes`), and every sandbox netns is gone.
 */
import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import type { Containerd } from './containerd.js';
import { sandboxIps, sandboxNetnsPath } from './cri-client.js';
import type { TestNetns } from './netns.js';

export interface SandboxNetworks {
  ips: string[];
  netnsPaths: string[];
}

export async function expectReadySandboxes(
  ctd: Pick<Containerd, 'cri'>,
  node: TestNetns,
  ids: readonly string[],
  ipPrefix: string,
  prefixLength = 24,
): Promise<SandboxNetworks> {
  expect(new Set(ids).size).toBe(ids.length);
  const ipPattern = new RegExp(`^${ipPrefix.replaceAll('.', '\\.')}\\d+$`);
  const statuses = await Promise.all(ids.map((id) => ctd.cri.podSandboxStatus(id, true)));
  const ips: string[] = [];
  const netnsPaths: string[] = [];
  for (const res of statuses) {
    expect(res.status?.state).toBe('SANDBOX_READY');
    const [ip, ...more] = sandboxIps(res.status);
    expect(more).toEqual([]);
    expect(ip).toMatch(ipPattern);
    ips.push(ip ?? '');
    const path = sandboxNetnsPath(res) ?? '';
    expect(path).toMatch(/^(\/var)?\/run\/netns\/cni-/);
    netnsPaths.push(path);
    // The reported address is the one on eth0 inside that sandbox's netns.
    const inside = await node.exec('nsenter', [`--net=${path}`, 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
    expect(inside.stdout, inside.stderr).toContain(`${ip}/${prefixLength}`);
  }
  expect(new Set(ips).size).toBe(ids.length);
  return { ips, netnsPaths };
}

export async function expectSandboxesGone(
  ctd: Pick<Containerd, 'cri'>,
  node: TestNetns,
  { ips, netnsPaths }: SandboxNetworks,
): Promise<void> {
  expect(await ctd.cri.listPodSandbox()).toEqual([]);
  expect(await node.ipJson<unknown[]>('link', 'show', 'type', 'veth')).toEqual([]);
  expect(await node.run('iptables-save', ['-t', 'nat'])).not.toContain(`${ips[0]}:80`);
  for (const path of netnsPaths) expect(existsSync(path), path).toBe(false);
}
