import { createHash } from 'node:crypto';

/**
 * The host end is named from its owner (container ID + ifname): DEL and GC find it without any
 * saved state, even after the pod netns is gone.
 */
export function hostVethName(containerId: string, ifname: string): string {
  return `ptp${createHash('sha256').update(`${containerId}/${ifname}`).digest('hex').slice(0, 12)}`;
}

export const HOST_VETH_PATTERN = /^ptp[0-9a-f]{12}$/;
