import type { ActualState, DataplaneOp, FdbEntry, NeighbourEntry, RouteEntry } from './dataplane.js';
import type { DesiredState } from './desired-state.js';

/**
 * The changes that turn `actual` into `desired`, in a safe order: the device and its
 * addresses first, then FDB, neighbours and routes (a route through the VTEP is only useful
 * once its neighbour and FDB entries exist), then removals in the reverse order. Nothing
 * the agent does not own is ever touched: actual routes are only those with our protocol.
 */
export function planChanges(desired: DesiredState, actual: ActualState): DataplaneOp[] {
  const ops: DataplaneOp[] = [];
  const removals: DataplaneOp[] = [];
  const want = desired.vxlan;
  let have = actual.vxlan;
  let fdbHave: FdbEntry[] = actual.fdb;
  let neighHave: NeighbourEntry[] = actual.neighbours;
  let routesHave: RouteEntry[] = actual.routes;

  if (want) {
    const recreate =
      have &&
      (have.vni !== want.vni ||
        have.port !== want.port ||
        have.local !== want.local ||
        have.mac !== want.mac ||
        have.mtu !== want.mtu);
    if (have && recreate) {
      ops.push({ op: 'deleteVxlan', name: have.name });
      have = undefined;
    }
    if (!have) {
      // A fresh device holds nothing: everything on it must be added again.
      ops.push({ op: 'createVxlan', device: want });
      fdbHave = [];
      neighHave = [];
      routesHave = routesHave.filter((r) => r.dev !== want.name);
    }
    if (!have?.up) ops.push({ op: 'setUp', name: want.name });
    const addrHave = new Set(have?.addresses ?? []);
    for (const a of want.addresses)
      if (!addrHave.has(a)) ops.push({ op: 'addAddress', dev: want.name, address: a });
    for (const a of addrHave)
      if (!want.addresses.includes(a)) removals.push({ op: 'delAddress', dev: want.name, address: a });
  }

  const dev = want?.name ?? have?.name ?? '';
  diff(
    desired.fdb,
    fdbHave,
    (e) => e.mac,
    (a, b) => a.dst === b.dst,
  ).forEach(([kind, entry]) =>
    (kind === 'add' ? ops : removals).push(
      kind === 'add' ? { op: 'replaceFdb', dev, entry } : { op: 'delFdb', dev, entry },
    ),
  );
  diff(
    desired.neighbours,
    neighHave,
    (e) => e.ip,
    (a, b) => a.mac === b.mac,
  ).forEach(([kind, entry]) =>
    (kind === 'add' ? ops : removals).push(
      kind === 'add' ? { op: 'replaceNeighbour', dev, entry } : { op: 'delNeighbour', dev, entry },
    ),
  );
  const routeOps = diff(
    desired.routes,
    routesHave,
    (r) => r.dst,
    (a, b) => a.via === b.via && a.dev === b.dev && a.onlink === b.onlink,
  );
  const haveByDst = new Map(routesHave.map((r) => [r.dst, r]));
  for (const [kind, route] of routeOps) {
    if (kind !== 'add') continue;
    // An IPv6 onlink route is refused (EINVAL, "Nexthop has invalid gateway or device
    // mismatch") while the main table routes its gateway through another device, and the
    // route it replaces does exactly that when a peer's path moves between host-gw and the
    // overlay (the VTEP address lies in the peer's pod CIDR). Such a route goes first.
    const old = haveByDst.get(route.dst);
    if (old && old.dev !== route.dev && route.onlink && route.dst.includes(':'))
      ops.push({ op: 'delRoute', route: old });
    ops.push({ op: 'replaceRoute', route });
  }
  // Routes go first among removals, so no route is left pointing at a vanished neighbour.
  const routeRemovals: DataplaneOp[] = routeOps
    .filter(([kind]) => kind === 'remove')
    .map(([, route]) => ({ op: 'delRoute', route }));
  const all = [...ops, ...routeRemovals, ...removals.reverse()];
  if (!want && have) {
    // Removing the device removes its neighbours and FDB entries and the routes through it.
    return [
      ...all.filter(
        (o) => !('dev' in o && o.dev === have.name) && !(o.op === 'delRoute' && o.route.dev === have.name),
      ),
      { op: 'deleteVxlan', name: have.name },
    ];
  }
  return all;
}

/** Pairs desired and actual entries by key: 'add' = missing or different, 'remove' = unwanted. */
function diff<T>(
  want: readonly T[],
  have: readonly T[],
  key: (x: T) => string,
  same: (a: T, b: T) => boolean,
): ['add' | 'remove', T][] {
  const haveBy = new Map(have.map((h) => [key(h), h]));
  const wantKeys = new Set(want.map(key));
  const out: ['add' | 'remove', T][] = [];
  for (const w of want) {
    const h = haveBy.get(key(w));
    if (!h || !same(w, h)) out.push(['add', w]);
  }
  for (const h of have) if (!wantKeys.has(key(h))) out.push(['remove', h]);
  return out;
}
