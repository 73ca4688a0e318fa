import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TABLE,
  deltaApplies,
  NodePlanner,
  planNode,
  renderRuleset,
  renderRulesetDelta,
  type ClusterState,
  type NodePlan,
} from '../src/index.js';
import { NODE_NAMES, POD_CIDRS } from './arbitraries.js';
import { applyChange, changeSequenceArb } from './changes.js';
import { loadInto, modelView, type RulesetModel } from './ruleset-model.js';

/**
 * The full compile is the oracle for the incremental one: on random clusters and random
 * sequences of watch-like changes, a long-lived NodePlanner plans exactly what planNode plans
 * from scratch, and the full ruleset of the first snapshot followed by each delta leaves what the
 * full ruleset of the last snapshot holds.
 */
describe('incremental planning and deltas', () => {
  it('NodePlanner equals planNode after every change', () => {
    let reused = 0;
    fc.assert(
      fc.property(changeSequenceArb, ({ state, changes }) => {
        const planners = NODE_NAMES.map((n) => new NodePlanner(n));
        let s: ClusterState = state;
        for (const c of [undefined, ...changes]) {
          if (c) s = applyChange(s, c);
          for (const p of planners) {
            // With the fail-closed guard, as the agent plans (it gives the node's pod CIDRs).
            const guard = { podCidrs: POD_CIDRS[p.node]! };
            expect(p.plan(s, guard)).toEqual(planNode(s, p.node, guard));
            const pass = p.lastPass!;
            if (c && !pass.full) reused++;
          }
        }
      }),
      { numRuns: 150 },
    );
    // The incremental path ran (not only from-scratch passes).
    expect(reused).toBeGreaterThan(150);
  }, 60_000);

  it('full ruleset + deltas holds what the full ruleset of the last snapshot holds', () => {
    fc.assert(
      fc.property(changeSequenceArb, ({ state, changes }) => {
        for (const node of NODE_NAMES) {
          const planner = new NodePlanner(node);
          let s: ClusterState = state;
          const guard = { podCidrs: POD_CIDRS[node]! };
          let prev: NodePlan = planner.plan(s, guard);
          const model: RulesetModel = new Map();
          loadInto(model, renderRuleset(prev), DEFAULT_TABLE);
          for (const c of changes) {
            s = applyChange(s, c);
            const next = planner.plan(s, guard);
            const delta = renderRulesetDelta(prev, next);
            loadInto(model, delta, DEFAULT_TABLE);
            const want: RulesetModel = new Map();
            loadInto(want, renderRuleset(next), DEFAULT_TABLE);
            expect(modelView(model)).toEqual(modelView(want));
            prev = next;
          }
        }
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});

describe('deltas and the fail-closed guard', () => {
  it('a change of the pod networks is no delta: the whole table is loaded', () => {
    const state: ClusterState = { pods: [], namespaces: [], policies: [], nodes: [] };
    const a = planNode(state, 'n1', { nodeIps: ['192.168.60.1'], podCidrs: ['10.244.1.0/24'] });
    const b = planNode(state, 'n1', { nodeIps: ['192.168.60.1'], podCidrs: ['10.244.9.0/24'] });
    const none = planNode(state, 'n1', { nodeIps: ['192.168.60.1'] });
    expect(deltaApplies(a, a)).toBe(true);
    expect(deltaApplies(none, none)).toBe(true);
    expect(deltaApplies(a, b)).toBe(false);
    expect(deltaApplies(none, a)).toBe(false);
    expect(() => renderRulesetDelta(a, b)).toThrow(/load the whole ruleset/);
  });
});
