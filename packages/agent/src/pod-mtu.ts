import { readFileSync } from 'node:fs';
import { VXLAN_OVERHEAD, type Mode } from './desired-state.js';

/**
 * The MTU pods get (the `__POD_MTU__` template placeholder): the underlay's, less the VXLAN
 * header whenever traffic may be encapsulated (vxlan, and auto, where any peer behind a router
 * is reached through the vxlan device). A pod at the underlay MTU would otherwise send packets
 * the vxlan device cannot carry, and depend on ICMP "fragmentation needed" reaching it.
 */
export function podMtuFor(mode: Mode, underlayMtu: number, family: 4 | 6 = 4): number {
  return mode === 'host-gw' ? underlayMtu : underlayMtu - VXLAN_OVERHEAD[family];
}

/**
 * The MTU of the device holding the node's IPv4 default route (lowest metric), read from
 * /proc/net/route and /sys/class/net/<dev>/mtu of the netns the process runs in (the host's,
 * for the DaemonSet's hostNetwork pods); undefined when there is none.
 */
export function defaultRouteMtu(
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): number | undefined {
  let table: string;
  try {
    table = read('/proc/net/route');
  } catch {
    return undefined;
  }
  let best: { dev: string; metric: number } | undefined;
  for (const line of table.split('\n').slice(1)) {
    const [dev, dst, , , , , metric, mask] = line.trim().split(/\s+/);
    if (!dev || dst !== '00000000' || mask !== '00000000') continue;
    const m = Number(metric);
    if (!best || m < best.metric) best = { dev, metric: m };
  }
  if (!best || !/^[^/\0]{1,15}$/.test(best.dev)) return undefined;
  try {
    const mtu = Number(read(`/sys/class/net/${best.dev}/mtu`).trim());
    return Number.isInteger(mtu) && mtu >= 576 ? mtu : undefined;
  } catch {
    return undefined;
  }
}
