import fc from 'fast-check';
import { nodeNetns, type TestNetns } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import { NodePlanner, renderRuleset, renderRulesetDelta, type ClusterState } from '../src/index.js';
import { POD_CIDRS } from './arbitraries.js';
import { applyChange, changeSequenceArb } from './changes.js';

/** The table as the kernel lists it, without handles and counter values, objects by name. */
async function listed(node: TestNetns): Promise<Record<string, unknown>> {
  const out = JSON.parse(await node.run('nft', ['-j', 'list', 'table', 'inet', 'minicni-policy'])) as {
    nftables: Record<string, Record<string, unknown>>[];
  };
  const objs: Record<string, unknown> = {};
  const rules: Record<string, unknown[]> = {};
  for (const o of out.nftables) {
    const [kind, body] = Object.entries(o)[0]!;
    if (kind === 'metainfo' || kind === 'table') continue;
    const { handle: _h, packets: _p, bytes: _b, ...rest } = body;
    if (kind === 'rule') (rules[rest.chain as string] ??= []).push(rest.expr);
    else {
      if (Array.isArray(rest.elem)) rest.elem = rest.elem.map((e) => JSON.stringify(e)).sort();
      objs[`${kind} ${String(rest.name)}`] = rest;
    }
  }
  return { objs, rules };
}

/**
 * The kernel agrees with the property tests' model: on random clusters and change sequences,
 * the full ruleset of the first snapshot followed by each delta (every one a single `nft -f`
 * transaction the kernel accepts) lists exactly as the full ruleset of the current snapshot
 * loaded into a second node netns.
 */
describe('nft accepts the deltas', () => {
  it('full ruleset + deltas lists as the full ruleset of the last snapshot', async () => {
    await using node = await nodeNetns();
    await using oracle = await nodeNetns();
    let deltas = 0;
    await fc.assert(
      fc.asyncProperty(changeSequenceArb, async ({ state, changes }) => {
        const planner = new NodePlanner('n1');
        let s: ClusterState = state;
        const guard = { podCidrs: POD_CIDRS.n1! };
        let prev = planner.plan(s, guard);
        await node.run('nft', ['-f', '-'], { stdin: renderRuleset(prev) });
        for (const c of changes) {
          s = applyChange(s, c);
          const next = planner.plan(s, guard);
          const delta = renderRulesetDelta(prev, next);
          if (delta) {
            const r = await node.exec('nft', ['-f', '-'], { stdin: delta });
            expect(r.stderr, delta).toBe('');
            deltas++;
          }
          await oracle.run('nft', ['-f', '-'], { stdin: renderRuleset(next) });
          expect(await listed(node)).toEqual(await listed(oracle));
          prev = next;
        }
      }),
      { numRuns: 60 },
    );
    expect(deltas).toBeGreaterThan(20);
  }, 300_000);
});
