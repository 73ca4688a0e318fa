import { nodeEnv as kitNodeEnv, type NodeEnv as KitNodeEnv } from '@minicni/kit';
import type { RulesExec } from '@minicni/netfilter';
import { DEFAULT_STAMP_DIR } from './rules-stamp.js';

/**
 * The kit's node environment (the node netns, a netlink handle there, sysctls, tools) plus what
 * the bridge plugin adds: how iptables runs, and where "rules ensured" stamps live.
 */
export interface NodeEnv extends KitNodeEnv {
  rulesExec: RulesExec;
  readonly stampDir: string;
}

export interface NodeEnvOptions {
  netns?: string;
  rulesExec?: RulesExec;
  stampDir?: string;
}

export function nodeEnv(opts: NodeEnvOptions = {}): NodeEnv {
  const node = kitNodeEnv(opts.netns ? { netns: opts.netns } : {});
  return { ...node, rulesExec: opts.rulesExec ?? node.run, stampDir: opts.stampDir ?? DEFAULT_STAMP_DIR };
}
