import { CniError, ErrorCode, type AddContext, type HandlerResult, type RouteBasic } from '@minicni/spec';
import { setupPodVeth, type PodVeth } from '@minicni/netlink';
import { checkIfnameFree, openPodIpam, type NodeEnv, type PodAddresses, type PodIp } from '@minicni/kit';
import { handOverPod } from '@minicni/fastpath';
import { parsePtpConfig } from './config.js';
import { hostVeth } from './host-veth.js';

/**
 * ADD: reserve the pod's addresses, create a veth whose peer is born in the pod netns, give the
 * pod host addresses (/32, /128) and routes via the gateway "on link", give the host end the
 * gateway address and a host route to each pod address. Any failure undoes what this call did.
 */
export async function add(ctx: AddContext, node: NodeEnv): Promise<HandlerResult> {
  const cfg = parsePtpConfig(ctx.config);
  // The config (and so the pool) is read first: a bad one is code 7 whatever the pod netns is.
  await using ipam = await openPodIpam(cfg.ipam, ctx);
  await checkIfnameFree(ctx.netns, ctx.ifname);
  let fresh = false;
  let veth: PodVeth | undefined;
  try {
    const addrs = await ipam.allocate();
    fresh = addrs.fresh;
    const ips = addrs.ips.map(needGateway);
    if (!ips.length) throw new CniError(ErrorCode.InvalidNetworkConfig, 'IPAM returned no address');
    using host = node.openHost();
    for (const family of new Set(ips.map((i) => i.family))) node.enableForwarding(family);
    const routes = podRoutes(addrs, ips);
    // Host addresses and routes "on link": the pod's only neighbour is the host end.
    veth = await setupPodVeth({
      addresses: ips.map((i) => hostCidr(i.ip)),
      routes: routes.map((r) => ({ dst: r.dst, gateway: r.gw, onlink: true })),
      ...hostVeth.ends(ctx),
      host,
      mtu: cfg.mtu,
    });
    for (const i of ips) {
      // The same gateway address sits on every host end: each pod sees "its" router on link.
      await host.addresses.ensure(veth.host.index, hostCidr(i.gateway), { noDad: i.family === 6 });
      await host.routes.add({ dst: hostCidr(i.ip), dev: veth.host.index });
    }
    // The kernel sends neighbour solicitations only from a usable link-local address, and the
    // host end's own one is tentative (DAD) for 1-2 s: forwarded IPv6 to a new pod would wait.
    if (ips.some((i) => i.family === 6))
      await host.addresses.ensure(veth.host.index, HOST_LINK_LOCAL, { noDad: true });
    // The node's policy agent learns the pod before the runtime does (never fails ADD).
    await handOverPod(ctx, { socket: cfg.policySocket, ips: ips.map((i) => i.ip) });
    return {
      interfaces: [
        { name: veth.host.name, mac: veth.host.mac },
        { name: veth.pod.name, mac: veth.pod.mac, sandbox: ctx.netns, mtu: cfg.mtu },
      ],
      ips: ips.map((i) => ({ address: hostCidr(i.ip), gateway: i.gateway, interface: 1 })),
      routes,
      dns: { ...addrs.dns, ...(ctx.config.dns ?? {}) },
    };
  } catch (err) {
    if (veth) {
      try {
        using host = node.openHost();
        await host.links.delete(veth.host.index); // takes the pod end and the host routes along
      } catch {
        // The error that made us undo is the one worth reporting.
      }
    }
    if (fresh) await ipam.release().catch(() => undefined);
    throw err;
  }
}

/** A link-local address on every host end (per-link scope: the same one everywhere is fine). */
const HOST_LINK_LOCAL = 'fe80::1/64';

export function hostCidr(ip: string): string {
  return `${ip}/${ip.includes(':') ? 128 : 32}`;
}

function needGateway(i: PodIp): PodIp & { gateway: string } {
  if (i.gateway) return { ...i, gateway: i.gateway };
  throw new CniError(ErrorCode.InvalidNetworkConfig, `IPAM gave ${i.ip} no gateway; ptp routes via it`);
}

/** IPAM's routes, each via its family's gateway; a default route per family when IPAM has none. */
function podRoutes(addrs: PodAddresses, ips: (PodIp & { gateway: string })[]): Required<RouteBasic>[] {
  const gatewayFor = (dst: string) => ips.find((i) => (i.family === 6) === dst.includes(':'))?.gateway;
  const routes = addrs.routes.length
    ? addrs.routes.map((r) => ({ dst: r.dst }))
    : ips.map((i) => ({ dst: i.family === 4 ? '0.0.0.0/0' : '::/0' }));
  return routes.flatMap((r) => {
    const gw = gatewayFor(r.dst);
    return gw ? [{ dst: r.dst, gw }] : [];
  });
}
