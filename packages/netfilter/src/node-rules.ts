import { createHash } from 'node:crypto';
import { saveVia } from './iptables-backend.js';
import { NodeRulesError } from './errors.js';
import type { Family, RulesExec } from './rules-exec.js';

/**
 * Node firewall rules for one network: pods' traffic is accepted in FORWARD (placed first, so it
 * holds where the FORWARD policy is DROP) and masqueraded when it leaves the cluster. One chain per
 * network and table, never one per pod. Ensuring is idempotent and costs one `iptables-save` per
 * family when everything is in place, plus one `iptables-restore` when something is missing.
 */
export interface NodeRulesSpec {
  network: string;
  /** This node's pod CIDRs (any family). */
  podCidrs: readonly string[];
  /** Destinations not masqueraded (the cluster's pod CIDRs); defaults to podCidrs. */
  noMasqCidrs?: readonly string[];
  masquerade: boolean;
}

export function chainNames(network: string): { forward: string; nat: string } {
  // iptables chain names are limited to 28 characters; a hash keeps any network name valid.
  const h = createHash('sha256').update(network).digest('hex').slice(0, 10);
  return { forward: `MINICNI-FWD-${h}`, nat: `MINICNI-NAT-${h}` };
}

export function familyOf(cidr: string): Family {
  return cidr.includes(':') ? 6 : 4;
}

/** The exact rule lines (iptables-save syntax) this spec needs, by table. */
export function desiredRules(spec: NodeRulesSpec, family: Family): { filter: string[]; nat: string[] } {
  const { forward, nat } = chainNames(spec.network);
  const pods = spec.podCidrs.filter((c) => familyOf(c) === family);
  const noMasq = (spec.noMasqCidrs ?? spec.podCidrs).filter((c) => familyOf(c) === family);
  const comment = `-m comment --comment "minicni ${spec.network.replace(/[^A-Za-z0-9_.-]/g, '_')}"`;
  const filter = [`-A FORWARD ${comment} -j ${forward}`];
  for (const c of pods) filter.push(`-A ${forward} -s ${c} -j ACCEPT`, `-A ${forward} -d ${c} -j ACCEPT`);
  const natRules: string[] = [];
  if (spec.masquerade) {
    for (const c of pods) natRules.push(`-A POSTROUTING -s ${c} ${comment} -j ${nat}`);
    for (const c of noMasq) natRules.push(`-A ${nat} -d ${c} -j RETURN`);
    natRules.push(
      `-A ${nat} -d ${family === 4 ? '224.0.0.0/4' : 'ff00::/8'} -j RETURN`,
      `-A ${nat} -j MASQUERADE`,
    );
  }
  return { filter, nat: natRules };
}

interface SavedTable {
  chains: Set<string>;
  /** Rules normalised for comparison. */
  rules: string[];
  /** The same rules as printed, for deleting them exactly. */
  raw: string[];
}

/** Parses iptables-save output into table -> rule lines ("-A ..."), normalised for comparison. */
export function parseSave(text: string): Map<string, SavedTable> {
  const tables = new Map<string, SavedTable>();
  let current: SavedTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      current = { chains: new Set(), rules: [], raw: [] };
      tables.set(line.slice(1), current);
    } else if (line.startsWith(':') && current) {
      current.chains.add(line.slice(1).split(/\s+/)[0] ?? '');
    } else if (line.startsWith('-A ') && current) {
      current.rules.push(normalise(line));
      current.raw.push(line);
    }
  }
  return tables;
}

function normalise(rule: string): string {
  // iptables-save (1.8, checked) prints a bare -s/-d address with its host mask (10.1.2.3 as
  // 10.1.2.3/32, fd00::5 as fd00::5/128) and every comment in double quotes; a rule as we write it
  // may have neither, so both sides get the mask added, quotes dropped, whitespace collapsed.
  // Host bits are not cleared: 10.1.2.3/24 (saved as 10.1.2.0/24) never compares equal.
  return rule
    .replace(/"/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(
      /(^| )(-[sd]) ([0-9A-Fa-f.:]+)(?= |$)/g,
      (_, at: string, flag: string, addr: string) => `${at}${flag} ${addr}/${addr.includes(':') ? 128 : 32}`,
    );
}

/** Builds the iptables-restore --noflush input that brings `current` to the desired rules. */
export function planRestore(spec: NodeRulesSpec, family: Family, saved: string): string | undefined {
  const want = desiredRules(spec, family);
  const have = parseSave(saved);
  const { forward, nat } = chainNames(spec.network);
  let out = '';
  for (const [table, chain, rules, jumpChain] of [
    ['filter', forward, want.filter, 'FORWARD'],
    ['nat', nat, want.nat, 'POSTROUTING'],
  ] as const) {
    const cur = have.get(table) ?? { chains: new Set<string>(), rules: [], raw: [] };
    const ownRules = rules.filter((r) => r.startsWith(`-A ${chain} `));
    const jumps = rules.filter((r) => r.startsWith(`-A ${jumpChain} `));
    const curOwn = cur.rules.filter((r) => r.startsWith(`-A ${chain} `));
    const isJump = (r: string) => r.startsWith(`-A ${jumpChain} `) && r.endsWith(`-j ${chain}`);
    const curJumps = cur.rules.filter(isJump);
    const ownOk =
      sameList(curOwn, ownRules.map(normalise)) && (ownRules.length === 0 || cur.chains.has(chain));
    const jumpsOk = sameList(curJumps, jumps.map(normalise));
    const firstIsOurs =
      table !== 'filter' ||
      jumps.length === 0 ||
      firstRuleOf(cur.rules, jumpChain) === normalise(jumps[0] ?? '');
    if (ownOk && jumpsOk && firstIsOurs) continue;
    if (!rules.length && !cur.chains.has(chain)) continue;
    let body = `*${table}\n:${chain} - [0:0]\n`;
    for (const j of cur.raw.filter(isJump)) body += `${j.replace(/^-A /, '-D ')}\n`;
    for (const r of ownRules) body += `${r}\n`;
    // FORWARD: insert at the top so an earlier DROP (or a DROP policy) never wins over pod traffic.
    for (const j of jumps)
      body += table === 'filter' ? `${j.replace(/^-A /, '-I ').replace(/^-I (\S+)/, '-I $1 1')}\n` : `${j}\n`;
    out += `${body}COMMIT\n`;
  }
  return out || undefined;
}

function firstRuleOf(rules: readonly string[], chain: string): string | undefined {
  return rules.find((r) => r.startsWith(`-A ${chain} `));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Makes the live rules match the spec for every family it names; returns the saves and restores
 * spawned (a backend detection, done once per exec, is not counted).
 */
export async function ensureNodeRules(spec: NodeRulesSpec, exec: RulesExec): Promise<number> {
  let spawned = 0;
  const families = [...new Set(spec.podCidrs.map(familyOf))];
  for (const family of families) {
    const { saved, tools: t } = await saveVia(exec, family);
    spawned++;
    if (saved.code !== 0)
      throw new NodeRulesError(`${t.save} failed: ${saved.stderr.trim() || `exit ${saved.code}`}`);
    const plan = planRestore(spec, family, saved.stdout);
    if (!plan) continue;
    const r = await exec(t.restore, ['--noflush', '-w', '5'], plan);
    spawned++;
    if (r.code !== 0) throw new NodeRulesError(`${t.restore} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
  return spawned;
}

/** Removes every minicni chain and jump (all networks, or one) from both families. */
export async function removeNodeRules(exec: RulesExec, network?: string): Promise<void> {
  const only = network ? chainNames(network) : undefined;
  for (const family of [4, 6] as const) {
    const { saved, tools: t } = await saveVia(exec, family).catch(() => ({
      saved: undefined,
      tools: undefined,
    }));
    if (!saved || !t || saved.code !== 0) continue;
    let out = '';
    for (const [table, { chains, raw }] of parseSave(saved.stdout)) {
      const ours = [...chains].filter((c) =>
        only ? c === only.forward || c === only.nat : c.startsWith('MINICNI-'),
      );
      if (!ours.length) continue;
      let body = `*${table}\n`;
      for (const r of raw) {
        const target = /-j (\S+)$/.exec(r)?.[1];
        if (target && ours.includes(target) && !ours.some((c) => r.startsWith(`-A ${c} `))) {
          body += `${r.replace(/^-A /, '-D ')}\n`;
        }
      }
      for (const c of ours) body += `-F ${c}\n`;
      for (const c of ours) body += `-X ${c}\n`;
      out += `${body}COMMIT\n`;
    }
    if (!out) continue;
    const r = await exec(t.restore, ['--noflush', '-w', '5'], out);
    if (r.code !== 0) throw new NodeRulesError(`${t.restore} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
}
