// The invariants every rejected call must hold (used by hostile.e2e.test.ts): CNI error JSON on
// stdout with a numeric code, exit 1, no stack trace anywhere, and nothing changed.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { PluginOutcome, TestNetns } from '@minicni/testkit';

/** A V8 stack frame line, as `Error.stack` prints them. */
export const STACK_FRAME = /^\s+at\s.+(\(|:\d+:\d+)/m;

export function expectCniError(r: PluginOutcome, code: number | readonly number[], what: string): void {
  const codes = typeof code === 'number' ? [code] : code;
  const out = `${what}\nexit ${r.code} signal ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  expect(r.code, out).toBe(1);
  const json = r.json as { cniVersion?: unknown; code?: unknown; msg?: unknown } | undefined;
  expect(json, out).toBeTypeOf('object');
  expect(codes, out).toContain(json?.code);
  expect(json?.msg, out).toBeTypeOf('string');
  expect(String(json?.msg).length, out).toBeGreaterThan(0);
  expect(json?.cniVersion, out).toMatch(/^\d+\.\d+\.\d+$/);
  expect(r.stdout, out).not.toMatch(STACK_FRAME);
  expect(r.stderr, out).not.toMatch(STACK_FRAME);
}

/** Every path under `dir` (files and directories), sorted. */
export function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      out.push(p);
      if (statSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

export interface NodeSnapshot {
  nodeLinks: string[];
  podLinks: string[];
  rules4: string[];
  rules6: string[];
}

const ruleLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('-') || l.startsWith(':'))
    .map((l) => l.replace(/\[\d+:\d+\]$/, '').trim());

export async function snapshot(node: TestNetns, pod: TestNetns): Promise<NodeSnapshot> {
  const links = async (ns: TestNetns) =>
    (await ns.ipJson<{ ifname: string }[]>('link', 'show')).map((l) => l.ifname).sort();
  return {
    nodeLinks: await links(node),
    podLinks: await links(pod),
    rules4: ruleLines(await node.run('iptables-save')),
    rules6: ruleLines(await node.run('ip6tables-save')),
  };
}
