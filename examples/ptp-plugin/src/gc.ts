import type { GcContext } from '@minicni/spec';
import { parsePtpConfig } from './config.js';
import { gcPodIpam } from './pod-ipam.js';

/**
 * GC (CNI 1.1): releases every reservation whose owner is not a valid attachment. Leaked veths
 * need no sweep: a veth dies with its pod netns, and DEL removes the host end of a netns that
 * is still held.
 */
export async function gc(ctx: GcContext): Promise<void> {
  const cfg = parsePtpConfig(ctx.config);
  const valid = ctx.validAttachments.map((a) => ({ containerId: a.containerID, ifname: a.ifname }));
  await gcPodIpam(cfg.ipam, ctx, valid);
}
