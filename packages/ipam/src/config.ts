import type { Route } from '@minicni/spec';
import { IpamError } from './errors.js';
import { formatIp, isIpv4Mapped, parseIp, type Ip } from './ip.js';
import type { RangeConfig } from './range.js';
import { assertSetsDisjoint, canonicalRangeSet, type RangeSet } from './range-set.js';
import { formatSubnet, parseCidr, parseSubnet } from './subnet.js';

/** A route in a CNI result (1.1 adds mtu, advmss, priority, table, scope): @minicni/spec's type. */
export type { Route };

/** The `ipam` section of a network config, host-local's fields plus minicni's extensions. */
export interface IpamSection extends Partial<RangeConfig> {
  type?: string;
  ranges?: RangeConfig[][];
  routes?: Route[];
  dataDir?: string;
  resolvConf?: string;
  /** minicni: applied to every range of the matching family. */
  exclude?: string[];
  /** minicni: seconds a released address rests before reuse (default 0). */
  reuseCooldownSeconds?: number;
  [extra: string]: unknown;
}

/** The capabilities host-local honours (`runtimeConfig` of the network config). */
export interface IpamRuntimeConfig {
  ipRanges?: RangeConfig[][];
  ips?: string[];
  [extra: string]: unknown;
}

export interface IpamSettings {
  rangeSets: RangeSet[];
  routes: Route[];
  dataDir: string | undefined;
  resolvConf: string | undefined;
  reuseCooldownMs: number;
  /** Static addresses from the `ips` capability, CNI_ARGS `IP=` and `args.cni.ips`. */
  requested: Ip[];
}

export interface ParseInput {
  config: unknown;
  runtimeConfig?: unknown;
  /** The raw CNI_ARGS string (`K=V;K=V`). */
  cniArgs?: string;
  /** The network config's `args` object (`{cni: {ips: [...]}}`). */
  args?: unknown;
}

const ROUTE_NUMBERS = ['mtu', 'advmss', 'priority', 'table', 'scope'] as const;

/** Parses and validates everything host-local reads from its input; errors carry INVALID_CONFIG or a math code. */
export function parseIpamSettings(input: ParseInput): IpamSettings {
  const cfg = input.config;
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) {
    throw new IpamError('INVALID_CONFIG', 'the ipam section must be an object');
  }
  const ipam = cfg as IpamSection;
  const rc = (input.runtimeConfig ?? {}) as IpamRuntimeConfig;
  if (typeof rc !== 'object' || rc === null)
    throw new IpamError('INVALID_CONFIG', 'runtimeConfig must be an object');

  let setConfigs: RangeConfig[][] = [];
  if (ipam.ranges !== undefined) {
    if (!Array.isArray(ipam.ranges))
      throw new IpamError('INVALID_CONFIG', 'ipam.ranges must be an array of range sets');
    setConfigs = ipam.ranges;
  }
  // Legacy single range: host-local puts it in front of `ranges`.
  if (typeof ipam.subnet === 'string' && ipam.subnet !== '') {
    const legacy: RangeConfig = { subnet: ipam.subnet };
    if (ipam.rangeStart !== undefined) legacy.rangeStart = ipam.rangeStart;
    if (ipam.rangeEnd !== undefined) legacy.rangeEnd = ipam.rangeEnd;
    if (ipam.gateway !== undefined) legacy.gateway = ipam.gateway;
    setConfigs = [[legacy], ...setConfigs];
  }
  // The ipRanges capability replaces the configured ranges, as in host-local.
  if (rc.ipRanges !== undefined) {
    if (!Array.isArray(rc.ipRanges))
      throw new IpamError('INVALID_CONFIG', 'runtimeConfig.ipRanges must be an array');
    if (rc.ipRanges.length > 0) setConfigs = rc.ipRanges;
  }
  if (setConfigs.length === 0) {
    throw new IpamError('INVALID_CONFIG', 'no IP ranges specified: set ipam.subnet or ipam.ranges');
  }
  const globalExclude = ipam.exclude ?? [];
  if (!Array.isArray(globalExclude))
    throw new IpamError('INVALID_CONFIG', 'ipam.exclude must be an array of strings');
  const rangeSets = setConfigs.map((set, i) => {
    if (!Array.isArray(set))
      throw new IpamError('INVALID_CONFIG', `range set ${i} must be an array of ranges`);
    return canonicalRangeSet(
      set.map((r) => withGlobalExcludes(r, globalExclude)),
      `ranges[${i}]`,
    );
  });
  assertSetsDisjoint(rangeSets);

  return {
    rangeSets,
    routes: parseRoutes(ipam.routes),
    dataDir: optionalString(ipam.dataDir, 'ipam.dataDir'),
    resolvConf: optionalString(ipam.resolvConf, 'ipam.resolvConf'),
    reuseCooldownMs: cooldown(ipam.reuseCooldownSeconds),
    requested: requestedIps(input, rc),
  };
}

function withGlobalExcludes(r: RangeConfig, globalExclude: string[]): RangeConfig {
  if (globalExclude.length === 0 || typeof r !== 'object' || r === null) return r;
  let family: 4 | 6;
  try {
    family = parseSubnet(r.subnet).family;
  } catch {
    return r; // canonicalRange reports the bad subnet with its position
  }
  const mine = globalExclude.filter((e) => typeof e !== 'string' || familyOf(e) === family);
  return { ...r, exclude: [...(r.exclude ?? []), ...mine] };
}

function familyOf(entry: string): 4 | 6 {
  return entry.includes(':') ? 6 : 4;
}

function optionalString(v: unknown, where: string): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new IpamError('INVALID_CONFIG', `${where} must be a string`);
  return v;
}

function cooldown(v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new IpamError('INVALID_CONFIG', 'ipam.reuseCooldownSeconds must be a non-negative number');
  }
  return Math.round(v * 1000);
}

function parseRoutes(routes: unknown): Route[] {
  if (routes === undefined || routes === null) return [];
  if (!Array.isArray(routes)) throw new IpamError('INVALID_CONFIG', 'ipam.routes must be an array');
  return routes.map((r: unknown, i) => {
    const where = `ipam.routes[${i}]`;
    if (typeof r !== 'object' || r === null)
      throw new IpamError('INVALID_CONFIG', `${where} must be an object`);
    const src = r as Record<string, unknown>;
    if (typeof src.dst !== 'string') throw new IpamError('INVALID_CONFIG', `${where}.dst is required (CIDR)`);
    const dst = parseSubnet(src.dst);
    const out: Route = { dst: formatSubnet(dst) };
    if (src.gw !== undefined && src.gw !== '') {
      if (typeof src.gw !== 'string') throw new IpamError('INVALID_CONFIG', `${where}.gw must be a string`);
      const gw = parseIp(src.gw);
      if (gw.family !== dst.family)
        throw new IpamError('INVALID_CONFIG', `${where}: gw ${src.gw} is not IPv${dst.family}`);
      out.gw = formatIp(gw);
    }
    for (const k of ROUTE_NUMBERS) {
      const v = src[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
        throw new IpamError('INVALID_CONFIG', `${where}.${k} must be a non-negative integer`);
      }
      out[k] = v;
    }
    return out;
  });
}

/** A request may be `10.0.0.5` or `10.0.0.5/24` (the prefix is ignored, as host-local does). */
function parseRequest(text: unknown, where: string): Ip {
  if (typeof text !== 'string') throw new IpamError('INVALID_CONFIG', `${where} must be a string`);
  const ip = text.includes('/') ? parseCidr(text, { allowHostBits: true }).ip : parseIp(text);
  if (isIpv4Mapped(ip)) {
    throw new IpamError(
      'INVALID_ADDRESS',
      `${where}: ${text} is IPv4-mapped IPv6; request the IPv4 address instead`,
    );
  }
  return ip;
}

function requestedIps(input: ParseInput, rc: IpamRuntimeConfig): Ip[] {
  const out: Ip[] = [];
  if (input.cniArgs) {
    for (const pair of input.cniArgs.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      if (pair.slice(0, eq) !== 'IP') continue;
      // podman and others send a comma-separated list here.
      for (const t of pair.slice(eq + 1).split(',')) if (t !== '') out.push(parseRequest(t, 'CNI_ARGS IP'));
    }
  }
  const args = input.args as { cni?: { ips?: unknown } } | undefined;
  if (args?.cni?.ips !== undefined) {
    if (!Array.isArray(args.cni.ips)) throw new IpamError('INVALID_CONFIG', 'args.cni.ips must be an array');
    args.cni.ips.forEach((t: unknown, i) => out.push(parseRequest(t, `args.cni.ips[${i}]`)));
  }
  if (rc.ips !== undefined) {
    if (!Array.isArray(rc.ips)) throw new IpamError('INVALID_CONFIG', 'runtimeConfig.ips must be an array');
    rc.ips.forEach((t: unknown, i) => out.push(parseRequest(t, `runtimeConfig.ips[${i}]`)));
  }
  const seen = new Set<string>();
  return out.filter((ip) => {
    const k = `${ip.family}:${ip.value}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
