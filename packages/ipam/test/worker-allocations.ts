import { expect } from 'vitest';
import type { WorkerRun } from './bundle.js';

/**
 * The addresses a set of `op: 'allocate'` worker runs handed out: every worker exited 0, every
 * allocation it printed succeeded, and there are `count` of them, no two alike. Returns each
 * allocation's first address, in the order the workers printed them.
 */
export function expectDistinctAllocations(runs: readonly WorkerRun[], count: number): string[] {
  const got: string[] = [];
  for (const r of runs) {
    expect(r.code, r.stderr).toBe(0);
    for (const l of r.lines) {
      expect(l.error, String(l.message)).toBeUndefined();
      got.push((l.ips as string[])[0]!);
    }
  }
  expect(got).toHaveLength(count);
  expect(new Set(got).size).toBe(count);
  return got;
}
