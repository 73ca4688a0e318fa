import {
  CniError,
  ErrorCode,
  type CheckContext,
  type DelContext,
  type Interface,
  type IpConfig,
  type Result,
  type RouteBasic,
} from '@minicni/spec';
import { canonicalIp, formatSubnet, parseCidr } from '@minicni/ipam';
import { NetlinkError, teardownPodVeth, type Link, type Netlink } from '@minicni/netlink';
import { checkFailed } from './errors.js';
import type { HostVethNaming } from './host-veth.js';
import type { IpamChoice } from './ipam-choice.js';
import type { NodeEnv } from './node-env.js';
import { openPodIpam } from './pod-ipam.js';

/** What prevResult says about the attachment CHECK is asked about. */
export interface PrevAttachment {
  prev: Result;
  /** Index of the pod's interface in `prev.interfaces` (the one in ctx.netns named ctx.ifname). */
  podIndex: number;
  podIf: Interface;
  /** The IPs on that interface (or on no interface in particular). */
  ips: IpConfig[];
}

/** Finds the attachment in prevResult: code 7 without prevResult, a CHECK failure without the interface. */
export function prevAttachment(ctx: CheckContext): PrevAttachment {
  const prev = ctx.config.prevResult;
  if (!prev) throw new CniError(ErrorCode.InvalidNetworkConfig, 'CHECK needs prevResult in the config');
  const podIndex = prev.interfaces?.findIndex((i) => i.name === ctx.ifname && i.sandbox === ctx.netns) ?? -1;
  const podIf = prev.interfaces?.[podIndex];
  if (!podIf) throw checkFailed(`prevResult has no interface ${ctx.ifname} in ${ctx.netns}`);
  const ips = (prev.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === podIndex);
  return { prev, podIndex, podIf, ips };
}

/**
 * CHECK of the pod end through a handle in the pod netns: the interface exists, is up, has the
 * config's MTU, prevResult's MAC when it names one, and every one of `addresses`. Returns it.
 */
export async function checkPodLink(
  pod: Netlink,
  ctx: CheckContext,
  want: { mtu: number; mac?: string | undefined; addresses: readonly string[] },
): Promise<Link> {
  const link = await pod.links.find(ctx.ifname);
  if (!link) throw checkFailed(`interface ${ctx.ifname} is missing from ${ctx.netns}`);
  if (want.mac && link.mac !== want.mac.toLowerCase())
    throw checkFailed(`${ctx.ifname} has MAC ${link.mac}, prevResult says ${want.mac}`);
  if (link.mtu !== want.mtu)
    throw checkFailed(`${ctx.ifname} has MTU ${link.mtu}, the config says ${want.mtu}`);
  if (!link.up) throw checkFailed(`${ctx.ifname} is down`);
  const have = new Set((await pod.addresses.list({ dev: link.index })).map((a) => canonicalCidr(a.cidr)));
  for (const a of want.addresses)
    if (!have.has(canonicalCidr(a))) throw checkFailed(`${ctx.ifname} lacks address ${a}`);
  return link;
}

/**
 * CHECK of the pod's routes: each of prevResult's `routes` is live in the pod (on `dev` when
 * given), to the same network and, when it names one, through the same gateway.
 */
export async function checkPodRoutes(
  pod: Netlink,
  routes: readonly RouteBasic[],
  dev?: number,
): Promise<void> {
  const live = await pod.routes.list(dev === undefined ? {} : { dev });
  for (const r of routes) {
    const dst = canonicalNet(r.dst);
    const found = live.some(
      (l) =>
        canonicalNet(l.dst) === dst &&
        (!r.gw || (l.gateway !== undefined && canonicalIp(l.gateway) === canonicalIp(r.gw))),
    );
    if (!found) throw checkFailed(`route to ${r.dst}${r.gw ? ` via ${r.gw}` : ''} is missing in the pod`);
  }
}

/** CHECK of the host end: it exists in the node netns under the name the plugin gives it. */
export async function findHostVeth(host: Netlink, naming: HostVethNaming, ctx: CheckContext): Promise<Link> {
  const name = naming.name(ctx.containerId, ctx.ifname);
  const link = await host.links.find(name);
  if (!link) throw checkFailed(`host veth ${name} is missing`);
  return link;
}

function canonicalNet(cidr: string): string {
  return formatSubnet(parseCidr(cidr, { allowHostBits: true }).subnet);
}

/** `a.b.c.d/n` with the address in canonical form (IPv6 compressed, lower case). */
export function canonicalCidr(cidr: string): string {
  const [ip = '', prefix = ''] = cidr.split('/');
  return `${canonicalIp(ip)}/${prefix}`;
}

/**
 * DEL of a veth attachment, whole: best effort and idempotent. Every step runs even when an
 * earlier one failed: the pod end goes (when the netns is still there), the host end goes (a
 * netns still held by some process keeps the pair alive after the runtime forgot it), and the
 * addresses are released by owner even when the netns or the veth is already gone. A second DEL
 * finds nothing to do and succeeds. Throws the first error after trying everything.
 */
export async function delVethAttachment(
  ctx: DelContext,
  node: NodeEnv,
  how: { hostVeth: HostVethNaming; ipam: IpamChoice },
): Promise<void> {
  const errors: unknown[] = [];
  if (ctx.netns)
    await teardownPodVeth({ podNetns: ctx.netns, ifname: ctx.ifname }).catch((e: unknown) => errors.push(e));
  try {
    using host = node.openHost();
    await host.links.delete(how.hostVeth.name(ctx.containerId, ctx.ifname));
  } catch (err) {
    if (!(err instanceof NetlinkError && err.code === 'ENODEV')) errors.push(err);
  }
  try {
    await using ipam = await openPodIpam(how.ipam, ctx);
    await ipam.release();
  } catch (err) {
    errors.push(err);
  }
  if (errors.length) throw errors[0];
}
