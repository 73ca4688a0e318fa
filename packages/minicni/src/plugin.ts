import type { PluginHandlers } from '@minicni/spec';
import { add } from './add.js';
import { check } from './check.js';
import { del } from './del.js';
import { gc } from './gc.js';
import { nodeEnv, type NodeEnvOptions } from './node-env.js';
import { status } from './status.js';

export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** Options for embedding the plugin: act on a given node netns, run iptables another way. */
export type BridgePluginOptions = NodeEnvOptions;

/** The bridge plugin's verbs, ready for `runPlugin`. */
export function bridgePlugin(opts: BridgePluginOptions = {}): PluginHandlers {
  const node = nodeEnv(opts);
  return {
    add: (ctx) => add(ctx, node),
    del: (ctx) => del(ctx, node),
    check: (ctx) => check(ctx, node),
    status,
    gc: async (ctx) => {
      await gc(ctx, node);
    },
  };
}
