import { ownerVethName, ownerVethPattern } from '@minicni/netlink';

/**
 * The host end of a pod's veth is named from its owner (container ID + ifname) with minicni's
 * prefix `mc`, so DEL and GC find it without any state, even when the pod netns is gone.
 */
export function hostVethName(containerId: string, ifname: string): string {
  return ownerVethName('mc', containerId, ifname);
}

export const HOST_VETH_PATTERN: RegExp = ownerVethPattern('mc');
