import { IpamError } from './errors.js';
import { BITS, formatIp, isIpv4Mapped, parseIp, type Family, type Ip } from './ip.js';

/** A CIDR block: the network address (host bits zero) and a prefix length. */
export interface Subnet {
  readonly family: Family;
  /** The network address as an integer. */
  readonly base: bigint;
  readonly prefix: number;
}

export interface ParseSubnetOptions {
  /** Accept `10.0.0.5/24` and keep the address (used for `ips` requests); the subnet is then masked. */
  allowHostBits?: boolean;
}

const PREFIX = /^(?:0|[1-9]\d{0,2})$/;

/** Parses `addr/prefix` strictly. Host bits are an error (with the network address to use) unless allowed. */
export function parseSubnet(text: string, opts: ParseSubnetOptions = {}): Subnet {
  const { subnet } = parseCidr(text, opts);
  return subnet;
}

/** Parses `addr/prefix` and returns both the address as written and the (masked) subnet. */
export function parseCidr(text: string, opts: ParseSubnetOptions = {}): { ip: Ip; subnet: Subnet } {
  if (typeof text !== 'string') throw new IpamError('INVALID_SUBNET', `subnet must be a string in CIDR form`);
  const slash = text.indexOf('/');
  if (slash < 0) throw new IpamError('INVALID_SUBNET', `"${text}" is not in CIDR form (address/prefix)`);
  const prefixText = text.slice(slash + 1);
  let ip: Ip;
  try {
    ip = parseIp(text.slice(0, slash));
  } catch (cause) {
    throw new IpamError('INVALID_SUBNET', `"${text}": ${(cause as Error).message}`, { cause });
  }
  if (isIpv4Mapped(ip)) {
    throw new IpamError('INVALID_SUBNET', `"${text}" is IPv4-mapped IPv6; write the IPv4 subnet instead`);
  }
  const bits = BITS[ip.family];
  if (!PREFIX.test(prefixText) || Number(prefixText) > bits) {
    throw new IpamError('INVALID_SUBNET', `"${text}" has an invalid prefix length (0-${bits})`);
  }
  const prefix = Number(prefixText);
  const base = ip.value & maskOf(ip.family, prefix);
  if (base !== ip.value && !opts.allowHostBits) {
    const network = formatIp({ family: ip.family, value: base });
    throw new IpamError(
      'HOST_BITS_SET',
      `"${text}" has host bits set; for a /${prefix} the network address is ${network} (use ${network}/${prefix})`,
    );
  }
  return { ip, subnet: { family: ip.family, base, prefix } };
}

export function maskOf(family: Family, prefix: number): bigint {
  const bits = BigInt(BITS[family]);
  const host = bits - BigInt(prefix);
  return ((1n << bits) - 1n) ^ ((1n << host) - 1n);
}

/** Number of addresses in the block (a BigInt: a /64 holds 2^64). */
export function subnetSize(s: Subnet): bigint {
  return 1n << BigInt(BITS[s.family] - s.prefix);
}

export function lastOf(s: Subnet): bigint {
  return s.base + subnetSize(s) - 1n;
}

/** IPv4-mapped IPv6 addresses never match an IPv4 subnet: families must be equal. */
export function subnetContains(s: Subnet, ip: Ip): boolean {
  return ip.family === s.family && ip.value >= s.base && ip.value <= lastOf(s);
}

export function subnetsOverlap(a: Subnet, b: Subnet): boolean {
  return a.family === b.family && a.base <= lastOf(b) && b.base <= lastOf(a);
}

export function formatSubnet(s: Subnet): string {
  return `${formatIp({ family: s.family, value: s.base })}/${s.prefix}`;
}

/** `address/prefix` for a host inside a subnet, as CNI results write it. */
export function formatHostCidr(s: Subnet, value: bigint): string {
  return `${formatIp({ family: s.family, value })}/${s.prefix}`;
}
