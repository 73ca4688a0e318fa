import type { DelContext } from '@minicni/spec';
import { delVethAttachment, type NodeEnv } from '@minicni/kit';
import { parsePtpConfig } from './config.js';
import { hostVeth } from './host-veth.js';

/**
 * DEL: the kit's veth DEL, best effort and idempotent. The host routes and the host end's
 * gateway address go with the veth.
 */
export async function del(ctx: DelContext, node: NodeEnv): Promise<void> {
  await delVethAttachment(ctx, node, { hostVeth, ipam: parsePtpConfig(ctx.config).ipam });
}
