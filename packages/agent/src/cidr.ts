import { isIPv4, isIPv6 } from 'node:net';
import { AgentError } from './errors.js';

export type IpFamily = 4 | 6;

/** A parsed, canonical prefix: `address` is the network address (host bits zero). */
export interface Cidr {
  family: IpFamily;
  /** Network address, canonical text. */
  address: string;
  prefix: number;
  /** `address/prefix`. */
  text: string;
}

/** The address family of an IP literal, or undefined when it is not one. */
export function ipFamily(ip: string): IpFamily | undefined {
  if (isIPv4(ip)) return 4;
  if (isIPv6(ip)) return 6;
  return undefined;
}

/**
 * Parses a pod CIDR strictly: host bits must be zero (a node's podCIDR is a network, and a
 * typo such as 10.244.1.5/24 should stop the installer, not be silently widened).
 */
export function parseCidr(text: string): Cidr {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim());
  const family = m ? ipFamily(m[1]!) : undefined;
  if (!m || !family) throw new AgentError('INVALID_CIDR', `"${text}" is not a CIDR such as 10.244.1.0/24`);
  const prefix = Number(m[2]);
  const bits = family === 4 ? 32 : 128;
  if (prefix > bits)
    throw new AgentError('INVALID_CIDR', `"${text}": prefix /${prefix} is longer than ${bits}`);
  const value = ipToBigInt(m[1]!);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((value & hostMask) !== 0n) {
    const net = bigIntToIp(value & ~hostMask, family);
    throw new AgentError('INVALID_CIDR', `"${text}" has host bits set; did you mean ${net}/${prefix}?`);
  }
  const address = bigIntToIp(value, family);
  return { family, address, prefix, text: `${address}/${prefix}` };
}

export function ipToBigInt(ip: string): bigint {
  if (isIPv4(ip)) return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  if (!isIPv6(ip)) throw new AgentError('INVALID_CIDR', `"${ip}" is not an IP address`);
  let text = ip;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = Number(ipToBigInt(v4[1]!));
    text = text.slice(0, -v4[1]!.length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export function bigIntToIp(value: bigint, family: IpFamily): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups (RFC 5952), so texts compare equal to iproute2's.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Canonical text of an IP literal (so `fd00:0::1` and `fd00::1` compare equal). */
export function canonicalIp(ip: string): string {
  const family = ipFamily(ip);
  if (!family) throw new AgentError('INVALID_CIDR', `"${ip}" is not an IP address`);
  return bigIntToIp(ipToBigInt(ip), family);
}

/** Whether two prefixes share any address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const bits = a.family === 4 ? 32 : 128;
  const prefix = Math.min(a.prefix, b.prefix);
  const shift = BigInt(bits - prefix);
  return ipToBigInt(a.address) >> shift === ipToBigInt(b.address) >> shift;
}
