import { ownerVethName, ownerVethPattern } from '@minicni/netlink';

/** How one plugin names the host end of a pod's veth, and recognises its own. */
export interface HostVethNaming {
  /** The name for an attachment (container ID + ifname): stable, so DEL and GC need no state. */
  readonly name: (containerId: string, ifname: string) => string;
  /** Matches every name `name` can give, and nothing of another prefix. */
  readonly pattern: RegExp;
  /** The two ends of ADD's veth, as netlink's setupPodVeth takes them. */
  readonly ends: (ctx: AttachmentEnds) => { podNetns: string; ifname: string; hostIfname: string };
}

/** The fields of an ADD context that say where the veth goes. */
export interface AttachmentEnds {
  containerId: string;
  ifname: string;
  netns: string;
}

/**
 * Host veth names for a plugin: its own short prefix and a hash of the owner, so DEL and GC find
 * the host end even when the pod netns is gone, and two plugins on a node never touch each
 * other's veths.
 */
export function hostVethNaming(prefix: string): HostVethNaming {
  const pattern = ownerVethPattern(prefix);
  const name = (containerId: string, ifname: string) => ownerVethName(prefix, containerId, ifname);
  return {
    name,
    pattern,
    ends: (ctx) => ({
      podNetns: ctx.netns,
      ifname: ctx.ifname,
      hostIfname: name(ctx.containerId, ctx.ifname),
    }),
  };
}
