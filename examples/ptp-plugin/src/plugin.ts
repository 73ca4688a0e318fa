import { SPEC_VERSIONS, type PluginHandlers } from '@minicni/spec';
import { nodeEnv, onNode, withCniErrors } from '@minicni/kit';
import { add } from './add.js';
import { check } from './check.js';
import { del } from './del.js';
import { gc } from './gc.js';

export const SUPPORTED_VERSIONS = SPEC_VERSIONS;

/** The name runtimes run it as: the fast-path shim installed under it serves /run/minicni-ptp. */
export const PLUGIN_NAME = 'minicni-ptp';

export interface PtpPluginOptions {
  /** The node's netns path; default: the netns this process runs in. */
  nodeNetns?: string;
}

/** The ptp plugin's verbs, ready for `runPlugin`. VERSION and STATUS ("ready") come from runPlugin. */
export function ptpPlugin(opts: PtpPluginOptions = {}): PluginHandlers {
  const node = nodeEnv(opts.nodeNetns ? { netns: opts.nodeNetns } : {});
  return withCniErrors(onNode(node, { add, del, check, gc }));
}
