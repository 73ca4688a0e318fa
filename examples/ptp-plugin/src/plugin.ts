import type { PluginHandlers } from '@minicni/spec';
import { add } from './add.js';
import { check } from './check.js';
import { del } from './del.js';
import { gc } from './gc.js';
import { asCniError } from './errors.js';
import { nodeNetns } from './node.js';

export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

export interface PtpPluginOptions {
  /** The node's netns path; default: the netns this process runs in. */
  nodeNetns?: string;
}

/** The ptp plugin's verbs, ready for `runPlugin`. VERSION and STATUS ("ready") come from runPlugin. */
export function ptpPlugin(opts: PtpPluginOptions = {}): PluginHandlers {
  const node = nodeNetns(opts.nodeNetns);
  return {
    add: (ctx) => add(ctx, node).catch(rethrow),
    del: (ctx) => del(ctx, node).catch(rethrow),
    check: (ctx) => check(ctx, node).catch(rethrow),
    gc: (ctx) => gc(ctx).catch(rethrow),
  };
}

/** Block errors become CNI errors here, once, whichever verb raised them. */
function rethrow(err: unknown): never {
  throw asCniError(err);
}
