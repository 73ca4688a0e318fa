import type { Netlink, Route } from '@minicni/netlink';
import { canonicalIp, formatSubnet, parseIp, parseSubnet, subnetContains, tryParseIp } from '@minicni/ipam';
import type { ActualState, Dataplane, DataplaneOp } from './dataplane.js';
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
    const family = tryParseIp(ip)?.family;
    if (!family) return undefined;
    const routes = await this.#nl.routes.list({ family, table: RT_TABLE_MAIN });
    const best = longestMatch(routes, ip);
    if (!best || best.index === undefined) return undefined;
    const dev = (await this.#nl.links.get(best.index)).name;
    return best.gateway ? { dev, gateway: canonicalIp(best.gateway) } : { dev };
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
