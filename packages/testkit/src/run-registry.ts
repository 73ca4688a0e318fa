import { appendFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A privileged test run's record of what it made, so its leak check judges, and removes, only
 * those: the netns it created (name and inode) and every name `testName()` handed out.
 * `MINICNI_TEST_REGISTRY` (set by the global setup, inherited by the test workers) is the path
 * of the netns file; the names file sits beside it. Outside such a run nothing is recorded.
 */
export const REGISTRY_ENV = 'MINICNI_TEST_REGISTRY';

export interface RunRegistry {
  /** The netns this run created. */
  netns: Set<string>;
  /** Their inodes (what minicni's stamps are named after). */
  inodes: Set<number>;
  /** Every name `testName()` gave out in this run (links, bridges, netns, cgroups...). */
  names: Set<string>;
}

export function recordNetns(name: string, inode: number, env: NodeJS.ProcessEnv = process.env): void {
  const registry = env[REGISTRY_ENV];
  if (registry) appendFileSync(registry, `${name} ${inode}\n`);
}

export function recordName(name: string, env: NodeJS.ProcessEnv = process.env): void {
  const registry = env[REGISTRY_ENV];
  if (registry) appendFileSync(namesFile(registry), `${name}\n`);
}

export function readRegistry(netnsFile: string): RunRegistry {
  const out: RunRegistry = { netns: new Set(), inodes: new Set(), names: new Set() };
  for (const line of lines(netnsFile)) {
    const [name, inode] = line.split(' ');
    out.netns.add(name!);
    if (inode) out.inodes.add(Number(inode));
  }
  for (const name of lines(namesFile(netnsFile))) out.names.add(name);
  return out;
}

function namesFile(netnsFile: string): string {
  return join(dirname(netnsFile), 'names');
}

function lines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
