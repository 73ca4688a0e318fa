import { hostVethNaming } from '@minicni/kit';

/**
 * The host end of a pod's veth is named from its owner (container ID + ifname) with minicni's
 * prefix `mc`, so DEL and GC find it without any state, even when the pod netns is gone.
 */
export const HOST_VETH = hostVethNaming('mc');

export const hostVethName = HOST_VETH.name;
export const HOST_VETH_PATTERN: RegExp = HOST_VETH.pattern;
