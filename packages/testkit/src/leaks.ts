import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from './exec.js';
import { TEST_PREFIX } from './names.js';
import { NETNS_DIR, nodeStamps } from './netns.js';

export interface Leaks {
  netns: string[];
  links: string[];
  rules: string[];
  /** minicni rules stamps (in netns.ts's MINICNI_STAMP_DIR) named after a netns of this run. */
  stamps: string[];
}

const RULE_MARKERS = [TEST_PREFIX, 'MINICNI', 'minicni'];

export interface LeakScope {
  /** Only these netns names count (this run's registry); undefined = every test-prefixed one. */
  netns?: ReadonlySet<string>;
  /** Only netns older than this many ms count (stale leftovers of dead runs). */
  olderThanMs?: number;
  /**
   * The inodes of this run's netns: minicni stamps named after one are leftovers. Without it no
   * stamp is judged (a stamp alone does not tell a test's node from the machine).
   */
  inodes?: ReadonlySet<number>;
}

/**
 * Lists test-prefixed netns, test-prefixed or minicni links in the machine's own netns, and
 * firewall rules of ours there. Tests create devices and rules only inside namespaces they own,
 * so a link or rule found in the machine's netns is a leak (or a test that touched the
 * machine's network, which is worse).
 */
export async function findLeaks(scope: LeakScope = {}): Promise<Leaks> {
  const netnsOut = await exec('ip', ['-j', 'netns', 'list']);
  const now = Date.now();
  const netns = parseJson<{ name: string }[]>(netnsOut.stdout)
    .map((n) => n.name)
    .filter((n) => n.startsWith(TEST_PREFIX))
    .filter((n) => !scope.netns || scope.netns.has(n))
    .filter((n) => scope.olderThanMs === undefined || now - mtimeMs(`/run/netns/${n}`) > scope.olderThanMs);
  const linkOut = await exec('ip', ['-j', 'link', 'show']);
  const links = parseJson<{ ifname: string }[]>(linkOut.stdout)
    .map((l) => l.ifname)
    .filter((n) => n.startsWith(TEST_PREFIX) || n.startsWith('minicni') || n.startsWith('mcni'));
  const rules: string[] = [];
  for (const [file, args] of [
    ['iptables-save', []],
    ['ip6tables-save', []],
    ['nft', ['list', 'ruleset']],
  ] as const) {
    const r = await exec(file, args).catch(() => undefined);
    if (!r || r.code !== 0) continue;
    for (const line of r.stdout.split('\n')) {
      if (RULE_MARKERS.some((m) => line.includes(m))) rules.push(`${file}: ${line.trim()}`);
    }
  }
  const stamps = scope.inodes ? stampsOf(scope.inodes) : [];
  return { netns, links, rules, stamps };
}

function stampsOf(inodes: ReadonlySet<number>): string[] {
  // An inode of this run that a netns living now has taken over (another run's node, say) is
  // that netns's, not ours.
  let living: string[] = [];
  try {
    living = readdirSync(NETNS_DIR);
  } catch {
    // no netns at all
  }
  const live = new Set<number>();
  for (const n of living) {
    try {
      live.add(statSync(join(NETNS_DIR, n)).ino);
    } catch {
      // gone meanwhile
    }
  }
  return nodeStamps(new Set([...inodes].filter((i) => !live.has(i))));
}

/** This run's registry: the names of the netns it made, and their inodes. */
export function readRegistry(path: string): { names: Set<string>; inodes: Set<number> } {
  const names = new Set<string>();
  const inodes = new Set<number>();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { names, inodes };
  }
  for (const line of text.split('\n').filter(Boolean)) {
    const [name, inode] = line.split(' ');
    names.add(name!);
    if (inode) inodes.add(Number(inode));
  }
  return { names, inodes };
}

export function describeLeaks(l: Leaks): string | undefined {
  const parts: string[] = [];
  if (l.netns.length) parts.push(`netns: ${l.netns.join(', ')}`);
  if (l.links.length) parts.push(`links in the machine's netns: ${l.links.join(', ')}`);
  if (l.rules.length) parts.push(`firewall rules in the machine's netns:\n  ${l.rules.join('\n  ')}`);
  if (l.stamps.length) parts.push(`minicni stamps of test nodes: ${l.stamps.join(', ')}`);
  return parts.length ? parts.join('\n') : undefined;
}

/** Removes leaked test namespaces and links so one failed run does not poison the next. */
export async function removeLeaks(l: Leaks): Promise<void> {
  for (const n of l.netns) {
    const pids = (await exec('ip', ['netns', 'pids', n])).stdout.split(/\s+/).filter(Boolean);
    if (pids.length) await exec('kill', ['-9', ...pids]);
    await exec('ip', ['netns', 'del', n]);
  }
  for (const link of l.links) await exec('ip', ['link', 'del', link]);
  for (const stamp of l.stamps) rmSync(stamp, { force: true });
}

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}

function parseJson<T>(text: string): T {
  const t = text.trim();
  return (t ? JSON.parse(t) : []) as T;
}
