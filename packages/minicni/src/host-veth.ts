import { hostVethNaming } from '@minicni/kit';

/**
 * The host end of a pod's veth is named from its owner (container ID + ifname) with minicni's
 * prefix `mc`, so DEL and GC find it without any state, even when the pod netns is gone.
 */
const naming = hostVethNaming('mc');

export const hostVethName = naming.name;
export const HOST_VETH_PATTERN: RegExp = naming.pattern;
