import { IpamError } from './errors.js';
import { IntervalSet, type Interval } from './intervals.js';
import { formatIp, isIpv4Mapped, parseIp, type Family, type Ip } from './ip.js';
import { formatSubnet, lastOf, parseSubnet, subnetContains, subnetsOverlap, type Subnet } from './subnet.js';

/** One range as host-local's config writes it, plus minicni's `exclude` extension. */
export interface RangeConfig {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
  /** Addresses never handed out: `10.0.0.7`, `10.0.0.16/28`, or `10.0.0.20-10.0.0.30`. */
  exclude?: string[];
}

/** A canonical range: every bound resolved, exclusions (and the gateway) as intervals. */
export interface Range {
  readonly family: Family;
  readonly subnet: Subnet;
  readonly start: bigint;
  readonly end: bigint;
  readonly gateway: bigint;
  /** Exclusions plus the gateway: never allocated dynamically, refused as static requests. */
  readonly blocked: IntervalSet;
  readonly excluded: IntervalSet;
}

/**
 * Resolves a range with host-local's defaults: gateway = network+1, start = network+1,
 * end = broadcast-1 for IPv4 and the last address for IPv6. /31, /32, /127 and /128 are refused
 * (no room for a gateway and a pod), as host-local does.
 */
export function canonicalRange(cfg: RangeConfig, where = 'range'): Range {
  if (typeof cfg !== 'object' || cfg === null || typeof cfg.subnet !== 'string') {
    throw new IpamError('INVALID_RANGE', `${where}: "subnet" is required (CIDR, e.g. 10.244.1.0/24)`);
  }
  const subnet = parseSubnet(cfg.subnet);
  const family = subnet.family;
  const bits = family === 4 ? 32 : 128;
  if (subnet.prefix > bits - 2) {
    throw new IpamError(
      'SUBNET_TOO_SMALL',
      `${where}: subnet ${formatSubnet(subnet)} is too small to allocate from (at most /${bits - 2} for IPv${family})`,
    );
  }
  for (const [special, what] of specialBlocks(family)) {
    if (subnetsOverlap(subnet, special)) {
      throw new IpamError(
        'INVALID_RANGE',
        `${where}: subnet ${formatSubnet(subnet)} overlaps ${formatSubnet(special)} (${what}), ` +
          'which no pod can be given an address in',
      );
    }
  }
  const last = lastOf(subnet);
  const hostLo = subnet.base + 1n;
  const hostHi = family === 4 ? last - 1n : last;
  const inside = (field: string, text: string | undefined): bigint | undefined => {
    if (text === undefined || text === '') return undefined;
    const ip = addressIn(text, `${where}.${field}`, family);
    if (!subnetContains(subnet, ip)) {
      throw new IpamError(
        'INVALID_RANGE',
        `${where}: ${field} ${text} is outside subnet ${formatSubnet(subnet)}`,
      );
    }
    return ip.value;
  };
  const gateway = inside('gateway', cfg.gateway) ?? hostLo;
  const start = inside('rangeStart', cfg.rangeStart) ?? hostLo;
  const end = inside('rangeEnd', cfg.rangeEnd) ?? hostHi;
  if (start < hostLo || end > hostHi) {
    const what = start < hostLo ? `rangeStart ${cfg.rangeStart}` : `rangeEnd ${cfg.rangeEnd}`;
    throw new IpamError(
      'INVALID_RANGE',
      `${where}: ${what} is the network${family === 4 ? ' or broadcast' : ''} address of ${formatSubnet(subnet)}`,
    );
  }
  if (start > end) {
    throw new IpamError(
      'INVALID_RANGE',
      `${where}: rangeStart ${fmt(family, start)} is after rangeEnd ${fmt(family, end)}`,
    );
  }
  const excluded = new IntervalSet(parseExclusions(cfg.exclude ?? [], family, where));
  const blocked = new IntervalSet([...excluded.intervals, { lo: gateway, hi: gateway }]);
  return { family, subnet, start, end, gateway, blocked, excluded };
}

/** Special-purpose blocks (RFC 6890) a pod range must not touch. */
const SPECIAL_TEXT: Record<Family, [string, string][]> = {
  4: [
    ['0.0.0.0/8', '"this network"'],
    ['127.0.0.0/8', 'loopback'],
    ['224.0.0.0/4', 'multicast'],
    ['255.255.255.255/32', 'limited broadcast'],
  ],
  6: [
    ['::/128', 'the unspecified address'],
    ['::1/128', 'loopback'],
    ['ff00::/8', 'multicast'],
  ],
};
const special: Partial<Record<Family, [Subnet, string][]>> = {};
function specialBlocks(family: Family): [Subnet, string][] {
  return (special[family] ??= SPECIAL_TEXT[family].map(([cidr, what]) => [parseSubnet(cidr), what]));
}

function fmt(family: Family, value: bigint): string {
  return formatIp({ family, value });
}

function addressIn(text: string, where: string, family: Family): Ip {
  let ip: Ip;
  try {
    ip = parseIp(text);
  } catch (cause) {
    throw new IpamError('INVALID_RANGE', `${where}: ${(cause as Error).message}`, { cause });
  }
  if (isIpv4Mapped(ip) || ip.family !== family) {
    throw new IpamError('INVALID_RANGE', `${where}: ${text} is not an IPv${family} address`);
  }
  return ip;
}

/** Parses exclusion entries into intervals: an address, a CIDR, or `a-b`. */
export function parseExclusions(entries: unknown, family: Family, where: string): Interval[] {
  if (!Array.isArray(entries))
    throw new IpamError('INVALID_RANGE', `${where}.exclude must be an array of strings`);
  return entries.map((e: unknown, i) => {
    const at = `${where}.exclude[${i}]`;
    if (typeof e !== 'string') throw new IpamError('INVALID_RANGE', `${at} must be a string`);
    if (e.includes('/')) {
      const s = parseSubnet(e);
      if (s.family !== family) throw new IpamError('INVALID_RANGE', `${at}: ${e} is not IPv${family}`);
      return { lo: s.base, hi: lastOf(s) };
    }
    const dash = e.indexOf('-');
    if (dash > 0) {
      const lo = addressIn(e.slice(0, dash).trim(), at, family).value;
      const hi = addressIn(e.slice(dash + 1).trim(), at, family).value;
      if (lo > hi) throw new IpamError('INVALID_RANGE', `${at}: ${e} runs backwards`);
      return { lo, hi };
    }
    const v = addressIn(e, at, family).value;
    return { lo: v, hi: v };
  });
}

/** True when `ip` may be handed out by this range (static requests use this too). */
export function rangeContains(r: Range, ip: Ip): boolean {
  return ip.family === r.family && ip.value >= r.start && ip.value <= r.end;
}

/** Addresses this range can hand out: [start, end] less gateway and exclusions. */
export function rangeCapacity(r: Range): bigint {
  return r.end - r.start + 1n - r.blocked.countWithin(r.start, r.end);
}

export function describeRange(r: Range): string {
  return `${formatSubnet(r.subnet)} [${fmt(r.family, r.start)}-${fmt(r.family, r.end)}]`;
}
