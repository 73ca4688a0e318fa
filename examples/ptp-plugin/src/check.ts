import { CniError, ErrorCode, type CheckContext, type IpConfig, type RouteBasic } from '@minicni/spec';
import { Netlink, type Route } from '@minicni/netlink';
import { canonicalIp } from '@minicni/ipam';
import { checkFailed as mismatch, openPodIpam, type NodeEnv } from '@minicni/kit';
import { hostCidr } from './add.js';
import { parsePtpConfig } from './config.js';
import { hostVeth } from './host-veth.js';

/**
 * CHECK: the pod interface with its addresses and routes, the host end with the gateway address
 * and a host route per pod address, and the IPAM reservation must all still match prevResult.
 */
export async function check(ctx: CheckContext, node: NodeEnv): Promise<void> {
  const cfg = parsePtpConfig(ctx.config);
  const prev = ctx.config.prevResult;
  if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, 'CHECK needs prevResult in the config');
  const podIndex = prev.interfaces?.findIndex((i) => i.name === ctx.ifname && i.sandbox === ctx.netns) ?? -1;
  if (podIndex < 0) throw mismatch(`prevResult has no interface ${ctx.ifname} in ${ctx.netns}`);
  const ips = (prev.ips ?? []).filter((i) => i.interface === undefined || i.interface === podIndex);
  await checkLive(ctx, node, cfg.mtu, ips, prev.routes ?? []);
  await using ipam = await openPodIpam(cfg.ipam, ctx);
  await ipam.check(ips.map((i) => i.address));
}

/** The pod end, its addresses and routes; the host end, its gateway address and host routes. */
async function checkLive(
  ctx: CheckContext,
  node: NodeEnv,
  mtu: number,
  ips: IpConfig[],
  routes: RouteBasic[],
): Promise<void> {
  using pod = Netlink.open({ netns: ctx.netns });
  const link = await pod.links.find(ctx.ifname);
  if (!link) throw mismatch(`interface ${ctx.ifname} is missing from ${ctx.netns}`);
  if (!link.up) throw mismatch(`${ctx.ifname} is down`);
  if (link.mtu !== mtu) throw mismatch(`${ctx.ifname} has MTU ${link.mtu}, the config says ${mtu}`);
  const have = new Set((await pod.addresses.list({ dev: link.index })).map((a) => canon(a.cidr)));
  for (const i of ips) if (!have.has(canon(i.address))) throw mismatch(`${ctx.ifname} lacks ${i.address}`);
  const podRoutes = await pod.routes.list({ dev: link.index });
  for (const r of routes)
    if (!hasRoute(podRoutes, r.dst, r.gw)) throw mismatch(`the pod has no route to ${r.dst} via ${r.gw}`);

  using host = node.openHost();
  const hostName = hostVeth.name(ctx.containerId, ctx.ifname);
  const hostLink = await host.links.find(hostName);
  if (!hostLink) throw mismatch(`host veth ${hostName} is missing`);
  const hostAddrs = new Set((await host.addresses.list({ dev: hostLink.index })).map((a) => canon(a.cidr)));
  const hostRoutes = await host.routes.list({ dev: hostLink.index });
  for (const i of ips) {
    if (i.gateway && !hostAddrs.has(hostCidr(canonicalIp(i.gateway))))
      throw mismatch(`host veth ${hostName} lacks the gateway address ${i.gateway}`);
    const dst = hostCidr(canonicalIp(i.address.split('/')[0] ?? ''));
    if (!hasRoute(hostRoutes, dst)) throw mismatch(`the node has no route to ${dst} via ${hostName}`);
  }
}

function hasRoute(routes: Route[], dst: string, gw?: string): boolean {
  return routes.some(
    (r) => canon(r.dst) === canon(dst) && (!gw || (r.gateway && canonicalIp(r.gateway) === canonicalIp(gw))),
  );
}

function canon(cidr: string): string {
  const [ip = '', prefix = ''] = cidr.split('/');
  return `${canonicalIp(ip)}/${prefix}`;
}
