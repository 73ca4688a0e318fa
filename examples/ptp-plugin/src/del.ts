import type { DelContext } from '@minicni/spec';
import { NetlinkError, teardownPodVeth } from '@minicni/netlink';
import { parsePtpConfig } from './config.js';
import { hostVethName } from './host-veth.js';
import type { NodeNetns } from './node.js';
import { withPodIpam } from './pod-ipam.js';

/**
 * DEL: best effort and idempotent. Each step runs even when an earlier one failed, the address
 * is released by owner even when the netns or the veth is gone, and a second DEL finds nothing
 * to do. The host routes and the host end's gateway address go with the veth.
 */
export async function del(ctx: DelContext, node: NodeNetns): Promise<void> {
  const cfg = parsePtpConfig(ctx.config);
  const errors: unknown[] = [];
  if (ctx.netns)
    await teardownPodVeth({ podNetns: ctx.netns, ifname: ctx.ifname }).catch((e) => errors.push(e));
  try {
    // A netns still held by some process keeps the pair alive after the runtime forgot it.
    using host = node.open();
    await host.links.delete(hostVethName(ctx.containerId, ctx.ifname));
  } catch (err) {
    if (!(err instanceof NetlinkError && err.code === 'ENODEV')) errors.push(err);
  }
  await withPodIpam(cfg.ipam, ctx, (ipam) => ipam.release()).catch((e) => errors.push(e));
  if (errors.length) throw errors[0];
}
