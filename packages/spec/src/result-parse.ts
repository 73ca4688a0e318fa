import { SpecError, type SpecErrorCode } from './errors.js';
import { ipFamily, isCidr, isIP, isMac } from './ip.js';
import { JsonReader } from './json-check.js';
import type {
  AnyResult,
  Dns,
  Interface,
  IpConfig,
  IpConfig020,
  IpConfig040,
  Result,
  Result020,
  Result040,
  Result100,
  Route,
} from './result-types.js';
import { isCniVersion, isLegacyVersion, isV04Version, SPEC_VERSIONS, type CniVersion } from './versions.js';

export interface ParseResultOptions {
  /** Version to assume when the object has no `cniVersion` (Go does this for prevResult). */
  defaultVersion?: string;
  /** Error code to throw with (default RESULT_INVALID). */
  code?: SpecErrorCode;
  /** What is being parsed, for messages (default "result"). */
  what?: string;
}

/**
 * Validates a decoded result of any version and returns it typed, keeping exactly the fields
 * that version defines (unknown fields are dropped, as Go's decoder drops them). Addresses must
 * be CIDRs, gateways IPs, MACs valid, interface indexes inside `interfaces`.
 */
export function parseResult(value: unknown, opts: ParseResultOptions = {}): AnyResult {
  const r: JsonReader = new JsonReader(opts.code ?? 'RESULT_INVALID', opts.what ?? 'result');
  const o = r.object(value, '(top level)');
  const declared = o.cniVersion ?? opts.defaultVersion;
  if (declared === undefined || declared === '') r.fail('cniVersion', 'is required');
  if (!isCniVersion(declared)) {
    throw new SpecError(
      'VERSION_UNSUPPORTED',
      `${r.what}: cniVersion ${JSON.stringify(declared)} is not a CNI version (known: ${SPEC_VERSIONS.join(', ')})`,
    );
  }
  const version: CniVersion = declared;
  const dns = parseDns(r, o.dns);
  if (isLegacyVersion(version)) {
    const out: Result020 = { cniVersion: version };
    const ip4 = parseIp020(r, o.ip4, 'ip4', 4);
    const ip6 = parseIp020(r, o.ip6, 'ip6', 6);
    if (ip4) out.ip4 = ip4;
    if (ip6) out.ip6 = ip6;
    if (dns) out.dns = dns;
    return out;
  }
  const rich = version === '1.1.0';
  const interfaces = r.optArray(o, 'interfaces', '')?.map((v, i) => parseInterface(r, v, i, rich));
  const ipsRaw = r.optArray(o, 'ips', '');
  const routes = r.optArray(o, 'routes', '')?.map((v, i) => parseRoute(r, v, `routes[${i}].`, rich));
  const nIf = interfaces?.length ?? 0;
  if (isV04Version(version)) {
    const out: Result040 = { cniVersion: version };
    if (interfaces) out.interfaces = interfaces.map(({ name, mac, sandbox }) => basicIf(name, mac, sandbox));
    if (ipsRaw) out.ips = ipsRaw.map((v, i) => parseIp040(r, v, i, nIf));
    if (routes) out.routes = routes;
    if (dns) out.dns = dns;
    return out;
  }
  const ips = ipsRaw?.map((v, i) => parseIp(r, v, i, nIf));
  if (version === '1.0.0') {
    const out: Result100 = { cniVersion: version };
    if (interfaces) out.interfaces = interfaces.map(({ name, mac, sandbox }) => basicIf(name, mac, sandbox));
    if (ips) out.ips = ips;
    if (routes) out.routes = routes;
    if (dns) out.dns = dns;
    return out;
  }
  const out: Result = { cniVersion: version };
  if (interfaces) out.interfaces = interfaces;
  if (ips) out.ips = ips;
  if (routes) out.routes = routes;
  if (dns) out.dns = dns;
  return out;
}

function basicIf(name: string, mac?: string, sandbox?: string): Interface {
  const out: Interface = { name };
  if (mac !== undefined) out.mac = mac;
  if (sandbox !== undefined) out.sandbox = sandbox;
  return out;
}

function parseDns(r: JsonReader, v: unknown): Dns | undefined {
  if (v === undefined || v === null) return undefined;
  const o = r.object(v, 'dns');
  const out: Dns = {};
  const nameservers = r.optStrings(o, 'nameservers', 'dns.');
  nameservers?.forEach((s, i) => {
    if (!isIP(s)) r.fail(`dns.nameservers[${i}]`, `is not an IP address: ${JSON.stringify(s)}`);
  });
  const domain = r.optString(o, 'domain', 'dns.');
  const search = r.optStrings(o, 'search', 'dns.');
  const options = r.optStrings(o, 'options', 'dns.');
  if (nameservers) out.nameservers = nameservers;
  if (domain !== undefined) out.domain = domain;
  if (search) out.search = search;
  if (options) out.options = options;
  return out;
}

function cidr(r: JsonReader, o: Record<string, unknown>, key: string, path: string): string {
  const s = r.string(o, key, path);
  if (!isCidr(s)) r.fail(`${path}${key}`, `is not an address with prefix length: ${JSON.stringify(s)}`);
  return s;
}

function optIp(r: JsonReader, o: Record<string, unknown>, key: string, path: string): string | undefined {
  const s = r.optString(o, key, path);
  if (s !== undefined && !isIP(s)) r.fail(`${path}${key}`, `is not an IP address: ${JSON.stringify(s)}`);
  return s;
}

function parseRoute(r: JsonReader, v: unknown, path: string, rich: boolean): Route {
  const o = r.object(v, path.slice(0, -1));
  const out: Route = { dst: cidr(r, o, 'dst', path) };
  const gw = optIp(r, o, 'gw', path);
  if (gw !== undefined) out.gw = gw;
  if (!rich) return out;
  for (const key of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
    const n = r.optInt(o, key, path, 0, key === 'scope' ? 255 : 2 ** 32 - 1);
    if (n !== undefined) out[key] = n;
  }
  return out;
}

function parseIp020(r: JsonReader, v: unknown, key: string, family: 4 | 6): IpConfig020 | undefined {
  if (v === undefined || v === null) return undefined;
  const o = r.object(v, key);
  const path = `${key}.`;
  const out: IpConfig020 = { ip: cidr(r, o, 'ip', path) };
  if (ipFamily(out.ip) !== family) r.fail(`${path}ip`, `is not an IPv${family} address: ${out.ip}`);
  const gateway = optIp(r, o, 'gateway', path);
  if (gateway !== undefined) out.gateway = gateway;
  const routes = r
    .optArray(o, 'routes', path)
    ?.map((x, i) => parseRoute(r, x, `${path}routes[${i}].`, false));
  if (routes) out.routes = routes;
  return out;
}

function parseInterface(r: JsonReader, v: unknown, i: number, rich: boolean): Interface {
  const path = `interfaces[${i}].`;
  const o = r.object(v, `interfaces[${i}]`);
  const name = r.string(o, 'name', path);
  const mac = r.optString(o, 'mac', path);
  // Go accepts any MAC text here; an empty string is what some plugins print for "none".
  if (mac !== undefined && mac !== '' && !isMac(mac)) r.fail(`${path}mac`, `is not a MAC address: ${mac}`);
  const out = basicIf(name, mac, r.optString(o, 'sandbox', path));
  if (!rich) return out;
  const mtu = r.optInt(o, 'mtu', path, 0, 2 ** 31 - 1);
  const socketPath = r.optString(o, 'socketPath', path);
  const pciID = r.optString(o, 'pciID', path);
  if (mtu !== undefined) out.mtu = mtu;
  if (socketPath !== undefined) out.socketPath = socketPath;
  if (pciID !== undefined) out.pciID = pciID;
  return out;
}

function parseIp(r: JsonReader, v: unknown, i: number, nIf: number): IpConfig {
  const path = `ips[${i}].`;
  const o = r.object(v, `ips[${i}]`);
  const out: IpConfig = { address: cidr(r, o, 'address', path) };
  const gateway = optIp(r, o, 'gateway', path);
  if (gateway !== undefined) out.gateway = gateway;
  const index = r.optInt(o, 'interface', path);
  if (index !== undefined) {
    if (index >= nIf) r.fail(`${path}interface`, `is ${index} but there are ${nIf} interfaces`);
    out.interface = index;
  }
  return out;
}

function parseIp040(r: JsonReader, v: unknown, i: number, nIf: number): IpConfig040 {
  const base = parseIp(r, v, i, nIf);
  const family = ipFamily(base.address) === 4 ? '4' : '6';
  const o = v as Record<string, unknown>;
  const declared = r.optString(o, 'version', `ips[${i}].`);
  // Missing version is derived from the address; a wrong one is an error, not a silent fix.
  if (declared !== undefined && declared !== family) {
    r.fail(`ips[${i}].version`, `is "${declared}" but ${base.address} is IPv${family}`);
  }
  const out: IpConfig040 = { version: family, address: base.address };
  if (base.gateway !== undefined) out.gateway = base.gateway;
  if (base.interface !== undefined) out.interface = base.interface;
  return out;
}
