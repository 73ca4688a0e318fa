import { CniError, ErrorCode, type CheckContext, type Result } from '@minicni/spec';
import { Netlink } from '@minicni/netlink';
import { canonicalIp, formatSubnet, parseCidr } from '@minicni/ipam';
import { checkFailed as mismatch, openPodIpam } from '@minicni/kit';
import { parseBridgeConfig } from './config.js';
import type { NodeEnv } from './node-env.js';
import { hostVethName } from './host-veth.js';

/**
 * CHECK: the pod interface, its addresses and routes, the host veth on the bridge, and the IPAM
 * reservation must all still be what prevResult says.
 */
export async function check(ctx: CheckContext, node: NodeEnv): Promise<void> {
  const cfg = parseBridgeConfig(ctx.config);
  const prev = ctx.config.prevResult;
  if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, 'CHECK needs prevResult in the config');
  const podIndex = prev.interfaces?.findIndex((i) => i.name === ctx.ifname && i.sandbox === ctx.netns) ?? -1;
  const podIf = prev.interfaces?.[podIndex];
  if (!podIf) throw mismatch(`prevResult has no interface ${ctx.ifname} in ${ctx.netns}`);
  const podIps = (prev.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === podIndex);

  {
    using pod = Netlink.open({ netns: ctx.netns });
    const link = await pod.links.find(ctx.ifname);
    if (!link) throw mismatch(`interface ${ctx.ifname} is missing from ${ctx.netns}`);
    if (podIf.mac && link.mac !== podIf.mac.toLowerCase())
      throw mismatch(`${ctx.ifname} has MAC ${link.mac}, prevResult says ${podIf.mac}`);
    if (link.mtu !== cfg.mtu) throw mismatch(`${ctx.ifname} has MTU ${link.mtu}, the config says ${cfg.mtu}`);
    if (!link.up) throw mismatch(`${ctx.ifname} is down`);
    const have = new Set((await pod.addresses.list({ dev: link.index })).map((a) => canonical(a.cidr)));
    for (const ip of podIps)
      if (!have.has(canonical(ip.address))) throw mismatch(`${ctx.ifname} lacks address ${ip.address}`);
    await checkRoutes(pod, prev);

    using host = node.openHost();
    const bridge = await host.links.find(cfg.bridge);
    if (!bridge || bridge.kind !== 'bridge') throw mismatch(`bridge ${cfg.bridge} is missing`);
    const hostName = hostVethName(ctx.containerId, ctx.ifname);
    const hostLink = await host.links.find(hostName);
    if (!hostLink) throw mismatch(`host veth ${hostName} is missing`);
    if (hostLink.master !== bridge.index)
      throw mismatch(`host veth ${hostName} is not attached to ${cfg.bridge}`);
    if (Boolean(hostLink.hairpin) !== cfg.hairpinMode)
      throw mismatch(
        `hairpin on ${hostName} is ${hostLink.hairpin ? 'on' : 'off'}, the config says ${cfg.hairpinMode ? 'on' : 'off'}`,
      );
  }
  await using ipam = await openPodIpam(cfg.ipam, ctx);
  await ipam.check(podIps.map((i) => i.address));
}

async function checkRoutes(pod: Netlink, prev: Result): Promise<void> {
  const live = await pod.routes.list();
  for (const r of prev.routes ?? []) {
    const dst = canonicalNet(r.dst);
    const found = live.some((l) => canonicalNet(l.dst) === dst && (!r.gw || l.gateway === r.gw));
    if (!found) throw mismatch(`route to ${r.dst}${r.gw ? ` via ${r.gw}` : ''} is missing in the pod`);
  }
}

function canonical(cidr: string): string {
  const [ip = '', prefix = ''] = cidr.split('/');
  return `${canonicalIp(ip)}/${prefix}`;
}

function canonicalNet(cidr: string): string {
  return formatSubnet(parseCidr(cidr, { allowHostBits: true }).subnet);
}
