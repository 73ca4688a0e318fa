import type { Family, Interval } from '@minicni/ipam';
import { formatAddress } from './addresses.js';
import { PolicyError } from './errors.js';
import type { AddrPortElement, NodePlan, Profile } from './plan.js';
import type { PortRange } from './ports.js';

export interface RenderOptions {
  /** The inet table minicni owns; default `minicni-policy`. */
  readonly table?: string;
  /**
   * Priority of the forward hook, relative to `filter` (0); default -10, so our drops are
   * decided before iptables' and minicni's own FORWARD accepts (a drop is final either way).
   */
  readonly priority?: number;
}

export const DEFAULT_TABLE = 'minicni-policy';
export const DEFAULT_PRIORITY = -10;

const BITS: Record<Family, number> = { 4: 32, 6: 128 };
const TYPE: Record<Family, string> = { 4: 'ipv4_addr', 6: 'ipv6_addr' };
const L3: Record<Family, string> = { 4: 'ip', 6: 'ip6' };
const FAMILIES: readonly Family[] = [4, 6];

/** An address interval as nft writes it: one address, a prefix when aligned, else a range. */
function addr(f: Family, iv: Interval): string {
  const lo = formatAddress(f, iv.lo);
  if (iv.lo === iv.hi) return lo;
  const size = iv.hi - iv.lo + 1n;
  const host = size.toString(2).length - 1;
  if (size === 1n << BigInt(host) && iv.lo % size === 0n) return `${lo}/${BITS[f] - host}`;
  return `${lo}-${formatAddress(f, iv.hi)}`;
}

function portText(lo: number, hi: number): string {
  return lo === hi ? String(lo) : `${lo}-${hi}`;
}

function proto(p: PortRange['protocol']): string {
  return p.toLowerCase();
}

function set(name: string, type: string, elements: readonly string[], interval: boolean): string[] {
  const flags = interval ? ' flags interval;' : '';
  const body = elements.length ? ` elements = { ${elements.join(', ')} }` : '';
  return [`  set ${name} { type ${type};${flags}${body} }`];
}

function profileLines(p: Profile): { sets: string[]; chain: string[] } {
  // Egress returns to the forward chain, where the destination's ingress check comes next;
  // ingress is the last check, so it accepts.
  const pass = p.direction === 'egress' ? 'return' : 'accept';
  const peer = p.direction === 'egress' ? 'daddr' : 'saddr';
  const counter = `counter name ${p.direction}-drops drop`;
  const sets: string[] = [];
  const rules: string[] = [];
  if (p.acceptAll) rules.push(pass);
  else {
    for (const f of FAMILIES) {
      if (!p.addrs[f].length) continue;
      sets.push(
        ...set(
          `${p.name}-a${f}`,
          TYPE[f],
          p.addrs[f].map((iv) => addr(f, iv)),
          true,
        ),
      );
      rules.push(`${L3[f]} ${peer} @${p.name}-a${f} ${pass}`);
    }
    if (p.ports.length) {
      sets.push(
        ...set(
          `${p.name}-p`,
          'inet_proto . inet_service',
          p.ports.map((r) => `${proto(r.protocol)} . ${portText(r.lo, r.hi)}`),
          true,
        ),
      );
      rules.push(`meta l4proto . th dport @${p.name}-p ${pass}`);
    }
    for (const f of FAMILIES) {
      if (!p.addrPorts[f].length) continue;
      const els = p.addrPorts[f].map(
        (e: AddrPortElement) => `${addr(f, e)} . ${proto(e.protocol)} . ${portText(e.portLo, e.portHi)}`,
      );
      sets.push(...set(`${p.name}-ap${f}`, `${TYPE[f]} . inet_proto . inet_service`, els, true));
      rules.push(`${L3[f]} ${peer} . meta l4proto . th dport @${p.name}-ap${f} ${pass}`);
    }
    rules.push(counter);
  }
  return { sets, chain: [`  chain ${p.name} {`, ...rules.map((r) => `    ${r}`), '  }'] };
}

/**
 * The `nft -f` text of a node's ruleset: one transaction that creates the table if missing,
 * deletes it and defines it again, so the kernel swaps old for new atomically (no moment
 * without the rules). Output is sorted and stable, so two rulesets can be diffed.
 */
export function renderRuleset(plan: NodePlan, opts: RenderOptions = {}): string {
  const { table, priority } = checkedOptions(opts);
  const prio = priority === 0 ? 'filter' : priority < 0 ? `filter - ${-priority}` : `filter + ${priority}`;
  const lines: string[] = [
    `# minicni NetworkPolicy ruleset for node ${plan.node}`,
    `table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    '  counter ingress-drops { }',
    '  counter egress-drops { }',
  ];
  for (const f of FAMILIES) {
    lines.push(
      ...set(
        `node${f}`,
        TYPE[f],
        plan.nodeAddrs[f].map((v) => formatAddress(f, v)),
        false,
      ),
    );
  }
  for (const f of FAMILIES) {
    const els = plan.self[f].map((v) => `${formatAddress(f, v)} . ${formatAddress(f, v)}`);
    lines.push(...set(`self${f}`, `${TYPE[f]} . ${TYPE[f]}`, els, false));
  }
  const guard = plan.guard;
  if (guard) {
    lines.push('  counter unknown-drops { }');
    for (const f of FAMILIES)
      lines.push(
        ...set(
          `podnet${f}`,
          TYPE[f],
          guard.nets[f].map((iv) => addr(f, iv)),
          true,
        ),
      );
    for (const f of FAMILIES)
      lines.push(
        ...set(
          `pods${f}`,
          TYPE[f],
          guard.known[f].map((v) => formatAddress(f, v)),
          false,
        ),
      );
  }
  for (const dir of ['ingress', 'egress'] as const) {
    for (const f of FAMILIES) {
      const els = plan[dir][f].map(([v, chain]) => `${formatAddress(f, v)} : jump ${chain}`);
      const body = els.length ? ` elements = { ${els.join(', ')} }` : '';
      lines.push(`  map ${dir}${f} { type ${TYPE[f]} : verdict;${body} }`);
    }
  }
  const chains: string[] = [];
  for (const p of plan.profiles) {
    const { sets, chain } = profileLines(p);
    lines.push(...sets);
    chains.push(...chain);
  }
  lines.push(
    ...chains,
    '  chain forward {',
    `    type filter hook forward priority ${prio}; policy accept;`,
    '    ct state established,related accept',
    '    ct state invalid drop',
    // IPv6 neighbour discovery between pods on one bridge passes this hook (br_netfilter);
    // without it an isolated pod could not resolve its peers' addresses at all.
    '    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept',
    // A pod and its own node always talk (kubelet probes).
    '    ip saddr @node4 accept',
    '    ip daddr @node4 accept',
    '    ip6 saddr @node6 accept',
    '    ip6 daddr @node6 accept',
    // A pod reaching itself through a Service (hairpin).
    '    ip saddr . ip daddr @self4 accept',
    '    ip6 saddr . ip6 daddr @self6 accept',
    // Fail closed: an address of this node's pod network that is no known pod (a pod the agent
    // has not heard of yet, an address nobody was given) is cut off both ways.
    ...(guard
      ? FAMILIES.filter((f) => guard.nets[f].length > 0).flatMap((f) =>
          (['saddr', 'daddr'] as const).map(
            (d) => `    ${L3[f]} ${d} @podnet${f} ${L3[f]} ${d} != @pods${f} counter name unknown-drops drop`,
          ),
        )
      : []),
    // Egress at the source first (its chain returns when allowed), then ingress at the destination.
    '    ip saddr vmap @egress4',
    '    ip6 saddr vmap @egress6',
    '    ip daddr vmap @ingress4',
    '    ip6 daddr vmap @ingress6',
    '  }',
    '}',
  );
  return `${lines.join('\n')}\n`;
}

function checkedOptions(opts: RenderOptions): { table: string; priority: number } {
  const table = opts.table ?? DEFAULT_TABLE;
  const priority = opts.priority ?? DEFAULT_PRIORITY;
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(table)) {
    throw new PolicyError(
      'INVALID_OPTION',
      `table name ${JSON.stringify(table)} is not a plain nft identifier`,
    );
  }
  if (!Number.isInteger(priority) || Math.abs(priority) > 1000) {
    throw new PolicyError('INVALID_OPTION', `priority ${priority} is not an integer within filter ± 1000`);
  }
  return { table, priority };
}

/**
 * The elements of two sorted lists that differ, formatted: those only in `next` or changed
 * (added), and those only in `prev` or changed (removed). Lists are walked together by key, so
 * a pass formats only what differs, not the whole maps.
 */
function sortedDiff<T>(
  prev: readonly T[],
  next: readonly T[],
  key: (e: T) => bigint,
  same: (a: T, b: T) => boolean,
  fmt: (e: T) => string,
): { add: string[]; del: string[] } {
  const add: string[] = [];
  const del: string[] = [];
  let i = 0;
  let j = 0;
  while (i < prev.length || j < next.length) {
    const a = prev[i];
    const b = next[j];
    if (b === undefined || (a !== undefined && key(a) < key(b))) {
      del.push(fmt(a!));
      i++;
    } else if (a === undefined || key(b) < key(a)) {
      add.push(fmt(b));
      j++;
    } else {
      if (!same(a, b)) {
        del.push(fmt(a));
        add.push(fmt(b));
      }
      i++;
      j++;
    }
  }
  return { add, del };
}

/**
 * The `nft -f` transaction that turns the ruleset of `prev` (as `renderRuleset` or earlier
 * deltas loaded it) into that of `next`, touching only what differs; empty text when nothing
 * does. One transaction, so the kernel still swaps at once: new profile chains and sets are
 * added first, then map and set elements change (a pod whose profile changed is re-pointed by
 * deleting and adding its element in the same transaction, never left out), then the chains and
 * sets no pod uses any more are deleted. Profiles are named after their content, so a name
 * present in both plans is the same chain: there is nothing to edit inside a chain. It fails
 * (and changes nothing) when the kernel's table is not what `prev` describes; load
 * `renderRuleset(next)` then. Drop counters keep counting across deltas.
 */
/**
 * Whether `renderRulesetDelta(prev, next)` can express the change: both plans fail closed over
 * the same pod network, or neither does (the guard's rules live in the base chain, which a delta
 * never edits). When not, load `renderRuleset(next)`.
 */
export function deltaApplies(prev: NodePlan, next: NodePlan): boolean {
  if (!prev.guard || !next.guard) return !prev.guard && !next.guard;
  return FAMILIES.every(
    (f) =>
      prev.guard!.nets[f].length === next.guard!.nets[f].length &&
      prev.guard!.nets[f].every(
        (iv, i) => iv.lo === next.guard!.nets[f][i]!.lo && iv.hi === next.guard!.nets[f][i]!.hi,
      ),
  );
}

export function renderRulesetDelta(prev: NodePlan, next: NodePlan, opts: RenderOptions = {}): string {
  const { table } = checkedOptions(opts);
  const t = `inet ${table}`;
  const before = new Set(prev.profiles.map((p) => p.name));
  const after = new Set(next.profiles.map((p) => p.name));
  const added = next.profiles.filter((p) => !before.has(p.name));
  const removed = prev.profiles.filter((p) => !after.has(p.name));
  const lines: string[] = [];
  if (added.length) {
    lines.push(`table ${t} {`);
    const chains: string[] = [];
    for (const p of added) {
      const { sets, chain } = profileLines(p);
      lines.push(...sets);
      chains.push(...chain);
    }
    lines.push(...chains, '}');
  }
  const deletes: string[] = [];
  const adds: string[] = [];
  const change = (name: string, d: { add: string[]; del: string[] }, delKey: (e: string) => string) => {
    if (d.del.length) deletes.push(`delete element ${t} ${name} { ${d.del.map(delKey).join(', ')} }`);
    if (d.add.length) adds.push(`add element ${t} ${name} { ${d.add.join(', ')} }`);
  };
  const same = (e: string) => e;
  const value = (v: bigint) => v;
  const equal = () => true;
  for (const f of FAMILIES) {
    const d = sortedDiff(prev.nodeAddrs[f], next.nodeAddrs[f], value, equal, (v) => formatAddress(f, v));
    change(`node${f}`, d, same);
  }
  for (const f of FAMILIES) {
    const fmt = (v: bigint) => `${formatAddress(f, v)} . ${formatAddress(f, v)}`;
    change(`self${f}`, sortedDiff(prev.self[f], next.self[f], value, equal, fmt), same);
  }
  if (!deltaApplies(prev, next))
    throw new PolicyError(
      'INVALID_OPTION',
      'the fail-closed pod network differs between the two plans: load the whole ruleset (renderRuleset)',
    );
  if (prev.guard && next.guard)
    for (const f of FAMILIES) {
      const d = sortedDiff(prev.guard.known[f], next.guard.known[f], value, equal, (v) =>
        formatAddress(f, v),
      );
      change(`pods${f}`, d, same);
    }
  for (const dir of ['ingress', 'egress'] as const) {
    for (const f of FAMILIES) {
      const d = sortedDiff(
        prev[dir][f],
        next[dir][f],
        (e) => e[0],
        (a, b) => a[1] === b[1],
        ([v, chain]) => `${formatAddress(f, v)} : jump ${chain}`,
      );
      // A map element is deleted by its key alone.
      change(`${dir}${f}`, d, (e) => e.slice(0, e.indexOf(' : ')));
    }
  }
  lines.push(...deletes, ...adds);
  for (const p of removed) lines.push(`delete chain ${t} ${p.name}`);
  for (const p of removed) {
    const { sets } = profileLines(p);
    for (const s of sets) lines.push(`delete set ${t} ${/^ {2}set (\S+)/.exec(s)![1]}`);
  }
  if (!lines.length) return '';
  return `# minicni NetworkPolicy delta for node ${next.node}\n${lines.join('\n')}\n`;
}
