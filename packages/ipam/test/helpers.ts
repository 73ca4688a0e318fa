import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '@minicni/testkit/exec';
import { decodeOwner, type Owner } from '../src/index.js';

export const HOST_LOCAL = '/usr/lib/cni/host-local';

export async function tempDataDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await mkdtemp(join(tmpdir(), 'mct-ipam-'));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

export interface HostLocalResult {
  ips: Array<{ address: string; gateway?: string }>;
}

/** Calls the reference host-local directly (it needs no netns for ADD/DEL). */
export async function hostLocal(
  command: 'ADD' | 'DEL',
  owner: Owner,
  netconf: unknown,
): Promise<{ code: number | null; json: HostLocalResult | undefined; stderr: string; stdout: string }> {
  const r = await exec(HOST_LOCAL, [], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: owner.containerId,
      CNI_NETNS: '/var/run/netns/none',
      CNI_IFNAME: owner.ifname,
      CNI_PATH: '/usr/lib/cni',
    },
    stdin: JSON.stringify(netconf),
  });
  let json: HostLocalResult | undefined;
  try {
    json = r.stdout.trim() ? (JSON.parse(r.stdout) as HostLocalResult) : undefined;
  } catch {
    json = undefined;
  }
  return { code: r.code, json, stderr: r.stderr, stdout: r.stdout };
}

/** Reads a host-local network dir the way any reader would: address files and their owners. */
export async function readNetworkDir(dir: string): Promise<Map<string, Owner | undefined>> {
  const out = new Map<string, Owner | undefined>();
  for (const name of await readdir(dir)) {
    if (name === 'lock' || name.startsWith('last_reserved_ip.') || name === '.minicni') continue;
    out.set(name, decodeOwner(await readFile(join(dir, name), 'utf8')));
  }
  return out;
}
