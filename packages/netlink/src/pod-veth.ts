import type { Link } from './codec/link.js';
import { parseCidr } from './codec/ip.js';
import { ERRNO } from './errno.js';
import { NetlinkError, NetlinkInputError } from './errors.js';
import { checkIfname, type LinkRef } from './names.js';
import { Netlink } from './netlink.js';
import type { NativeAddon } from './native.js';
import type { RouteSpec } from './api/routes.js';
import { sysctl } from './sysctl.js';

export interface PodVethOptions {
  /** Handle in the node (host) netns, where the host end stays. */
  host: Netlink;
  /** Path of the netns the peer end is created in (a container's). */
  podNetns: string;
  /** Interface name inside that netns. */
  ifname: string;
  /** Name of the host end; `veth` + 8 random hex digits when absent. */
  hostIfname?: string;
  mtu?: number;
  /** MAC of the pod end. */
  mac?: string;
  /** CIDRs to put on the pod end: `10.244.0.5/24`, `fd00::5/64`. */
  addresses?: readonly string[];
  /** Routes inside the pod, through the pod end (`dev` is filled in). */
  routes?: readonly Omit<RouteSpec, 'dev'>[];
  /** Bridge to attach the host end to. */
  master?: LinkRef;
  hairpin?: boolean;
  /** For tests: the syscall layer of the pod-side handle. */
  addon?: NativeAddon;
}

export interface PodVeth {
  host: { name: string; index: number; mac: string };
  pod: { name: string; index: number; mac: string };
}

/**
 * Puts a veth into a pod netns with addresses and routes: the peer is created directly inside
 * the pod netns (it never appears in the node netns), the pod end gets its addresses (IPv6 ones
 * with DAD off), comes up, gets its routes; the host end is attached to `master`, gets hairpin
 * and comes up. If any step fails, the veth is deleted again before the error is thrown.
 */
export async function setupPodVeth(opts: PodVethOptions): Promise<PodVeth> {
  checkIfname(opts.ifname);
  const hostIfname = checkIfname(opts.hostIfname ?? randomVethName(), 'host interface name');
  const addresses = (opts.addresses ?? []).map((a) => ({ text: a, parsed: parseCidr(a) }));
  const { host } = opts;
  using pod = Netlink.open({ netns: opts.podNetns, ...(opts.addon ? { addon: opts.addon } : {}) });
  await host.links.addVeth({
    name: hostIfname,
    peerName: opts.ifname,
    peerNetns: opts.podNetns,
    ...(opts.mtu === undefined ? {} : { mtu: opts.mtu }),
    ...(opts.mac === undefined ? {} : { peerMac: opts.mac }),
  });
  try {
    const podLink = await pod.links.get(opts.ifname);
    if (addresses.some((a) => a.parsed.family === 6)) {
      // DAD would hold the addresses "tentative" for a second or more, unusable as sources;
      // a veth inside a fresh pod netns has no one to conflict with, so skip it (as the
      // reference plugins do): on the link (covers the link-local address too) and per address.
      disableDad(opts.podNetns, opts.ifname, opts.addon);
    }
    for (const a of addresses) {
      await pod.addresses.add(podLink.index, a.text, { noDad: a.parsed.family === 6 });
    }
    await pod.links.setUp(podLink.index);
    for (const r of opts.routes ?? []) await pod.routes.add({ ...r, dev: podLink.index });

    const hostLink = await host.links.get(hostIfname);
    if (opts.master !== undefined) await host.links.setMaster(hostLink.index, opts.master);
    if (opts.hairpin) await host.links.setHairpin(hostLink.index, true);
    await host.links.setUp(hostLink.index);
    return { host: summary(hostLink), pod: summary(await pod.links.get(podLink.index)) };
  } catch (err) {
    // Deleting the host end takes the pod end with it.
    await host.links.delete(hostIfname).catch(() => undefined);
    throw err;
  }
}

/**
 * A name for the host end of a pod's veth made from its owner: `prefix` + the first 12 hex digits
 * of SHA-256(`containerId/ifname`). The same owner always gets the same name, so DEL and GC find
 * the host end without saved state, even after the pod netns is gone; `ownerVethPattern(prefix)`
 * tells a plugin's own veths from anything else on the node. The prefix is 1-3 lowercase letters
 * (the whole name must fit Linux's 15 bytes), one per plugin.
 */
export function ownerVethName(prefix: string, containerId: string, ifname: string): string {
  checkVethPrefix(prefix);
  // node:crypto is fetched on first use: importing this package must not load it.
  const { createHash } = process.getBuiltinModule('node:crypto');
  return `${prefix}${createHash('sha256').update(`${containerId}/${ifname}`).digest('hex').slice(0, 12)}`;
}

/** Matches exactly the names `ownerVethName(prefix, ...)` makes. */
export function ownerVethPattern(prefix: string): RegExp {
  return new RegExp(`^${checkVethPrefix(prefix)}[0-9a-f]{12}$`);
}

function checkVethPrefix(prefix: string): string {
  if (!/^[a-z]{1,3}$/.test(prefix)) {
    throw new NetlinkInputError(`veth name prefix "${prefix}" is invalid: use 1-3 lowercase letters`);
  }
  return prefix;
}

/**
 * `veth` + 8 hex digits, like the reference plugins' names. Math.random is enough to avoid
 * collisions (a clash fails with EEXIST, never silently) and spares loading node:crypto at startup.
 */
function randomVethName(): string {
  const n = Math.floor(Math.random() * 0x100000000);
  return `veth${n.toString(16).padStart(8, '0')}`;
}

function disableDad(netns: string, ifname: string, addon: NativeAddon | undefined): void {
  try {
    sysctl.write(netns, `net/ipv6/conf/${ifname}/accept_dad`, 0, ...(addon ? [addon] : []));
  } catch (err) {
    // IPv6 disabled in the pod: the address add below fails with a clear error instead.
    if (!(err instanceof NetlinkError && err.code === 'ENOENT')) throw err;
  }
}

function summary(link: Link): { name: string; index: number; mac: string } {
  return { name: link.name, index: link.index, mac: link.mac ?? '' };
}

export interface TeardownOptions {
  /** Path of the pod netns; gone already is fine. */
  podNetns: string;
  ifname: string;
  addon?: NativeAddon;
}

/**
 * Deletes the pod's veth (its host end goes with it). Succeeds when the netns or the link is
 * already gone; returns whether something was deleted.
 */
export async function teardownPodVeth(opts: TeardownOptions): Promise<boolean> {
  checkIfname(opts.ifname);
  let pod: Netlink;
  try {
    pod = Netlink.open({ netns: opts.podNetns, ...(opts.addon ? { addon: opts.addon } : {}) });
  } catch (err) {
    if (err instanceof NetlinkError && isGoneNetns(err.errno)) return false;
    throw err;
  }
  try {
    await pod.links.delete(opts.ifname);
    return true;
  } catch (err) {
    if (err instanceof NetlinkError && err.code === 'ENODEV') return false;
    throw err;
  } finally {
    pod.close();
  }
}

/** ENOENT: the netns file is gone; EINVAL: it is no longer a netns mount (an unmounted leftover). */
function isGoneNetns(errno: number): boolean {
  return errno === ERRNO.ENOENT || errno === ERRNO.EINVAL;
}
