import { createHash } from 'node:crypto';

/**
 * The host end of a pod's veth is named from its owner (container ID + ifname), so DEL and GC
 * find it without any state, even when the pod netns is already gone.
 */
export function hostVethName(containerId: string, ifname: string): string {
  return `mc${createHash('sha256').update(`${containerId}/${ifname}`).digest('hex').slice(0, 12)}`;
}

export const HOST_VETH_PATTERN = /^mc[0-9a-f]{12}$/;
