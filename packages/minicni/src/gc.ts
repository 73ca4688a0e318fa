import { type GcContext } from '@minicni/spec';
import { gcPodIpam } from '@minicni/kit';
import { parseBridgeConfig } from './config.js';
import type { NodeEnv } from './node-env.js';
import { HOST_VETH_PATTERN, hostVethName } from './host-veth.js';

/**
 * GC (CNI 1.1): releases every reservation whose owner is not a valid attachment, and deletes
 * host-side veths (on this network's bridge, or on none) that belong to no valid attachment: left
 * behind when a pod netns outlived its DEL, or an ADD was killed half-way.
 */
export async function gc(
  ctx: GcContext,
  node: NodeEnv,
): Promise<{ released: string[]; vethsRemoved: string[] }> {
  const cfg = parseBridgeConfig(ctx.config);
  const released = await gcPodIpam(cfg.ipam, ctx);
  const keep = new Set(ctx.validAttachments.map((a) => hostVethName(a.containerID, a.ifname)));
  const vethsRemoved: string[] = [];
  using host = node.openHost();
  const bridge = await host.links.find(cfg.bridge);
  for (const link of await host.links.list()) {
    if (link.kind !== 'veth' || !HOST_VETH_PATTERN.test(link.name) || keep.has(link.name)) continue;
    // On our bridge, or on no bridge at all: an ADD killed between creating the veth and
    // attaching it leaves the host end unattached.
    const ours = link.master === undefined || (bridge !== undefined && link.master === bridge.index);
    if (!ours) continue;
    await host.links.delete(link.index).catch(() => undefined);
    vethsRemoved.push(link.name);
  }
  ctx.log('GC', { released, vethsRemoved });
  return { released, vethsRemoved };
}
