import { describe, expect, it } from 'vitest';
import { nodeNetns, run, type TestNetns } from '@minicni/testkit';
import { Netlink } from '@minicni/netlink';
import type { Dataplane } from '../src/dataplane.js';
import { DEFAULT_VXLAN } from '../src/desired-state.js';
import { Iproute2Dataplane } from '../src/iproute2-dataplane.js';
import { NetlinkDataplane } from '../src/netlink-dataplane.js';
import type { NodeInfo } from '../src/node-info.js';
import { Reconciler } from '../src/reconciler.js';
import { vtepMac } from '../src/vtep.js';

const a: NodeInfo = { name: 'a', internalIPs: ['192.168.77.1'], podCIDRs: ['10.244.1.0/24'] };
const b: NodeInfo = { name: 'b', internalIPs: ['192.168.77.2'], podCIDRs: ['10.244.2.0/24'] };
const c: NodeInfo = { name: 'c', internalIPs: ['192.168.88.3'], podCIDRs: ['10.244.3.0/24'] };
const nodes = (...ns: NodeInfo[]) => new Map(ns.map((n) => [n.name, n]));

/** A node netns with an underlay: 192.168.77.1/24 on a veth, 192.168.88.0/24 via a router at .254. */
async function underlayNode(): Promise<TestNetns> {
  const ns = await nodeNetns();
  await ns.run('ip', ['link', 'add', 'eth0', 'mtu', '1400', 'type', 'veth', 'peer', 'name', 'eth0p']);
  await ns.run('ip', ['addr', 'add', '192.168.77.1/24', 'dev', 'eth0']);
  await ns.run('ip', ['link', 'set', 'eth0', 'up']);
  await ns.run('ip', ['link', 'set', 'eth0p', 'up']);
  await ns.run('ip', ['route', 'add', '192.168.88.0/24', 'via', '192.168.77.254']);
  return ns;
}

const backends: [string, (ns: TestNetns) => { dp: Dataplane; close: () => void }][] = [
  [
    'iproute2',
    (ns) => ({
      dp: new Iproute2Dataplane((file, args) => run('nsenter', [`--net=${ns.path}`, '--', file, ...args])),
      close: () => {},
    }),
  ],
  [
    'netlink',
    (ns) => {
      const nl = Netlink.open({ netns: ns.path });
      return { dp: new NetlinkDataplane(nl), close: () => nl.close() };
    },
  ],
];

describe.each(backends)('%s dataplane in a node netns', (_name, make) => {
  it('programs host-gw and vxlan paths in auto mode, repairs drift and removes departed nodes', async () => {
    await using ns = await underlayNode();
    const { dp, close } = make(ns);
    try {
      const r = new Reconciler({ nodeName: 'a', mode: 'auto', vxlan: DEFAULT_VXLAN, dataplane: dp });
      r.setNodes(nodes(a, b, c));
      await r.idle();
      expect(r.status.opErrors).toBe(0);
      const routes = await ns.ipJson<
        { dst: string; gateway: string; dev: string; flags: string[]; protocol?: string }[]
      >('route', 'show', 'proto', '77');
      expect(
        routes
          .map((x) => `${x.dst} via ${x.gateway} dev ${x.dev}${x.flags.includes('onlink') ? ' onlink' : ''}`)
          .sort(),
      ).toEqual([
        '10.244.2.0/24 via 192.168.77.2 dev eth0',
        '10.244.3.0/24 via 10.244.3.0 dev minicni.1 onlink',
      ]);
      const [link] = await ns.ipJson<
        {
          address: string;
          mtu: number;
          flags: string[];
          linkinfo: { info_data: { id: number; port: number; local: string; learning: boolean } };
        }[]
      >('-d', 'link', 'show', 'minicni.1');
      expect(link!.address).toBe(vtepMac('192.168.77.1'));
      expect(link!.mtu).toBe(1350); // underlay 1400 - 50
      expect(link!.flags).toContain('UP');
      expect(link!.linkinfo.info_data).toMatchObject({
        id: 1,
        port: 8472,
        local: '192.168.77.1',
        learning: false,
      });
      const neigh = await ns.ipJson<{ dst: string; lladdr: string }[]>('neigh', 'show', 'dev', 'minicni.1');
      expect(neigh.map((n) => `${n.dst} ${n.lladdr}`)).toEqual([`10.244.3.0 ${vtepMac('192.168.88.3')}`]);
      const fdb = JSON.parse(await ns.run('bridge', ['-j', 'fdb', 'show', 'dev', 'minicni.1'])) as {
        mac: string;
        dst?: string;
      }[];
      expect(fdb.filter((f) => f.dst).map((f) => `${f.mac} ${f.dst}`)).toEqual([
        `${vtepMac('192.168.88.3')} 192.168.88.3`,
      ]);

      // A second pass changes nothing: read() sees exactly what was written.
      const applied = r.status.opsApplied;
      await r.trigger();
      expect(r.status.opsApplied).toBe(applied);

      // Drift: a route deleted by hand comes back on the next pass.
      await ns.run('ip', ['route', 'del', '10.244.2.0/24']);
      await r.trigger();
      expect((await ns.ipJson<{ dst: string }[]>('route', 'show', '10.244.2.0/24')).length).toBe(1);

      // Node c leaves: no peer needs vxlan in auto, so the device goes with its entries.
      r.setNodes(nodes(a, b));
      await r.idle();
      expect((await ns.ipJson<{ dst: string }[]>('route', 'show', 'proto', '77')).map((x) => x.dst)).toEqual([
        '10.244.2.0/24',
      ]);
      expect((await ns.exec('ip', ['link', 'show', 'minicni.1'])).code).not.toBe(0);
      await r.stop();
    } finally {
      close();
    }
  });

  it('reads back the same state the other backend reads', async () => {
    await using ns = await underlayNode();
    const one = backends[0]![1](ns);
    const two = backends[1]![1](ns);
    try {
      const r = new Reconciler({
        nodeName: 'a',
        mode: 'vxlan',
        vxlan: DEFAULT_VXLAN,
        dataplane: make(ns).dp,
      });
      r.setNodes(nodes(a, b, c));
      await r.idle();
      const x = await one.dp.read('minicni.1');
      const y = await two.dp.read('minicni.1');
      const sort = <T>(l: T[]) => [...l].sort((p, q) => JSON.stringify(p).localeCompare(JSON.stringify(q)));
      expect(sort(y.routes)).toEqual(sort(x.routes));
      expect(sort(y.neighbours)).toEqual(sort(x.neighbours));
      expect(sort(y.fdb)).toEqual(sort(x.fdb));
      expect(y.vxlan).toEqual(x.vxlan);
      const peers = ['192.168.88.3', '192.168.77.2', '192.0.2.1'];
      expect(await two.dp.routesTo(peers)).toEqual(await one.dp.routesTo(peers));
      expect((await two.dp.routesTo(peers)).get('192.168.77.2')).toEqual({ dev: 'eth0' });
      expect(await two.dp.addressMtu('192.168.77.1')).toBe(1400);
    } finally {
      one.close();
      two.close();
    }
  });
});

describe('dual stack (netlink dataplane)', () => {
  it('routes IPv6 pod CIDRs host-gw on the segment and through the IPv4 VTEP across the router', async () => {
    await using ns = await underlayNode();
    await ns.run('ip', ['addr', 'add', 'fd00:77::1/64', 'dev', 'eth0', 'nodad']);
    await ns.run('ip', ['-6', 'route', 'add', 'fd00:88::/64', 'via', 'fd00:77::fe']);
    const self: NodeInfo = {
      name: 'a',
      internalIPs: ['192.168.77.1', 'fd00:77::1'],
      podCIDRs: ['10.244.1.0/24', 'fd00:244:1::/64'],
    };
    const peerL2: NodeInfo = {
      name: 'b',
      internalIPs: ['192.168.77.2', 'fd00:77::2'],
      podCIDRs: ['10.244.2.0/24', 'fd00:244:2::/64'],
    };
    const peerRouted: NodeInfo = {
      name: 'c',
      internalIPs: ['192.168.88.3', 'fd00:88::3'],
      podCIDRs: ['10.244.3.0/24', 'fd00:244:3::/64'],
    };
    const nl = Netlink.open({ netns: ns.path });
    try {
      const r = new Reconciler({
        nodeName: 'a',
        mode: 'auto',
        vxlan: DEFAULT_VXLAN,
        dataplane: new NetlinkDataplane(nl),
      });
      r.setNodes(nodes(self, peerL2, peerRouted));
      await r.idle();
      expect(r.status.opErrors).toBe(0);
      const v6 = await ns.ipJson<{ dst: string; gateway: string; dev: string }[]>(
        '-6',
        'route',
        'show',
        'proto',
        '77',
      );
      expect(v6.map((x) => `${x.dst} via ${x.gateway} dev ${x.dev}`).sort()).toEqual([
        'fd00:244:2::/64 via fd00:77::2 dev eth0',
        'fd00:244:3::/64 via fd00:244:3:: dev minicni.1',
      ]);
      const neigh = await ns.ipJson<{ dst: string; lladdr: string }[]>(
        '-6',
        'neigh',
        'show',
        'dev',
        'minicni.1',
      );
      expect(neigh.map((n) => `${n.dst} ${n.lladdr}`)).toEqual([`fd00:244:3:: ${vtepMac('192.168.88.3')}`]);
      const addrs = await ns.ipJson<{ addr_info: { local: string; prefixlen: number; scope: string }[] }[]>(
        'addr',
        'show',
        'dev',
        'minicni.1',
      );
      expect(
        addrs[0]!.addr_info
          .filter((a) => a.scope !== 'link')
          .map((a) => `${a.local}/${a.prefixlen}`)
          .sort(),
      ).toEqual(['10.244.1.0/32', 'fd00:244:1::/128']);
      // Converged: a second pass changes nothing.
      const applied = r.status.opsApplied;
      await r.trigger();
      expect(r.status.opsApplied).toBe(applied);

      // The agent restarted in vxlan mode, then in auto again: the peer on the segment moves to
      // the overlay and back. The kernel refuses to replace an IPv6 route through eth0 by an
      // onlink one through the VTEP (EINVAL), so that route is deleted first.
      const routes6 = async () =>
        (
          await ns.ipJson<{ dst: string; gateway: string; dev: string }[]>(
            '-6',
            'route',
            'show',
            'proto',
            '77',
          )
        )
          .map((x) => `${x.dst} via ${x.gateway} dev ${x.dev}`)
          .sort();
      for (const [mode, want] of [
        [
          'vxlan',
          [
            'fd00:244:2::/64 via fd00:244:2:: dev minicni.1',
            'fd00:244:3::/64 via fd00:244:3:: dev minicni.1',
          ],
        ],
        [
          'auto',
          ['fd00:244:2::/64 via fd00:77::2 dev eth0', 'fd00:244:3::/64 via fd00:244:3:: dev minicni.1'],
        ],
      ] as const) {
        const again = new Reconciler({
          nodeName: 'a',
          mode,
          vxlan: DEFAULT_VXLAN,
          dataplane: new NetlinkDataplane(nl),
        });
        again.setNodes(nodes(self, peerL2, peerRouted));
        await again.idle();
        expect(again.status.opErrors, mode).toBe(0);
        expect(await routes6(), mode).toEqual(want);
      }
    } finally {
      nl.close();
    }
  });
});
