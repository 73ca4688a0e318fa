import { createHash } from 'node:crypto';
import { parseIp } from '@minicni/ipam';
import { networkAddress, parsePodCidr } from './addresses.js';

/**
 * A node's VTEP MAC, derived from its node IP so peers can compute it without any annotation
 * (and the agent needs no write access to Node objects). 0e = locally administered unicast;
 * 6d marks it as ours. IPv4: the four address bytes. IPv6: four bytes of a SHA-256 of the
 * address (collisions need two nodes of one cluster to match on 32 hashed bits).
 */
export function vtepMac(nodeIp: string): string {
  const ip = parseIp(nodeIp);
  const bytes = Buffer.alloc(ip.family === 4 ? 4 : 16);
  for (let i = 0; i < bytes.length; i++)
    bytes[bytes.length - 1 - i] = Number((ip.value >> BigInt(i * 8)) & 0xffn);
  const tail = ip.family === 4 ? [...bytes] : [...createHash('sha256').update(bytes).digest().subarray(0, 4)];
  return [0x0e, ip.family === 4 ? 0x6d : 0x6e, ...tail].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * A node's VTEP address for one pod CIDR: the CIDR's network address (the ".0", as flannel
 * does). The bridge plugin's gateway is .1, and no pod gets .0, so the address is free; it sits
 * on the vxlan device as a /32 (/128) and is the next hop peers route that pod CIDR through.
 */
export function vtepIp(podCidr: string): string {
  return networkAddress(parsePodCidr(podCidr));
}
