import { exec } from './exec.js';
import { TEST_PREFIX } from './names.js';

export interface Leaks {
  netns: string[];
  links: string[];
  rules: string[];
}

const RULE_MARKERS = [TEST_PREFIX, 'MINICNI', 'minicni'];

/**
 * Lists every test-prefixed netns and host link, and every firewall rule of ours in the
 * machine's own netns. Tests only ever create these inside namespaces they own, so anything
 * found here is a leak (or a test that touched the machine's network, which is worse).
 */
export async function findLeaks(): Promise<Leaks> {
  const netnsOut = await exec('ip', ['-j', 'netns', 'list']);
  const netns = parseJson<{ name: string }[]>(netnsOut.stdout)
    .map((n) => n.name)
    .filter((n) => n.startsWith(TEST_PREFIX));
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
  return { netns, links, rules };
}

export function describeLeaks(l: Leaks): string | undefined {
  const parts: string[] = [];
  if (l.netns.length) parts.push(`netns: ${l.netns.join(', ')}`);
  if (l.links.length) parts.push(`links in the machine's netns: ${l.links.join(', ')}`);
  if (l.rules.length) parts.push(`firewall rules in the machine's netns:\n  ${l.rules.join('\n  ')}`);
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
}

function parseJson<T>(text: string): T {
  const t = text.trim();
  return (t ? JSON.parse(t) : []) as T;
}
