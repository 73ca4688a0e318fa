import { SpecError } from './errors.js';
import { ipFamily } from './ip.js';
import type {
  AnyResult,
  Dns,
  Interface,
  IpConfig,
  Result,
  Result020,
  Result040,
  Result100,
  ResultOf,
  Route,
} from './result-types.js';
import { isCniVersion, isLegacyVersion, isV04Version, SPEC_VERSIONS, type CniVersion } from './versions.js';

/**
 * Converts a result to another spec version with the rules of Go's `pkg/types`:
 * - same group (0.1.0/0.2.0, 0.3.x/0.4.0) only relabels `cniVersion`;
 * - going up from 0.1.0/0.2.0, `ip4`/`ip6` become `ips` and their routes are merged;
 * - going down to 0.1.0/0.2.0, only the first IP of each family survives, routes go to the
 *   family of their destination (and are dropped when that family has no IP), interfaces are
 *   dropped, and a result with no IP at all cannot be expressed (RESULT_NOT_CONVERTIBLE);
 * - 0.3.x/0.4.0 ↔ 1.x adds or drops `ips[].version` (derived from the address);
 * - the 1.1.0-only fields (`interfaces[].mtu/socketPath/pciID`, `routes[].mtu/advmss/priority/
 *   table/scope`) are dropped below 1.1.0. Go keeps them in 1.0.0 because it uses one struct
 *   for both; a 1.0.0 result carrying them would not match the 1.0.0 spec, so they go.
 * The input is never modified.
 */
export function convertResult<V extends CniVersion>(result: AnyResult, toVersion: V): ResultOf<V>;
export function convertResult(result: AnyResult, toVersion: string): AnyResult;
export function convertResult(result: AnyResult, toVersion: string): AnyResult {
  if (!isCniVersion(toVersion)) {
    throw new SpecError(
      'VERSION_UNSUPPORTED',
      `cannot convert a result to cniVersion ${JSON.stringify(toVersion)}: known versions are ${SPEC_VERSIONS.join(', ')}`,
    );
  }
  return fromLatest(toLatest(result), toVersion);
}

/** Any result in the 1.1.0 shape (lossless: every version's fields exist in 1.1.0). */
export function toLatest(result: AnyResult): Result {
  if (result.cniVersion === '1.1.0') return copyLatest(result, true);
  if (result.cniVersion === '1.0.0') return copyLatest(result as unknown as Result, false);
  if (isV04Version(result.cniVersion)) {
    const r = result as Result040;
    const out: Result = { cniVersion: '1.1.0' };
    if (r.interfaces) out.interfaces = r.interfaces.map((i) => copyIf(i, false));
    if (r.ips) out.ips = r.ips.map(({ address, gateway, interface: index }) => ip(address, gateway, index));
    if (r.routes) out.routes = r.routes.map((x) => copyRoute(x, false));
    if (r.dns) out.dns = copyDns(r.dns);
    return out;
  }
  const r = result as Result020;
  const out: Result = { cniVersion: '1.1.0' };
  const ips: IpConfig[] = [];
  const routes: Route[] = [];
  for (const c of [r.ip4, r.ip6]) {
    if (!c) continue;
    ips.push(ip(c.ip, c.gateway, undefined));
    for (const x of c.routes ?? []) routes.push(copyRoute(x, false));
  }
  if (ips.length) out.ips = ips;
  if (routes.length) out.routes = routes;
  if (r.dns) out.dns = copyDns(r.dns);
  return out;
}

function fromLatest(r: Result, to: CniVersion): AnyResult {
  if (to === '1.1.0') return r;
  if (to === '1.0.0') {
    const out: Result100 = { cniVersion: to };
    if (r.interfaces) out.interfaces = r.interfaces.map((i) => copyIf(i, false));
    if (r.ips) out.ips = r.ips.map((x) => ip(x.address, x.gateway, x.interface));
    if (r.routes) out.routes = r.routes.map((x) => copyRoute(x, false));
    if (r.dns) out.dns = r.dns;
    return out;
  }
  if (isV04Version(to)) {
    const out: Result040 = { cniVersion: to };
    if (r.interfaces) out.interfaces = r.interfaces.map((i) => copyIf(i, false));
    if (r.ips) {
      out.ips = r.ips.map((x) => {
        const v = {
          version: ipFamily(x.address) === 4 ? ('4' as const) : ('6' as const),
          address: x.address,
        };
        return Object.assign(v, ip(x.address, x.gateway, x.interface));
      });
    }
    if (r.routes) out.routes = r.routes.map((x) => copyRoute(x, false));
    if (r.dns) out.dns = r.dns;
    return out;
  }
  if (!isLegacyVersion(to)) throw new Error(`unreachable: ${String(to)}`);
  const out: Result020 = { cniVersion: to };
  for (const x of r.ips ?? []) {
    const key = ipFamily(x.address) === 4 ? 'ip4' : 'ip6';
    if (out[key]) continue;
    out[key] = x.gateway === undefined ? { ip: x.address } : { ip: x.address, gateway: x.gateway };
  }
  if (!out.ip4 && !out.ip6) {
    throw new SpecError(
      'RESULT_NOT_CONVERTIBLE',
      `cannot express this result in CNI ${to}: it has no IP address, and ${to} results must have one`,
    );
  }
  for (const x of r.routes ?? []) {
    const target = ipFamily(x.dst) === 4 ? out.ip4 : out.ip6;
    if (target) (target.routes ??= []).push(copyRoute(x, false));
  }
  if (r.dns) out.dns = r.dns;
  return out;
}

function ip(address: string, gateway: string | undefined, index: number | undefined): IpConfig {
  const out: IpConfig = { address };
  if (gateway !== undefined) out.gateway = gateway;
  if (index !== undefined) out.interface = index;
  return out;
}

function copyIf(i: Interface, rich: boolean): Interface {
  const out: Interface = { name: i.name };
  if (i.mac !== undefined) out.mac = i.mac;
  if (i.sandbox !== undefined) out.sandbox = i.sandbox;
  if (!rich) return out;
  if (i.mtu !== undefined) out.mtu = i.mtu;
  if (i.socketPath !== undefined) out.socketPath = i.socketPath;
  if (i.pciID !== undefined) out.pciID = i.pciID;
  return out;
}

function copyRoute(x: Route, rich: boolean): Route {
  const out: Route = { dst: x.dst };
  if (x.gw !== undefined) out.gw = x.gw;
  if (!rich) return out;
  for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
    if (x[k] !== undefined) out[k] = x[k];
  }
  return out;
}

function copyDns(d: Dns): Dns {
  const out: Dns = {};
  if (d.nameservers) out.nameservers = [...d.nameservers];
  if (d.domain !== undefined) out.domain = d.domain;
  if (d.search) out.search = [...d.search];
  if (d.options) out.options = [...d.options];
  return out;
}

function copyLatest(r: Result, rich: boolean): Result {
  const out: Result = { cniVersion: '1.1.0' };
  if (r.interfaces) out.interfaces = r.interfaces.map((i) => copyIf(i, rich));
  if (r.ips) out.ips = r.ips.map((x) => ip(x.address, x.gateway, x.interface));
  if (r.routes) out.routes = r.routes.map((x) => copyRoute(x, rich));
  if (r.dns) out.dns = copyDns(r.dns);
  return out;
}
