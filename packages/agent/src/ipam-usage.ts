import { resolve } from 'node:path';
import {
  canonicalRange,
  formatSubnet,
  listNetworks,
  listReservedIps,
  parseIp,
  rangeCapacity,
  subnetContains,
  type Subnet,
} from '@minicni/ipam';
import { parsePodCidr } from './addresses.js';

export { DEFAULT_DATA_DIR as DEFAULT_IPAM_DATA_DIR } from '@minicni/ipam';

export interface RangeUsage {
  network: string;
  range: string;
  allocated: number;
  /** Usable addresses: IPv4 loses network, gateway (.1) and broadcast; IPv6 network and gateway. */
  capacity: number;
}

/** Metrics are plain numbers: a capacity above 2^52 (an IPv6 /64 holds 2^64) is shown as 2^52 - 2. */
const CAPACITY_CAP = 2n ** 52n - 2n;

/**
 * Counts reservations in a host-local-format store (`<dataDir>/<network>/<ip>` is one
 * reservation, the format minicni's file store shares with host-local), per network and pod
 * CIDR. @minicni/ipam reads only directory listings, without its lock, so this is cheap enough
 * for every scrape and never waits on an ADD. A store it cannot read shows as no rows (or no
 * rows for that network): a scrape reports what it can rather than failing.
 */
export async function ipamUsage(dataDir: string, ranges: readonly string[]): Promise<RangeUsage[]> {
  const dir = resolve(dataDir);
  let networks: string[];
  try {
    networks = await listNetworks(dir);
  } catch {
    return [];
  }
  const subnets = ranges.map(parsePodCidr);
  const out: RangeUsage[] = [];
  for (const network of networks) {
    let ips: string[];
    try {
      ips = await listReservedIps(dir, network);
    } catch {
      continue;
    }
    const held = ips.map((ip) => parseIp(ip));
    for (const subnet of subnets) {
      const allocated = held.filter((ip) => subnetContains(subnet, ip)).length;
      out.push({ network, range: formatSubnet(subnet), allocated, capacity: capacityOf(subnet) });
    }
  }
  return out;
}

/** What host-local's default range over the whole subnet hands out; 0 for a subnet it refuses. */
function capacityOf(subnet: Subnet): number {
  let capacity: bigint;
  try {
    capacity = rangeCapacity(canonicalRange({ subnet: formatSubnet(subnet) }));
  } catch {
    return 0; // too small (/31, /32, /127, /128) or a block no pod can be given an address in
  }
  return Number(capacity < CAPACITY_CAP ? capacity : CAPACITY_CAP);
}
