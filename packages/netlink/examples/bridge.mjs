// One task: a bridge with a gateway address, brought up, inside a throwaway netns.
// Run as root after `pnpm --filter @minicni/netlink build`: node examples/bridge.mjs
import process from 'node:process';
import { Netlink, createNetns, deleteNetns } from '@minicni/netlink';

const netns = createNetns(`mcnibr${process.pid}`);
const nl = Netlink.open({ netns });
try {
  const bridge = await nl.links.ensureBridge({ name: 'cni0', mtu: 1450 });
  await nl.addresses.ensure('cni0', '10.244.0.1/24');
  const addrs = await nl.addresses.list({ dev: 'cni0', family: 4 });
  process.stdout.write(
    `${bridge.name} (index ${bridge.index}, ${bridge.mac}, mtu ${bridge.mtu}, up ${bridge.up}): ` +
      `${addrs.map((a) => a.cidr).join(', ')}\n`,
  );
} finally {
  nl.close();
  deleteNetns(netns);
}
