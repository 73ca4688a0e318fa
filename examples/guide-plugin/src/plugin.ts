import { CniError, ErrorCode, type AddContext, type PluginHandlers } from '@minicni/spec';
import { Netlink, setupPodVeth, type PodVeth } from '@minicni/netlink';
import * as kit from '@minicni/kit';
const hostVeth = kit.hostVethNaming('gd');
const ipamOf = (ctx: { config: { ipam?: unknown } }) => kit.parseIpamChoice(ctx.config.ipam);

/** A routed veth plugin: the pod gets IPAM's IPv4 address as a /32, routed through the node. */
export function guidePlugin(opts: { nodeNetns?: string } = {}): PluginHandlers {
  const node = kit.nodeEnv(opts.nodeNetns ? { netns: opts.nodeNetns } : {});
  return kit.withCniErrors({
    add: (ctx) => add(ctx, node),
    del: (ctx) => kit.delVethAttachment(ctx, node, { hostVeth, ipam: ipamOf(ctx) }),
    check: async (ctx) => {
      const { ips } = kit.prevAttachment(ctx);
      using pod = Netlink.open({ netns: ctx.netns });
      await kit.checkPodLink(pod, ctx, { mtu: 1500, addresses: ips.map((i) => i.address) });
      await using ipam = await kit.openPodIpam(ipamOf(ctx), ctx);
      await ipam.check(ips.map((i) => i.address));
    },
    gc: async (ctx) => void (await kit.gcPodIpam(ipamOf(ctx), ctx)),
  });
}

async function add(ctx: AddContext, node: kit.NodeEnv) {
  await using ipam = await kit.openPodIpam(ipamOf(ctx), ctx);
  await kit.checkIfnameFree(ctx.netns, ctx.ifname);
  const addrs = await ipam.allocate();
  using host = node.openHost();
  let veth: PodVeth | undefined;
  try {
    const v4 = addrs.ips.find((i) => i.family === 4 && i.gateway);
    if (!v4?.gateway) throw new CniError(ErrorCode.InvalidNetworkConfig, 'no IPv4 address with a gateway');
    node.enableForwarding(4);
    veth = await setupPodVeth({
      host,
      ...hostVeth.ends(ctx),
      addresses: [`${v4.ip}/32`],
      routes: [{ dst: '0.0.0.0/0', gateway: v4.gateway, onlink: true }],
    });
    await host.addresses.ensure(veth.host.index, `${v4.gateway}/32`);
    await host.routes.add({ dst: `${v4.ip}/32`, dev: veth.host.index });
    return {
      interfaces: [{ name: veth.host.name }, { name: ctx.ifname, mac: veth.pod.mac, sandbox: ctx.netns }],
      ips: [{ address: `${v4.ip}/32`, gateway: v4.gateway, interface: 1 }],
    };
  } catch (err) {
    if (veth) await host.links.delete(veth.host.index).catch(() => {});
    if (addrs.fresh) await ipam.release();
    throw err;
  }
}
