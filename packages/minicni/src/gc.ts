import { type GcContext } from '@minicni/spec';
import { delegateGc } from '@minicni/spec/invoke';
import { openIpam } from '@minicni/ipam';
import { parseBridgeConfig } from './config.js';
import type { NodeEnv } from './node-env.js';
import { asCniError } from './errors.js';
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
  const valid = ctx.validAttachments.map((a) => ({ containerId: a.containerID, ifname: a.ifname }));
  let released: string[] = [];
  try {
    if (cfg.ipam.kind === 'delegate') {
      await delegateGc(cfg.ipam.type, ctx.rawConfig, ctx.env);
    } else {
      const ipam = await openIpam({ config: cfg.ipam.section, network: ctx.config.name });
      try {
        released = await ipam.gc(valid);
      } finally {
        await ipam.close();
      }
    }
    const keep = new Set(valid.map((a) => hostVethName(a.containerId, a.ifname)));
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
  } catch (err) {
    throw asCniError(err);
  }
}
