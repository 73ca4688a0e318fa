import type { Netlink, Route } from '@minicni/netlink';
import {
  canonicalIp,
  formatSubnet,
  parseIp,
  parseSubnet,
  subnetContains,
  tryParseIp,
  type Subnet,
} from '@minicni/ipam';
import type { ActualState, Dataplane, DataplaneOp } from './dataplane.js';
import { ROUTE_PROTOCOL } from './dataplane.js';
import { AgentError } from './errors.js';

interface UnderlayRoute {
  r: Route;
  dst: Subnet;
}

const RT_TABLE_MAIN = 254;
const RTN_UNICAST = 1;
const NUD_PERMANENT = 0x80;
const AF_INET = 2;
const AF_INET6 = 10;

/** The dataplane through @minicni/netlink: one rtnetlink handle in the agent's netns, no processes. */
export class NetlinkDataplane implements Dataplane {
  readonly #nl: Netlink;
  #lookup: Promise<{ routes: UnderlayRoute[]; names: Map<number, string> }> | undefined;

  constructor(nl: Netlink) {
    this.#nl = nl;
  }

  async read(vxlanDevice: string): Promise<ActualState> {
    const nl = this.#nl;
    const links = await nl.links.list();
    const nameOf = new Map(links.map((l) => [l.index, l.name]));
    const routes = (await nl.routes.list({ table: RT_TABLE_MAIN }))
      .filter((r) => r.protocol === ROUTE_PROTOCOL && r.gateway && r.index !== undefined)
      .map((r) => ({
        dst: formatSubnet(parseSubnet(r.dst)),
        via: canonicalIp(r.gateway!),
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
      .map((n) => ({ ip: canonicalIp(n.dst!), mac: n.lladdr! }));
    const fdb = (await nl.fdb.list({ dev: link.index }))
      .filter((f) => f.dst && f.lladdr)
      .map((f) => ({ mac: f.lladdr!, dst: canonicalIp(f.dst!) }));
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
   * The main table's longest-prefix match for `ip` (what `ip route get` answers, minus policy
   * routing, which a node running this agent does not use for node-to-node traffic).
   */
  async routeTo(ip: string): Promise<{ dev: string; gateway?: string } | undefined> {
    const target = tryParseIp(ip);
    if (!target) return undefined;
    const { routes, names } = await this.#underlay();
    let best: UnderlayRoute | undefined;
    for (const u of routes) {
      if (u.dst.family !== target.family || !subnetContains(u.dst, target)) continue;
      if (
        !best ||
        u.dst.prefix > best.dst.prefix ||
        (u.dst.prefix === best.dst.prefix && (u.r.metric ?? 0) < (best.r.metric ?? 0))
      )
        best = u;
    }
    if (!best || best.r.index === undefined) return undefined;
    const dev = names.get(best.r.index) ?? (await this.#nl.links.get(best.r.index)).name;
    return best.r.gateway ? { dev, gateway: canonicalIp(best.r.gateway) } : { dev };
  }

  /**
   * The main table's unicast routes, parsed, and the link names: one dump shared by the lookups
   * made together (a reconcile pass asks for every peer at once; with 5,000 peers, a dump per
   * lookup was 5,000 dumps of 10,000 routes each, all in flight). The agent's own routes (to pod
   * CIDRs, protocol ROUTE_PROTOCOL) never carry a node address and are left out.
   */
  #underlay(): Promise<{ routes: UnderlayRoute[]; names: Map<number, string> }> {
    if (this.#lookup) return this.#lookup;
    const p = (async () => {
      const [routes, links] = await Promise.all([
        this.#nl.routes.list({ table: RT_TABLE_MAIN }),
        this.#nl.links.list(),
      ]);
      return {
        routes: routes
          .filter((r) => r.type === RTN_UNICAST && r.protocol !== ROUTE_PROTOCOL)
          .map((r) => ({ r, dst: parseSubnet(r.dst, { allowHostBits: true }) })),
        names: new Map(links.map((l) => [l.index, l.name])),
      };
    })();
    this.#lookup = p;
    // Lookups after this dump has landed dump afresh: the table may have changed since.
    const clear = () => {
      if (this.#lookup === p) this.#lookup = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  async addressMtu(ip: string): Promise<number | undefined> {
    const want = canonicalIp(ip);
    const addr = (await this.#nl.addresses.list()).find((a) => canonicalIp(a.address) === want);
    if (!addr) return undefined;
    return (await this.#nl.links.get(addr.index)).mtu;
  }
}

/** Longest prefix, then lowest metric, among unicast routes containing `ip`. */
export function longestMatch(routes: readonly Route[], ip: string): Route | undefined {
  const target = parseIp(ip);
  let best: { r: Route; prefix: number } | undefined;
  for (const r of routes) {
    if (r.type !== RTN_UNICAST || r.family !== target.family) continue;
    // Every dst comes in CIDR form; a route matches on its prefix alone, whatever follows it.
    const dst = parseSubnet(r.dst, { allowHostBits: true });
    if (!subnetContains(dst, target)) continue;
    const { prefix } = dst;
    if (!best || prefix > best.prefix || (prefix === best.prefix && (r.metric ?? 0) < (best.r.metric ?? 0))) {
      best = { r, prefix };
    }
  }
  return best?.r;
}
