import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from './exec.js';
import { TEST_PREFIX } from './names.js';
import { NETNS_DIR, nodeStamps } from './netns.js';

export interface Leaks {
  netns: string[];
  /** Links in the machine's netns this run provably made: removed after they are reported. */
  links: string[];
  /**
   * Links of ours by name that appeared in the machine's netns during the run but are not
   * provably this run's (a pod of a minicni really running here, say): reported, never removed.
   */
  unprovenLinks: string[];
  rules: string[];
  /** minicni rules stamps (in netns.ts's MINICNI_STAMP_DIR) named after a netns of this run. */
  stamps: string[];
}

const RULE_MARKERS = [TEST_PREFIX, 'MINICNI', 'minicni'];
/** Names of devices the plugins and the agent make (minicni0, minicni.1) and of test runs. */
const OUR_NAME_PREFIXES = [TEST_PREFIX, 'minicni', 'mcni'];

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
  /** The names `testName()` gave out in this run. */
  names?: ReadonlySet<string>;
  /** The host veth patterns of every plugin (`ownerVethPattern(prefix)` of each). */
  vethPatterns?: readonly RegExp[];
  /** `linkKey`s of the links of ours already in the machine's netns when the run began. */
  baseline?: ReadonlySet<string>;
  /** The firewall rule lines of ours already there when the run began (`ruleLines()`). */
  baselineRules?: ReadonlySet<string>;
}

/** A link in the machine's netns, with where a veth's peer lives. */
export interface HostLink {
  name: string;
  ifindex: number;
  kind?: string;
  /** The netns name of a veth's peer, when it is in a named netns. */
  peerNetns?: string;
}

/** True for a name a test, a plugin (its host veths, by `vethPatterns`) or the agent gives a link. */
export function isOurLinkName(name: string, vethPatterns: readonly RegExp[]): boolean {
  return OUR_NAME_PREFIXES.some((p) => name.startsWith(p)) || vethPatterns.some((re) => re.test(name));
}

/** Identifies one link: a name can be reused by a later device, name plus ifindex is not. */
export function linkKey(l: HostLink): string {
  return `${l.ifindex}:${l.name}`;
}

/**
 * Sorts the links of ours that appeared in the machine's netns during a run: the run's own
 * (a name it gave out, or a veth whose peer is in one of its netns) are leaks to remove; a
 * test-prefixed name or a veth into a test netns of another run is that run's to judge; the
 * rest appeared but are not provably ours, so they are reported and left alone.
 */
export function classifyHostLinks(
  links: readonly HostLink[],
  scope: Required<Pick<LeakScope, 'netns' | 'names' | 'vethPatterns' | 'baseline'>>,
): { ours: string[]; unproven: string[] } {
  const ours: string[] = [];
  const unproven: string[] = [];
  for (const l of links) {
    if (!isOurLinkName(l.name, scope.vethPatterns) || scope.baseline.has(linkKey(l))) continue;
    if (scope.names.has(l.name) || (l.peerNetns !== undefined && scope.netns.has(l.peerNetns)))
      ours.push(l.name);
    else if (l.name.startsWith(TEST_PREFIX) || l.peerNetns?.startsWith(TEST_PREFIX)) continue;
    else unproven.push(l.name);
  }
  return { ours, unproven };
}

/** The links of the machine's own netns, each veth with its peer's netns name when it has one. */
export async function hostLinks(): Promise<HostLink[]> {
  const ids = new Map<number, string>();
  for (const n of parseJson<{ name: string; id?: number }[]>(
    (await exec('ip', ['-j', 'netns', 'list'])).stdout,
  )) {
    if (n.id !== undefined) ids.set(n.id, n.name);
  }
  const out = await exec('ip', ['-j', '-d', 'link', 'show']);
  return parseJson<
    { ifname: string; ifindex: number; link_netnsid?: number; linkinfo?: { info_kind?: string } }[]
  >(out.stdout).map((l) => ({
    name: l.ifname,
    ifindex: l.ifindex,
    kind: l.linkinfo?.info_kind,
    peerNetns: l.link_netnsid === undefined ? undefined : ids.get(l.link_netnsid),
  }));
}

/**
 * Lists test-prefixed netns, links of ours that appeared in the machine's own netns, and
 * firewall rules of ours there. Tests create devices and rules only inside namespaces they own,
 * so such a link or rule is a leak (or a test that touched the machine's network, which is
 * worse). Links already there when the run began (`baseline`: a minicni really running here
 * has a minicni0 bridge and a host veth per pod) are never judged.
 */
export async function findLeaks(scope: LeakScope = {}): Promise<Leaks> {
  const netnsOut = await exec('ip', ['-j', 'netns', 'list']);
  const now = Date.now();
  const netns = parseJson<{ name: string }[]>(netnsOut.stdout)
    .map((n) => n.name)
    .filter((n) => n.startsWith(TEST_PREFIX))
    .filter((n) => !scope.netns || scope.netns.has(n))
    .filter((n) => scope.olderThanMs === undefined || now - mtimeMs(`/run/netns/${n}`) > scope.olderThanMs);
  const { ours: links, unproven: unprovenLinks } = classifyHostLinks(await hostLinks(), {
    netns: scope.netns ?? new Set(),
    names: scope.names ?? new Set(),
    vethPatterns: scope.vethPatterns ?? [],
    baseline: scope.baseline ?? new Set(),
  });
  const rules = (await ruleLines()).filter((r) => !scope.baselineRules?.has(r));
  const stamps = scope.inodes ? stampsOf(scope.inodes) : [];
  return { netns, links, unprovenLinks, rules, stamps };
}

/** The firewall rule lines of ours (test-prefixed or minicni's) in the machine's netns. */
export async function ruleLines(): Promise<string[]> {
  const rules: string[] = [];
  for (const [file, args] of [
    ['iptables-save', []],
    ['ip6tables-save', []],
    ['nft', ['list', 'ruleset']],
  ] as const) {
    const r = await exec(file, args).catch(() => undefined);
    if (!r || r.code !== 0) continue;
    for (const line of r.stdout.split('\n')) {
      // Counters change between two saves of the same rule.
      if (RULE_MARKERS.some((m) => line.includes(m)))
        rules.push(`${file}: ${line.trim().replace(/\[\d+:\d+\]$/, '')}`);
    }
  }
  return rules;
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

export function describeLeaks(l: Leaks): string | undefined {
  const parts: string[] = [];
  if (l.netns.length) parts.push(`netns: ${l.netns.join(', ')}`);
  if (l.links.length) parts.push(`links in the machine's netns: ${l.links.join(', ')}`);
  if (l.unprovenLinks.length) {
    parts.push(
      `links of ours by name that appeared in the machine's netns, not provably this run's, so left in place: ${l.unprovenLinks.join(', ')}`,
    );
  }
  if (l.rules.length) parts.push(`firewall rules in the machine's netns:\n  ${l.rules.join('\n  ')}`);
  if (l.stamps.length) parts.push(`minicni stamps of test nodes: ${l.stamps.join(', ')}`);
  return parts.length ? parts.join('\n') : undefined;
}

/**
 * Removes what `findLeaks` proved this run's (its netns, the links it made, its stamps) so one
 * failed run does not poison the next. `unprovenLinks` are never touched.
 */
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
