import type { GcContext } from '@minicni/spec';
import { gcPodIpam } from '@minicni/kit';
import { parsePtpConfig } from './config.js';

/**
 * GC (CNI 1.1): releases every reservation whose owner is not a valid attachment. Leaked veths
 * need no sweep: a veth dies with its pod netns, and DEL removes the host end of a netns that
 * is still held.
 */
export async function gc(ctx: GcContext): Promise<void> {
  await gcPodIpam(parsePtpConfig(ctx.config).ipam, ctx);
}
