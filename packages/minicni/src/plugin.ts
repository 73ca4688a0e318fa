import { ErrorCode, SPEC_VERSIONS, type PluginHandlers } from '@minicni/spec';
import { onNode, withCniErrors } from '@minicni/kit';
import { add } from './add.js';
import { check } from './check.js';
import { del } from './del.js';
import { gc } from './gc.js';
import { nodeEnv, type NodeEnvOptions } from './node-env.js';
import { status } from './status.js';

export const SUPPORTED_VERSIONS = SPEC_VERSIONS;

/** Options for embedding the plugin: act on a given node netns, run iptables another way. */
export type BridgePluginOptions = NodeEnvOptions;

/** The bridge plugin's verbs, ready for `runPlugin`. */
export function bridgePlugin(opts: BridgePluginOptions = {}): PluginHandlers {
  const node = nodeEnv(opts);
  return withCniErrors(
    onNode(node, { add, del, check, status, gc }),
    // minicni's own library errors: the node-rules lock and iptables.
    { LOCK_TIMEOUT: ErrorCode.TryAgainLater, NODE_RULES_FAILED: ErrorCode.IoFailure },
  );
}
