import { Netlink, sysctl } from '@minicni/netlink';

/**
 * Where the plugin acts as "the node": its own netns when a runtime runs it, or a given netns
 * (tests, tools). Every node-side operation goes through here, so no code path can reach the
 * caller's netns by accident.
 */
export interface NodeNetns {
  open(): Netlink;
  /** Turns on routing for one IP family: ptp is L3, the node forwards every pod packet. */
  enableForwarding(family: 4 | 6): void;
}

export function nodeNetns(path?: string): NodeNetns {
  return {
    open: () => Netlink.open(path ? { netns: path } : {}),
    enableForwarding: (family) =>
      sysctl.write(
        path ?? '/proc/self/ns/net',
        family === 4 ? 'net/ipv4/ip_forward' : 'net/ipv6/conf/all/forwarding',
        1,
      ),
  };
}
