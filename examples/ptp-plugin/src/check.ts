import type { CheckContext } from '@minicni/spec';
import { Netlink, type Route } from '@minicni/netlink';
import { canonicalIp } from '@minicni/ipam';
import * as kit from '@minicni/kit';
import { hostCidr } from './add.js';
import { parsePtpConfig } from './config.js';
import { hostVeth } from './host-veth.js';

/**
 * CHECK: the pod interface with its addresses and routes, the host end with the gateway address
 * and a host route per pod address, and the IPAM reservation must all still match prevResult.
 */
export async function check(ctx: CheckContext, node: kit.NodeEnv): Promise<void> {
  const cfg = parsePtpConfig(ctx.config);
  const { prev, ips } = kit.prevAttachment(ctx);
  {
    using pod = Netlink.open({ netns: ctx.netns });
    const link = await kit.checkPodLink(pod, ctx, { mtu: cfg.mtu, addresses: ips.map((i) => i.address) });
    await kit.checkPodRoutes(pod, prev.routes ?? [], link.index);

    // The host end: the gateway address and a host route per pod address.
    using host = node.openHost();
    const hostLink = await kit.findHostVeth(host, hostVeth, ctx);
    const hostAddrs = new Set(
      (await host.addresses.list({ dev: hostLink.index })).map((a) => kit.canonicalCidr(a.cidr)),
    );
    const hostRoutes = await host.routes.list({ dev: hostLink.index });
    for (const i of ips) {
      if (i.gateway && !hostAddrs.has(hostCidr(canonicalIp(i.gateway))))
        throw kit.checkFailed(`host veth ${hostLink.name} lacks the gateway address ${i.gateway}`);
      const dst = hostCidr(canonicalIp(i.address.split('/')[0] ?? ''));
      if (!hostRoutes.some((r: Route) => kit.canonicalCidr(r.dst) === dst))
        throw kit.checkFailed(`the node has no route to ${dst} via ${hostLink.name}`);
    }
  }
  await using ipam = await kit.openPodIpam(cfg.ipam, ctx);
  await ipam.check(ips.map((i) => i.address));
}
