import type { Netlink, Route } from '@minicni/netlink';
import {
  canonicalIp,
  formatSubnet,
  parseSubnet,
  subnetContains,
  tryParseIp,
  type parseIp,
} from '@minicni/ipam';
import type { ActualState, Dataplane, DataplaneOp, UnderlayRoute } from './dataplane.js';
import { ROUTE_PROTOCOL } from './dataplane.js';
import { AgentError } from './errors.js';

const RT_TABLE_MAIN = 254;
const RTN_UNICAST = 1;
const NUD_PERMANENT = 0x80;
const AF_INET = 2;
const AF_INET6 = 10;

/** The dataplane through @minicni/netlink: one rtnetlink handle in the agent's netns, no processes. */
export class NetlinkDataplane implements Dataplane {
  readonly #nl: Netlink;
  /** The kernel answers with the same address texts pass after pass: canonical forms, memoized. */
  readonly #canon = new CanonicalCache();

  constructor(nl: Netlink) {
    this.#nl = nl;
  }

  async read(vxlanDevice: string): Promise<ActualState> {
    const nl = this.#nl;
    const links = await nl.links.list();
    const nameOf = new Map(links.map((l) => [l.index, l.name]));
    const routes = (await nl.routes.list({ table: RT_TABLE_MAIN, protocol: ROUTE_PROTOCOL }))
      .filter((r) => r.gateway && r.index !== undefined)
      .map((r) => ({
        dst: this.#canon.subnet(r.dst),
        via: this.#canon.ip(r.gateway!),
        dev: nameOf.get(r.index!) ?? `#${r.index}`,
        onlink: r.onlink,
      }));
    const link = links.find((l) => l.name === vxlanDevice);
    if (!link || link.kind !== 'vxlan') return { routes, neighbours: [], fdb: [] };
    const addresses = (await nl.addresses.list({ dev: link.index }))
      .filter((a) => a.scope !== 253)
      .map((a) => `${canonicalIp(a.address)}/${a.prefixLength}`);
    const neighbours = (await nl.neighbours.list({ dev: link.index }))
      .filter(
        (n) =>
          (n.family === AF_INET || n.family === AF_INET6) && n.state & NUD_PERMANENT && n.dst && n.lladdr,
      )
      .map((n) => ({ ip: this.#canon.ip(n.dst!), mac: n.lladdr! }));
    const fdb = (await nl.fdb.list({ dev: link.index }))
      .filter((f) => f.dst && f.lladdr)
      .map((f) => ({ mac: f.lladdr!, dst: this.#canon.ip(f.dst!) }));
    return {
      routes,
      vxlan: {
        name: link.name,
        vni: link.vxlan?.vni ?? -1,
        port: link.vxlan?.port ?? -1,
        local: link.vxlan?.local ? canonicalIp(link.vxlan.local) : '',
        mac: link.mac ?? '',
        mtu: link.mtu,
        up: link.up,
        addresses,
      },
      neighbours,
      fdb,
    };
  }

  async apply(op: DataplaneOp): Promise<void> {
    const nl = this.#nl;
    try {
      switch (op.op) {
        case 'createVxlan': {
          const d = op.device;
          await nl.links.addVxlan({
            name: d.name,
            vni: d.vni,
            port: d.port,
            local: d.local,
            mac: d.mac,
            mtu: d.mtu,
            learning: false,
          });
          return;
        }
        case 'deleteVxlan':
          return await nl.links.delete(op.name);
        case 'setUp':
          return await nl.links.setUp(op.name);
        case 'addAddress':
          return await nl.addresses.replace(op.dev, op.address);
        case 'delAddress':
          return await nl.addresses.delete(op.dev, op.address);
        case 'replaceFdb':
          return await nl.fdb.replace({
            dev: op.dev,
            mac: op.entry.mac,
            dst: op.entry.dst,
            state: 'permanent',
          });
        case 'delFdb':
          return await nl.fdb.delete({ dev: op.dev, mac: op.entry.mac, dst: op.entry.dst });
        case 'replaceNeighbour':
          return await nl.neighbours.replace({
            dev: op.dev,
            dst: op.entry.ip,
            lladdr: op.entry.mac,
            state: 'permanent',
          });
        case 'delNeighbour':
          return await nl.neighbours.delete({ dev: op.dev, dst: op.entry.ip });
        case 'replaceRoute': {
          const r = op.route;
          return await nl.routes.replace({
            dst: r.dst,
            gateway: r.via,
            dev: r.dev,
            onlink: r.onlink,
            protocol: ROUTE_PROTOCOL,
          });
        }
        case 'delRoute': {
          const r = op.route;
          return await nl.routes.delete({ dst: r.dst, gateway: r.via, dev: r.dev, protocol: ROUTE_PROTOCOL });
        }
      }
    } catch (e) {
      throw new AgentError('DATAPLANE', `${op.op}: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * The main table's longest-prefix match for each address among the routes that are not the
   * agent's own (what `ip route get` answers, minus policy routing, which a node running this
   * agent does not use for node-to-node traffic).
   */
  async routesTo(ips: readonly string[]): Promise<Map<string, UnderlayRoute | undefined>> {
    const out = new Map<string, UnderlayRoute | undefined>();
    if (ips.length === 0) return out;
    // One dump and one parse per route for every address: the underlay is a handful of routes,
    // the agent's own (thousands at scale) are skipped before they are decoded.
    const underlay = parsedUnicast(
      await this.#nl.routes.list({ table: RT_TABLE_MAIN, exceptProtocol: ROUTE_PROTOCOL }),
    );
    const names = new Map((await this.#nl.links.list()).map((l) => [l.index, l.name]));
    for (const ip of ips) {
      const target = this.#canon.parsed(ip);
      const best = target && bestOf(underlay, target);
      const dev = best?.index !== undefined ? names.get(best.index) : undefined;
      out.set(
        ip,
        dev === undefined
          ? undefined
          : best!.gateway
            ? { dev, gateway: canonicalIp(best!.gateway) }
            : { dev },
      );
    }
    return out;
  }

  async addressMtu(ip: string): Promise<number | undefined> {
    const want = canonicalIp(ip);
    const addr = (await this.#nl.addresses.list()).find((a) => canonicalIp(a.address) === want);
    if (!addr) return undefined;
    return (await this.#nl.links.get(addr.index)).mtu;
  }
}

/**
 * Canonical address and subnet texts by the kernel's text. Every drift-repair pass reads back
 * each route, neighbour and FDB entry; parsing thousands of them again each time was most of an
 * idle agent's CPU at 5,000 nodes. Bounded: cleared when it outgrows what one node holds.
 */
class CanonicalCache {
  readonly #ips = new Map<string, string>();
  readonly #subnets = new Map<string, string>();
  readonly #parsed = new Map<string, ReturnType<typeof tryParseIp>>();

  ip(text: string): string {
    return memo(this.#ips, text, canonicalIp);
  }

  /** The parsed address, or undefined when it is not one. */
  parsed(text: string): ReturnType<typeof tryParseIp> {
    return memo(this.#parsed, text, tryParseIp);
  }

  subnet(text: string): string {
    return memo(this.#subnets, text, (t) => formatSubnet(parseSubnet(t)));
  }
}

const CANONICAL_CACHE_MAX = 200_000;

function memo<T>(cache: Map<string, T>, key: string, make: (k: string) => T): T {
  if (cache.has(key)) return cache.get(key)!;
  if (cache.size >= CANONICAL_CACHE_MAX) cache.clear();
  const v = make(key);
  cache.set(key, v);
  return v;
}

type ParsedRoute = { r: Route; dst: ReturnType<typeof parseSubnet> };

/** The unicast routes, each destination parsed once. */
function parsedUnicast(routes: readonly Route[]): ParsedRoute[] {
  // Every dst comes in CIDR form; a route matches on its prefix alone, whatever follows it.
  return routes
    .filter((r) => r.type === RTN_UNICAST)
    .map((r) => ({ r, dst: parseSubnet(r.dst, { allowHostBits: true }) }));
}

/** Longest prefix, then lowest metric, among the routes containing `target`. */
function bestOf(routes: readonly ParsedRoute[], target: ReturnType<typeof parseIp>): Route | undefined {
  let best: ParsedRoute | undefined;
  for (const p of routes) {
    if (p.r.family !== target.family || !subnetContains(p.dst, target)) continue;
    if (
      !best ||
      p.dst.prefix > best.dst.prefix ||
      (p.dst.prefix === best.dst.prefix && (p.r.metric ?? 0) < (best.r.metric ?? 0))
    ) {
      best = p;
    }
  }
  return best?.r;
}
