import { describe, expect, it } from 'vitest';
import type { ActualState, Dataplane, DataplaneOp } from './dataplane.js';
import { DEFAULT_VXLAN, type Mode } from './desired-state.js';
import type { NodeInfo } from './node-info.js';
import { planChanges } from './plan.js';
import { Reconciler } from './reconciler.js';

/** An in-memory kernel: applies ops the way the real one would, and lets a test cause drift. */
class FakeKernel implements Dataplane {
  state: ActualState = { routes: [], neighbours: [], fdb: [] };
  applied: DataplaneOp[] = [];
  underlay = new Map<string, { dev: string; gateway?: string }>();
  failNext = 0;

  async read(): Promise<ActualState> {
    return structuredClone(this.state);
  }

  async apply(op: DataplaneOp): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('EBUSY');
    }
    this.applied.push(op);
    const s = this.state;
    switch (op.op) {
      case 'createVxlan':
        if (s.vxlan) throw new Error('EEXIST');
        s.vxlan = { ...op.device, addresses: [], up: false };
        return;
      case 'deleteVxlan':
        s.vxlan = undefined;
        s.neighbours = [];
        s.fdb = [];
        s.routes = s.routes.filter((r) => r.dev !== op.name);
        return;
      case 'setUp':
        s.vxlan!.up = true;
        return;
      case 'addAddress':
        s.vxlan!.addresses.push(op.address);
        return;
      case 'delAddress':
        s.vxlan!.addresses = s.vxlan!.addresses.filter((a) => a !== op.address);
        return;
      case 'replaceFdb':
        s.fdb = [...s.fdb.filter((f) => f.mac !== op.entry.mac), op.entry];
        return;
      case 'delFdb':
        s.fdb = s.fdb.filter((f) => f.mac !== op.entry.mac);
        return;
      case 'replaceNeighbour':
        s.neighbours = [...s.neighbours.filter((x) => x.ip !== op.entry.ip), op.entry];
        return;
      case 'delNeighbour':
        s.neighbours = s.neighbours.filter((x) => x.ip !== op.entry.ip);
        return;
      case 'replaceRoute':
        s.routes = [...s.routes.filter((r) => r.dst !== op.route.dst), op.route];
        return;
      case 'delRoute':
        s.routes = s.routes.filter((r) => r.dst !== op.route.dst);
        return;
    }
  }

  async routesTo(ips: readonly string[]) {
    return new Map(ips.map((ip) => [ip, this.underlay.get(ip)]));
  }

  async addressMtu() {
    return 1500;
  }
}

const node = (name: string, ip: string, cidr: string): NodeInfo => ({
  name,
  internalIPs: [ip],
  podCIDRs: [cidr],
});
const a = node('a', '192.168.50.1', '10.244.1.0/24');
const b = node('b', '192.168.50.2', '10.244.2.0/24');
const c = node('c', '192.168.60.3', '10.244.3.0/24');
const map = (...ns: NodeInfo[]) => new Map(ns.map((x) => [x.name, x]));

function setup(mode: Mode) {
  const kernel = new FakeKernel();
  kernel.underlay.set('192.168.50.2', { dev: 'eth0' });
  kernel.underlay.set('192.168.60.3', { dev: 'eth0', gateway: '192.168.50.254' });
  const synced: number[] = [];
  const r = new Reconciler({
    nodeName: 'a',
    mode,
    vxlan: DEFAULT_VXLAN,
    dataplane: kernel,
    onSynced: (s) => synced.push(s.routes),
  });
  return { kernel, r, synced };
}

describe('Reconciler with an in-memory kernel', () => {
  it('converges, is idempotent, removes departed nodes, and repairs drift on the next pass', async () => {
    const { kernel, r, synced } = setup('auto');
    r.setNodes(map(a, b, c));
    await r.trigger();
    expect(kernel.state.routes.map((x) => x.dst).sort()).toEqual(['10.244.2.0/24', '10.244.3.0/24']);
    expect(kernel.state.vxlan).toMatchObject({ name: 'minicni.1', up: true, addresses: ['10.244.1.0/32'] });
    expect(synced.at(-1)).toBe(2);
    expect(r.status).toMatchObject({ selfKnown: true, peers: 2, routes: 2, vxlan: true });

    const before = kernel.applied.length;
    await r.trigger();
    expect(kernel.applied.length).toBe(before);

    // A route deleted by hand.
    kernel.state.routes = kernel.state.routes.filter((x) => x.dst !== '10.244.2.0/24');
    await r.trigger();
    expect(kernel.applied.slice(before)).toEqual([
      {
        op: 'replaceRoute',
        route: { dst: '10.244.2.0/24', via: '192.168.50.2', dev: 'eth0', onlink: false },
      },
    ]);

    // Node c leaves: its route, neighbour and FDB entry go; the device is no longer needed in auto.
    r.setNodes(map(a, b));
    await r.trigger();
    expect(kernel.state.routes.map((x) => x.dst)).toEqual(['10.244.2.0/24']);
    expect(kernel.state.vxlan).toBeUndefined();
  });

  it('switching vxlan -> host-gw removes the device and moves the same-L2 route', async () => {
    const v = setup('vxlan');
    v.r.setNodes(map(a, b));
    await v.r.trigger();
    expect(v.kernel.state.routes).toEqual([
      { dst: '10.244.2.0/24', via: '10.244.2.0', dev: 'minicni.1', onlink: true },
    ]);
    const h = new Reconciler({ nodeName: 'a', mode: 'host-gw', vxlan: DEFAULT_VXLAN, dataplane: v.kernel });
    h.setNodes(map(a, b, c));
    await h.trigger();
    expect(v.kernel.state.vxlan).toBeUndefined();
    expect(v.kernel.state.routes).toEqual([
      { dst: '10.244.2.0/24', via: '192.168.50.2', dev: 'eth0', onlink: false },
    ]);
    expect(h.status.paths.find((p) => p.node === 'c')?.kind).toBe('unreachable');
  });

  it('counts failed changes, does not report synced, and retries them on the next pass', async () => {
    const { kernel, r, synced } = setup('host-gw');
    kernel.failNext = 1;
    r.setNodes(map(a, b));
    await r.idle();
    expect(r.status.opErrors).toBe(1);
    expect(synced).toEqual([]);
    await r.trigger();
    expect(kernel.state.routes).toHaveLength(1);
    expect(synced).toEqual([1]);
  });

  it('does nothing while this node is unknown', async () => {
    const { kernel, r } = setup('auto');
    r.setNodes(map(b, c));
    await r.trigger();
    expect(kernel.applied).toEqual([]);
    expect(r.status.selfKnown).toBe(false);
  });

  it('coalesces a burst of node updates into at most one extra pass', async () => {
    const { kernel, r } = setup('host-gw');
    r.setNodes(map(a));
    r.setNodes(map(a, b));
    r.setNodes(map(a, b, node('d', '192.168.50.4', '10.244.4.0/24')));
    kernel.underlay.set('192.168.50.4', { dev: 'eth0' });
    await r.trigger();
    expect(r.status.passes).toBeLessThanOrEqual(3);
    expect(kernel.state.routes.map((x) => x.dst).sort()).toEqual(['10.244.2.0/24', '10.244.4.0/24']);
  });
});

describe('planChanges', () => {
  it('recreates a vxlan device whose VNI changed and re-adds what it held', () => {
    const actual: ActualState = {
      routes: [{ dst: '10.244.3.0/24', via: '10.244.3.0', dev: 'minicni.1', onlink: true }],
      vxlan: {
        name: 'minicni.1',
        vni: 9,
        port: 8472,
        local: '192.168.50.1',
        mac: '0e:6d:c0:a8:32:01',
        mtu: 1450,
        addresses: ['10.244.1.0/32'],
        up: true,
      },
      neighbours: [{ ip: '10.244.3.0', mac: '0e:6d:c0:a8:3c:03' }],
      fdb: [{ mac: '0e:6d:c0:a8:3c:03', dst: '192.168.60.3' }],
    };
    const desired = {
      vxlan: { ...actual.vxlan!, vni: 1 },
      routes: actual.routes,
      neighbours: actual.neighbours,
      fdb: actual.fdb,
      paths: [],
    };
    expect(planChanges(desired, actual).map((o) => o.op)).toEqual([
      'deleteVxlan',
      'createVxlan',
      'setUp',
      'addAddress',
      'replaceFdb',
      'replaceNeighbour',
      'replaceRoute',
    ]);
  });

  it('moves an IPv6 route from host-gw to the overlay by deleting it first (the kernel refuses the replace)', () => {
    const vxlan = {
      name: 'minicni.1',
      vni: 1,
      port: 8472,
      local: '192.168.50.1',
      mac: '0e:6d:c0:a8:32:01',
      mtu: 1450,
      addresses: ['10.244.1.0/32', 'fd00:244:1::/128'],
      up: true,
    };
    const hostGw = [
      { dst: '10.244.2.0/24', via: '192.168.50.2', dev: 'eth0', onlink: false },
      { dst: 'fd00:244:2::/64', via: 'fd00:50::2', dev: 'eth0', onlink: false },
    ];
    const overlay = [
      { dst: '10.244.2.0/24', via: '10.244.2.0', dev: 'minicni.1', onlink: true },
      { dst: 'fd00:244:2::/64', via: 'fd00:244:2::', dev: 'minicni.1', onlink: true },
    ];
    const neighbours = [
      { ip: '10.244.2.0', mac: '0e:6d:c0:a8:32:02' },
      { ip: 'fd00:244:2::', mac: '0e:6d:c0:a8:32:02' },
    ];
    const fdb = [{ mac: '0e:6d:c0:a8:32:02', dst: '192.168.50.2' }];
    const ops = planChanges(
      { vxlan, routes: overlay, neighbours, fdb, paths: [] },
      { routes: hostGw, vxlan, neighbours, fdb },
    );
    expect(ops).toEqual([
      { op: 'replaceRoute', route: overlay[0] },
      { op: 'delRoute', route: hostGw[1] },
      { op: 'replaceRoute', route: overlay[1] },
    ]);
    // Back to host-gw: a plain replace for both (no onlink gateway to check).
    const back = planChanges(
      { vxlan, routes: hostGw, neighbours, fdb, paths: [] },
      { routes: overlay, vxlan, neighbours, fdb },
    );
    expect(back.filter((o) => o.op === 'replaceRoute' || o.op === 'delRoute')).toEqual([
      { op: 'replaceRoute', route: hostGw[0] },
      { op: 'replaceRoute', route: hostGw[1] },
    ]);
  });
});
