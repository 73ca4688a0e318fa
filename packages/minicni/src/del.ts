import type { DelContext } from '@minicni/spec';
import { delVethAttachment } from '@minicni/kit';
import { parseBridgeConfig } from './config.js';
import type { NodeEnv } from './node-env.js';
import { HOST_VETH } from './host-veth.js';

/**
 * DEL: the kit's veth DEL (pod end, host end, addresses by owner; best effort and idempotent).
 * Node rules are per network and stay (the uninstall command removes them).
 */
export async function del(ctx: DelContext, node: NodeEnv): Promise<void> {
  await delVethAttachment(ctx, node, { hostVeth: HOST_VETH, ipam: parseBridgeConfig(ctx.config).ipam });
}
