/** One route the agent owns (tagged with ROUTE_PROTOCOL in the kernel). */
export interface RouteEntry {
  dst: string;
  via: string;
  dev: string;
  onlink: boolean;
}

export interface NeighbourEntry {
  ip: string;
  mac: string;
}

export interface FdbEntry {
  mac: string;
  /** Underlay address of the peer node. */
  dst: string;
}

export interface VxlanDevice {
  name: string;
  vni: number;
  port: number;
  local: string;
  mac: string;
  mtu: number;
  /** Addresses with prefix, e.g. 10.244.1.0/32. */
  addresses: string[];
}

/** How the underlay reaches a peer node's address. */
export interface UnderlayRoute {
  dev: string;
  gateway?: string;
}

/** What the kernel of this node holds that the agent manages. */
export interface ActualState {
  /** Routes tagged with our protocol, wherever they point. */
  routes: RouteEntry[];
  vxlan?: VxlanDevice & { up: boolean };
  /** Permanent neighbours on the vxlan device. */
  neighbours: NeighbourEntry[];
  /** FDB entries on the vxlan device. */
  fdb: FdbEntry[];
}

export type DataplaneOp =
  | { op: 'createVxlan'; device: VxlanDevice }
  | { op: 'deleteVxlan'; name: string }
  | { op: 'setUp'; name: string }
  | { op: 'addAddress'; dev: string; address: string }
  | { op: 'delAddress'; dev: string; address: string }
  | { op: 'replaceFdb'; dev: string; entry: FdbEntry }
  | { op: 'delFdb'; dev: string; entry: FdbEntry }
  | { op: 'replaceNeighbour'; dev: string; entry: NeighbourEntry }
  | { op: 'delNeighbour'; dev: string; entry: NeighbourEntry }
  | { op: 'replaceRoute'; route: RouteEntry }
  | { op: 'delRoute'; route: RouteEntry };

/**
 * The kernel, as the reconciler sees it: read the managed state, apply one change, and answer
 * the two questions the desired state depends on. Implementations: netlink, iproute2, and a
 * fake for unit tests.
 */
export interface Dataplane {
  read(vxlanDevice: string): Promise<ActualState>;
  apply(op: DataplaneOp): Promise<void>;
  /**
   * For each address, the device the kernel's underlay routes send it through, and the gateway
   * if any (undefined: no route). The agent's own routes are not the underlay and are left out.
   * One call per reconcile pass for every peer at once: at thousands of nodes a lookup per
   * address (each reading the route table) cost a core.
   */
  routesTo(ips: readonly string[]): Promise<Map<string, UnderlayRoute | undefined>>;
  /** MTU of the link holding this local address (to size the vxlan device under it). */
  addressMtu(ip: string): Promise<number | undefined>;
}

/** Routes the agent installs carry this rtnetlink protocol number, so it finds its own. */
export const ROUTE_PROTOCOL = 77;
