import { randomBytes } from 'node:crypto';
import { NetlinkError, type Link, type Netlink } from '@minicni/netlink';

/**
 * The network's bridge, created when missing. Whoever creates it gives it a random locally
 * administered MAC in the create request itself: a bridge left to pick its own MAC takes the lowest
 * of its ports' and changes as pods come and go, which would move the pods' gateway MAC (stale
 * neighbour entries) and make the bridge unusable as an identity for the node-rules stamp.
 * Concurrent ADDs that lose the creation race keep the winner's MAC.
 */
export async function ensurePodBridge(host: Netlink, name: string, mtu: number): Promise<Link> {
  if (!(await host.links.find(name))) {
    try {
      await host.links.addBridge({ name, mtu, mac: randomMac() });
    } catch (err) {
      if (!(err instanceof NetlinkError && err.code === 'EEXIST')) throw err;
    }
  }
  return host.links.ensureBridge({ name, mtu });
}

function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02; // unicast, locally administered
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
