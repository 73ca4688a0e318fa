import type { DelContext } from '@minicni/spec';
import { NetlinkError, teardownPodVeth } from '@minicni/netlink';
import { openPodIpam } from '@minicni/kit';
import { parseBridgeConfig } from './config.js';
import type { NodeEnv } from './node-env.js';
import { hostVethName } from './host-veth.js';

/**
 * DEL: best effort and idempotent. The address is released by owner even when the netns or the
 * veth is already gone; a second DEL finds nothing to do and succeeds. Node rules are per network
 * and stay (the uninstall command removes them).
 */
export async function del(ctx: DelContext, node: NodeEnv): Promise<void> {
  const cfg = parseBridgeConfig(ctx.config);
  const errors: unknown[] = [];
  try {
    if (ctx.netns) await teardownPodVeth({ podNetns: ctx.netns, ifname: ctx.ifname });
  } catch (err) {
    errors.push(err);
  }
  try {
    // The pod netns may be gone while a process still holds it: the host end then survives.
    using host = node.openHost();
    await host.links.delete(hostVethName(ctx.containerId, ctx.ifname));
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
