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
