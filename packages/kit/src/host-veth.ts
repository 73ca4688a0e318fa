import { ownerVethName, ownerVethPattern } from '@minicni/netlink';

/** How one plugin names the host end of a pod's veth, and recognises its own. */
export interface HostVethNaming {
  /** The name for an attachment (container ID + ifname): stable, so DEL and GC need no state. */
  name(containerId: string, ifname: string): string;
  /** Matches every name `name` can give, and nothing of another prefix. */
  readonly pattern: RegExp;
}

/**
 * Host veth names for a plugin: its own short prefix and a hash of the owner, so DEL and GC find
 * the host end even when the pod netns is gone, and two plugins on a node never touch each
 * other's veths.
 */
export function hostVethNaming(prefix: string): HostVethNaming {
  const pattern = ownerVethPattern(prefix);
  return { name: (containerId, ifname) => ownerVethName(prefix, containerId, ifname), pattern };
}
