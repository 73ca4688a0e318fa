import { formatSubnet, subnetsOverlap, tryParseIp } from '@minicni/ipam';
import { networkAddress, parsePodCidr } from './addresses.js';
import type { FdbEntry, NeighbourEntry, RouteEntry, VxlanDevice } from './dataplane.js';
import type { NodeInfo } from './node-info.js';
import { vtepIp, vtepMac } from './vtep.js';

export type Mode = 'host-gw' | 'vxlan' | 'auto';
export const MODES: readonly Mode[] = ['host-gw', 'vxlan', 'auto'];

export interface VxlanSettings {
  name: string;
  vni: number;
  port: number;
}

export const DEFAULT_VXLAN: VxlanSettings = { name: 'minicni.1', vni: 1, port: 8472 };

/** VXLAN over IPv4 adds 50 bytes of headers (outer IP 20, UDP 8, VXLAN 8, inner Ethernet 14). */
export const VXLAN_OVERHEAD = { 4: 50, 6: 70 } as const;

export type PathKind = 'host-gw' | 'vxlan' | 'unreachable';

export interface PeerPath {
  node: string;
  podCIDR: string;
  kind: PathKind;
  /** Why a path is unreachable or was not host-gw. */
  reason?: string;
}

export interface DesiredState {
  vxlan?: VxlanDevice;
  routes: RouteEntry[];
  neighbours: NeighbourEntry[];
  fdb: FdbEntry[];
  paths: PeerPath[];
}

export interface DesiredInput {
  self: NodeInfo;
  nodes: ReadonlyMap<string, NodeInfo>;
  mode: Mode;
  vxlan: VxlanSettings;
  /** The kernel's route to each peer node IP (from Dataplane.routesTo), keyed by IP. */
  underlay: ReadonlyMap<string, { dev: string; gateway?: string } | undefined>;
  /** MTU of the link carrying this node's underlay IP, if known. */
  underlayMtu?: number;
}

const familyOf = (ip: string) => tryParseIp(ip)?.family;

/** This node's address on the underlay: its first InternalIP, IPv4 preferred. */
export function underlayIp(node: NodeInfo): string | undefined {
  return node.internalIPs.find((ip) => familyOf(ip) === 4) ?? node.internalIPs[0];
}

/**
 * What the kernel should hold, for every other node and each of its pod CIDRs: a direct
 * route via the peer's node IP when the kernel reaches that IP without a gateway (same L2,
 * the test flannel's DirectRouting uses) and the mode allows it; otherwise, unless the mode
 * is host-gw, an onlink route through the peer's VTEP with its neighbour and FDB entries.
 * Pure: every OS fact comes in through `input`.
 */
export function desiredState(input: DesiredInput): DesiredState {
  const { self, mode } = input;
  const selfCidrs = self.podCIDRs.map(parsePodCidr);
  const local = underlayIp(self);
  const routes: RouteEntry[] = [];
  const neighbours: NeighbourEntry[] = [];
  const fdb: FdbEntry[] = [];
  const paths: PeerPath[] = [];
  const vxlanDev = input.vxlan.name;
  const localFamily = local ? familyOf(local) : undefined;

  const peers = [...input.nodes.values()]
    .filter((n) => n.name !== self.name)
    .sort((a, b) => a.name.localeCompare(b.name));
  for (const peer of peers) {
    const remote = localFamily ? peer.internalIPs.find((ip) => familyOf(ip) === localFamily) : undefined;
    let peerNeedsVxlan = false;
    for (const podCIDR of peer.podCIDRs) {
      const cidr = parsePodCidr(podCIDR);
      const path = (kind: PathKind, reason?: string) =>
        paths.push({ node: peer.name, podCIDR, kind, ...(reason ? { reason } : {}) });
      if (selfCidrs.some((own) => subnetsOverlap(own, cidr))) {
        path('unreachable', `overlaps this node's pod CIDR`);
        continue;
      }
      const nextHop = peer.internalIPs.find((ip) => familyOf(ip) === cidr.family);
      const via = nextHop ? input.underlay.get(nextHop) : undefined;
      const direct = via !== undefined && via.gateway === undefined;
      if (mode !== 'vxlan' && direct) {
        routes.push({ dst: formatSubnet(cidr), via: nextHop!, dev: via.dev, onlink: false });
        path('host-gw');
        continue;
      }
      const why = !nextHop
        ? `no InternalIP of IPv${cidr.family}`
        : !via
          ? `no route to ${nextHop}`
          : via.gateway
            ? `${nextHop} is behind gateway ${via.gateway}`
            : undefined;
      if (mode === 'host-gw') {
        path('unreachable', `host-gw needs one L2 segment: ${why ?? 'not direct'}`);
        continue;
      }
      if (!local || !remote) {
        path('unreachable', `vxlan needs an underlay IP of one family on both nodes`);
        continue;
      }
      const hop = vtepIp(podCIDR);
      neighbours.push({ ip: hop, mac: vtepMac(remote) });
      routes.push({ dst: formatSubnet(cidr), via: hop, dev: vxlanDev, onlink: true });
      peerNeedsVxlan = true;
      path('vxlan', mode === 'auto' ? why : undefined);
    }
    if (peerNeedsVxlan) fdb.push({ mac: vtepMac(remote!), dst: remote! });
  }

  const wantVxlan = local !== undefined && (mode === 'vxlan' || (mode === 'auto' && fdb.length > 0));
  const state: DesiredState = { routes, neighbours, fdb, paths };
  if (wantVxlan) {
    const overhead = VXLAN_OVERHEAD[localFamily ?? 4];
    state.vxlan = {
      name: vxlanDev,
      vni: input.vxlan.vni,
      port: input.vxlan.port,
      local,
      mac: vtepMac(local),
      mtu: (input.underlayMtu ?? 1500) - overhead,
      addresses: selfCidrs.map((c) => `${networkAddress(c)}/${c.family === 4 ? 32 : 128}`),
    };
  }
  return state;
}
