import type { PolicyIndex } from './cluster.js';
import type { ClusterState } from './model.js';
import { renderRuleset, type RenderOptions } from './nft.js';
import { planNode } from './plan.js';

export interface CompileOptions extends RenderOptions {
  /** The node's own addresses; default: the node's entry in `state.nodes`. */
  readonly nodeIps?: readonly string[];
}

/** The `nft -f` transaction that enforces every policy of `state` on node `node`. */
export function compileNodeRuleset(
  state: ClusterState | PolicyIndex,
  node: string,
  opts: CompileOptions = {},
): string {
  return renderRuleset(planNode(state, node, opts.nodeIps ? { nodeIps: opts.nodeIps } : {}), opts);
}
