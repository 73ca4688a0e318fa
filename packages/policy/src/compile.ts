import type { PolicyIndex } from './cluster.js';
import type { ClusterState } from './model.js';
import { renderRuleset, type RenderOptions } from './nft.js';
import { planNode, type PlanOptions } from './plan.js';

export interface CompileOptions extends RenderOptions, PlanOptions {}

/** The `nft -f` transaction that enforces every policy of `state` on node `node`. */
export function compileNodeRuleset(
  state: ClusterState | PolicyIndex,
  node: string,
  opts: CompileOptions = {},
): string {
  const plan = planNode(state, node, {
    ...(opts.nodeIps ? { nodeIps: opts.nodeIps } : {}),
    ...(opts.podCidrs ? { podCidrs: opts.podCidrs } : {}),
  });
  return renderRuleset(plan, opts);
}
