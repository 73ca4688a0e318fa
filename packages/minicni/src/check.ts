import type { CheckContext } from '@minicni/spec';
import { Netlink } from '@minicni/netlink';
import {
  checkFailed as mismatch,
  checkPodLink,
  checkPodRoutes,
  findHostVeth,
  openPodIpam,
  prevAttachment,
} from '@minicni/kit';
import { parseBridgeConfig } from './config.js';
import type { NodeEnv } from './node-env.js';
import { HOST_VETH } from './host-veth.js';

/**
 * CHECK: the pod interface, its addresses and routes, the host veth on the bridge, and the IPAM
 * reservation must all still be what prevResult says.
 */
export async function check(ctx: CheckContext, node: NodeEnv): Promise<void> {
  const cfg = parseBridgeConfig(ctx.config);
  const { prev, podIf, ips } = prevAttachment(ctx);
  {
    using pod = Netlink.open({ netns: ctx.netns });
    await checkPodLink(pod, ctx, { mtu: cfg.mtu, mac: podIf.mac, addresses: ips.map((i) => i.address) });
    await checkPodRoutes(pod, prev.routes ?? []);

    using host = node.openHost();
    const bridge = await host.links.find(cfg.bridge);
    if (!bridge || bridge.kind !== 'bridge') throw mismatch(`bridge ${cfg.bridge} is missing`);
    const hostLink = await findHostVeth(host, HOST_VETH, ctx);
    if (hostLink.master !== bridge.index)
      throw mismatch(`host veth ${hostLink.name} is not attached to ${cfg.bridge}`);
    if (Boolean(hostLink.hairpin) !== cfg.hairpinMode)
      throw mismatch(
        `hairpin on ${hostLink.name} is ${hostLink.hairpin ? 'on' : 'off'}, the config says ${cfg.hairpinMode ? 'on' : 'off'}`,
      );
  }
  await using ipam = await openPodIpam(cfg.ipam, ctx);
  await ipam.check(ips.map((i) => i.address));
}
