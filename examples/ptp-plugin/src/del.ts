import type { DelContext } from '@minicni/spec';
import { NetlinkError, teardownPodVeth } from '@minicni/netlink';
import { openPodIpam, type NodeEnv } from '@minicni/kit';
import { parsePtpConfig } from './config.js';
import { hostVeth } from './host-veth.js';

/**
 * DEL: best effort and idempotent. Each step runs even when an earlier one failed, the address
 * is released by owner even when the netns or the veth is gone, and a second DEL finds nothing
 * to do. The host routes and the host end's gateway address go with the veth.
 */
export async function del(ctx: DelContext, node: NodeEnv): Promise<void> {
  const cfg = parsePtpConfig(ctx.config);
  const errors: unknown[] = [];
  if (ctx.netns)
    await teardownPodVeth({ podNetns: ctx.netns, ifname: ctx.ifname }).catch((e) => errors.push(e));
  try {
    // A netns still held by some process keeps the pair alive after the runtime forgot it.
    using host = node.openHost();
    await host.links.delete(hostVeth.name(ctx.containerId, ctx.ifname));
  } catch (err) {
    if (!(err instanceof NetlinkError && err.code === 'ENODEV')) errors.push(err);
  }
  try {
    await using ipam = await openPodIpam(cfg.ipam, ctx);
    await ipam.release();
  } catch (err) {
    errors.push(err);
  }
  if (errors.length) throw errors[0];
}
