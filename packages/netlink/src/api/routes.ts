import { bytesAttr, u32Attr, type Attr } from '../codec/attributes.js';
import * as C from '../codec/constants.js';
import { familyToAf, networkOf, parseCidr, parseIp, type Family } from '../codec/ip.js';
import { decodeRoute, encodeRtMsg, type Route } from '../codec/route.js';
import { ERRNO } from '../errno.js';
import { NetlinkError, NetlinkInputError } from '../errors.js';
import { checkUint, type LinkRef } from '../names.js';
import type { NetlinkSocket } from '../socket.js';
import type { Links } from './links.js';

export type RouteScope = 'universe' | 'site' | 'link' | 'host' | number;

export interface RouteSpec {
  /** Destination CIDR, or `default` (IPv4 unless the gateway is IPv6). */
  dst: string;
  gateway?: string;
  /** Output interface. */
  dev?: LinkRef;
  /** Use the gateway even when no address of the link covers it (RTNH_F_ONLINK). */
  onlink?: boolean;
  /** Routing table (default main, 254). */
  table?: number;
  /** Route priority, what iproute2 calls `metric`. */
  metric?: number;
  /** Default: link for an IPv4 route without gateway, universe otherwise (as iproute2). */
  scope?: RouteScope;
  /** Preferred source address. */
  src?: string;
  /** RTPROT_* (default boot, as iproute2). */
  protocol?: number;
}

export interface RouteListOptions {
  family?: Family;
  /** Table to list (default main); `all` lists every table. */
  table?: number | 'all';
  dev?: LinkRef;
  /** Only routes of this protocol (`ip route show proto N`). */
  protocol?: number;
  /** Every route but those of this protocol (an agent's look at the routes it did not make). */
  exceptProtocol?: number;
}

/** Byte offset of rtm_protocol in struct rtmsg. */
const RTM_PROTOCOL_AT = 5;

const SCOPES: Record<string, number> = {
  universe: C.RT_SCOPE_UNIVERSE,
  site: C.RT_SCOPE_SITE,
  link: C.RT_SCOPE_LINK,
  host: C.RT_SCOPE_HOST,
};

/** Route operations of one handle. */
export class Routes {
  readonly #sock: NetlinkSocket;
  readonly #links: Links;

  constructor(sock: NetlinkSocket, links: Links) {
    this.#sock = sock;
    this.#links = links;
  }

  async list(opts: RouteListOptions = {}): Promise<Route[]> {
    const table = opts.table ?? C.RT_TABLE_MAIN;
    const index = opts.dev === undefined ? undefined : (await this.#links.get(opts.dev)).index;
    const families = opts.family ? [opts.family] : ([4, 6] as const);
    const out: Route[] = [];
    for (const family of families) {
      const messages = await this.#sock.dump({
        operation: 'route list',
        type: C.RTM_GETROUTE,
        fixed: encodeRtMsg({
          family: familyToAf(family),
          dstLength: 0,
          table: 0,
          protocol: 0,
          scope: 0,
          type: 0,
        }),
      });
      for (const m of messages) {
        if (m.type !== C.RTM_NEWROUTE) continue;
        // The protocol filters read the fixed header only: a route they drop is never decoded
        // (an agent's thousands of routes cost nothing to a look at the others).
        if (m.payload.length > RTM_PROTOCOL_AT) {
          const protocol = m.payload[RTM_PROTOCOL_AT]!;
          if (opts.protocol !== undefined && protocol !== opts.protocol) continue;
          if (opts.exceptProtocol !== undefined && protocol === opts.exceptProtocol) continue;
        }
        const r = decodeRoute(m);
        if (!r || (table !== 'all' && r.table !== table) || (index !== undefined && r.index !== index))
          continue;
        out.push(r);
      }
    }
    return out;
  }

  /**
   * The route the kernel would use to reach `address` (`ip route get`): tells, for instance,
   * whether a peer is on-link (no gateway) or behind a router. ENETUNREACH when there is none.
   */
  async get(address: string): Promise<Route> {
    const ip = parseIp(address);
    const operation = `route get ${address}`;
    const replies = await this.#sock.request({
      operation,
      type: C.RTM_GETROUTE,
      fixed: encodeRtMsg({
        family: familyToAf(ip.family),
        dstLength: ip.family === 4 ? 32 : 128,
        table: 0,
        protocol: 0,
        scope: 0,
        type: 0,
      }),
      attrs: [bytesAttr(C.RTA_DST, ip.bytes)],
    });
    const route = replies.filter((m) => m.type === C.RTM_NEWROUTE).map(decodeRoute)[0];
    if (!route)
      throw new NetlinkError({ operation, errno: ERRNO.ENETUNREACH, extAck: 'no route in the reply' });
    return route;
  }

  /** Adds a route; EEXIST when the same route exists. */
  async add(spec: RouteSpec): Promise<void> {
    await this.#change('route add', C.RTM_NEWROUTE, C.NLM_F_CREATE | C.NLM_F_EXCL, spec);
  }

  /** Adds the route or replaces the one with the same destination, table and metric. */
  async replace(spec: RouteSpec): Promise<void> {
    await this.#change('route replace', C.RTM_NEWROUTE, C.NLM_F_CREATE | C.NLM_F_REPLACE, spec);
  }

  /** Deletes the route matching the given fields; ESRCH when there is none. */
  async delete(spec: RouteSpec): Promise<void> {
    await this.#change('route delete', C.RTM_DELROUTE, 0, spec);
  }

  /** Adds the route unless it exists. Returns whether it was added. */
  async ensure(spec: RouteSpec): Promise<boolean> {
    try {
      await this.add(spec);
      return true;
    } catch (err) {
      if (err instanceof NetlinkError && err.code === 'EEXIST') return false;
      throw err;
    }
  }

  async #change(verb: string, type: number, flags: number, spec: RouteSpec): Promise<void> {
    const operation = `${verb} ${describe(spec)}`;
    const gateway = spec.gateway === undefined ? undefined : parseIp(spec.gateway);
    const dst =
      spec.dst === 'default'
        ? {
            family: gateway?.family ?? 4,
            bytes: Buffer.alloc(gateway?.family === 6 ? 16 : 4),
            prefixLength: 0,
          }
        : parseCidr(spec.dst);
    if (gateway && gateway.family !== dst.family) {
      throw new NetlinkInputError(`${operation}: gateway and destination are of different IP families`);
    }
    const attrs: Attr[] = [];
    if (dst.prefixLength > 0) attrs.push(bytesAttr(C.RTA_DST, networkOf(dst)));
    if (gateway) attrs.push(bytesAttr(C.RTA_GATEWAY, gateway.bytes));
    if (spec.dev !== undefined) {
      const index = typeof spec.dev === 'number' ? spec.dev : (await this.#links.get(spec.dev)).index;
      attrs.push(u32Attr(C.RTA_OIF, index));
    }
    if (spec.metric !== undefined)
      attrs.push(u32Attr(C.RTA_PRIORITY, checkUint(spec.metric, 0xffffffff, 'metric')));
    if (spec.src !== undefined) attrs.push(bytesAttr(C.RTA_PREFSRC, parseIp(spec.src).bytes));
    const table = checkUint(spec.table ?? C.RT_TABLE_MAIN, 0xffffffff, 'table');
    attrs.push(u32Attr(C.RTA_TABLE, table));
    const deleting = type === C.RTM_DELROUTE;
    await this.#sock.request({
      operation,
      type,
      flags,
      fixed: encodeRtMsg({
        family: familyToAf(dst.family),
        dstLength: dst.prefixLength,
        table,
        // A delete matches any protocol, type and scope unless told (as `ip route del`).
        protocol: deleting ? (spec.protocol ?? C.RTPROT_UNSPEC) : (spec.protocol ?? C.RTPROT_BOOT),
        scope: scopeOf(spec, dst.family, deleting),
        type: deleting ? 0 : C.RTN_UNICAST,
        flags: spec.onlink ? C.RTNH_F_ONLINK : 0,
      }),
      attrs,
    });
  }
}

function scopeOf(spec: RouteSpec, family: Family, deleting: boolean): number {
  if (spec.scope !== undefined) {
    const n = typeof spec.scope === 'number' ? spec.scope : SCOPES[spec.scope];
    if (n === undefined)
      throw new NetlinkInputError(`route scope "${spec.scope}" is not universe, site, link or host`);
    return checkUint(n, 255, 'scope');
  }
  if (deleting) return C.RT_SCOPE_NOWHERE;
  return family === 4 && !spec.gateway ? C.RT_SCOPE_LINK : C.RT_SCOPE_UNIVERSE;
}

function describe(spec: RouteSpec): string {
  const parts = [spec.dst];
  if (spec.gateway) parts.push(`via ${spec.gateway}`);
  if (spec.dev !== undefined) parts.push(`dev ${spec.dev}`);
  if (spec.table !== undefined) parts.push(`table ${spec.table}`);
  if (spec.metric !== undefined) parts.push(`metric ${spec.metric}`);
  return parts.join(' ');
}
