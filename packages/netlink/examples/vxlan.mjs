// One task: a VXLAN overlay endpoint as a cross-node agent programs it: the vxlan device, the
// flood entry and one peer's FDB + neighbour entries, inside a throwaway netns.
// Run as root after `pnpm --filter @minicni/netlink build`: node examples/vxlan.mjs
import process from 'node:process';
import { Netlink, createNetns, deleteNetns } from '@minicni/netlink';

const netns = createNetns(`mcnivx${process.pid}`);
const nl = Netlink.open({ netns });
try {
  // The underlay: this "node" has 10.244.250.1 on a bridge standing in for its NIC.
  await nl.links.ensureBridge({ name: 'underlay0' });
  await nl.addresses.ensure('underlay0', '10.244.250.1/24');

  await nl.links.addVxlan({
    name: 'vxlan0',
    vni: 1,
    local: '10.244.250.1',
    dev: 'underlay0',
    port: 4789,
    learning: false,
  });
  await nl.links.setUp('vxlan0');
  await nl.addresses.add('vxlan0', '10.244.0.0/32');

  // A peer node 10.244.250.2 whose pods are 10.244.1.0/24 and whose VTEP MAC is known.
  const peerVtepMac = '02:0a:f4:fa:00:02';
  await nl.fdb.append({ dev: 'vxlan0', mac: '00:00:00:00:00:00', dst: '10.244.250.2' });
  await nl.fdb.replace({ dev: 'vxlan0', mac: peerVtepMac, dst: '10.244.250.2' });
  await nl.neighbours.replace({ dev: 'vxlan0', dst: '10.244.1.0', lladdr: peerVtepMac });
  await nl.routes.replace({ dst: '10.244.1.0/24', gateway: '10.244.1.0', dev: 'vxlan0', onlink: true });

  const vx = await nl.links.get('vxlan0');
  process.stdout.write(`vxlan0: vni ${vx.vxlan?.vni}, local ${vx.vxlan?.local}, port ${vx.vxlan?.port}\n`);
  for (const e of await nl.fdb.list({ dev: 'vxlan0' }))
    process.stdout.write(`fdb: ${e.lladdr} dst ${e.dst ?? '-'}\n`);
  for (const r of await nl.routes.list({ dev: 'vxlan0', family: 4 })) {
    process.stdout.write(`route: ${r.dst} via ${r.gateway ?? '-'}${r.onlink ? ' onlink' : ''}\n`);
  }
} finally {
  nl.close();
  deleteNetns(netns);
}
