// One task: a pod's veth, the peer created straight inside the pod netns, with addresses and a
// default route, its host end on a bridge; then torn down. Both netns are throwaway.
// Run as root after `pnpm --filter @minicni/netlink build`: node examples/veth-into-netns.mjs
import process from 'node:process';
import { Netlink, createNetns, deleteNetns, setupPodVeth, teardownPodVeth } from '@minicni/netlink';

const node = createNetns(`mcninode${process.pid}`);
const pod = createNetns(`mcnipod${process.pid}`);
const host = Netlink.open({ netns: node });
try {
  const bridge = await host.links.ensureBridge({ name: 'cni0' });
  await host.addresses.ensure('cni0', '10.244.0.1/24');

  const veth = await setupPodVeth({
    host,
    podNetns: pod,
    ifname: 'eth0',
    addresses: ['10.244.0.5/24'],
    routes: [{ dst: 'default', gateway: '10.244.0.1' }],
    master: bridge.index,
  });
  process.stdout.write(
    `host end ${veth.host.name} (${veth.host.mac}), pod end ${veth.pod.name} (${veth.pod.mac})\n`,
  );

  const inPod = Netlink.open({ netns: pod });
  for (const r of await inPod.routes.list({ family: 4 })) {
    process.stdout.write(`pod route: ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}\n`);
  }
  inPod.close();
  await teardownPodVeth({ podNetns: pod, ifname: 'eth0' });
} finally {
  host.close();
  deleteNetns(pod);
  deleteNetns(node);
}
