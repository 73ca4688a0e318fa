import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ipFamily, ipToBigInt, parseCidr } from './cidr.js';

export const DEFAULT_IPAM_DATA_DIR = '/var/lib/cni/networks';

export interface RangeUsage {
  network: string;
  range: string;
  allocated: number;
  /** Usable addresses: IPv4 loses network, gateway (.1) and broadcast; IPv6 network and gateway. */
  capacity: number;
}

/**
 * Counts reservations in a host-local-format store: `<dataDir>/<network>/<ip>` is one
 * reservation (the format minicni's file store shares with host-local). Only file names are
 * read, so this is cheap enough for every scrape.
 */
export async function ipamUsage(
  dataDir: string,
  ranges: readonly string[],
  list: (dir: string) => Promise<string[]> = (d) => readdir(d),
): Promise<RangeUsage[]> {
  let networks: string[];
  try {
    networks = await list(dataDir);
  } catch {
    return [];
  }
  const parsed = ranges.map((r) => parseCidr(r));
  const out: RangeUsage[] = [];
  for (const network of networks.sort()) {
    let files: string[];
    try {
      files = await list(join(dataDir, network));
    } catch {
      continue; // not a directory
    }
    const ips = files.filter((f) => ipFamily(f)).map((f) => ({ family: ipFamily(f)!, v: ipToBigInt(f) }));
    for (const c of parsed) {
      const bits = c.family === 4 ? 32 : 128;
      const shift = BigInt(bits - c.prefix);
      const base = ipToBigInt(c.address) >> shift;
      const allocated = ips.filter((ip) => ip.family === c.family && ip.v >> shift === base).length;
      const size = 2 ** Math.min(bits - c.prefix, 52);
      const capacity = Math.max(0, size - (c.family === 4 ? 3 : 2));
      out.push({ network, range: c.text, allocated, capacity });
    }
  }
  return out;
}
