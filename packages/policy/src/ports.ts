import type { Pod, PolicyPort, Protocol } from './model.js';

/** A port range of one protocol, inclusive: what a policy port means once resolved. */
export interface PortRange {
  readonly protocol: Protocol;
  readonly lo: number;
  readonly hi: number;
}

/** Every port of a protocol. Port 0 is included: "all ports" leaves none out. */
export const ALL_PORTS = { lo: 0, hi: 65535 } as const;

/**
 * What a policy port allows on a destination. Numeric ports and protocol-only ports mean the
 * same for every destination; a named port means the destination pod's container ports of that
 * name and protocol, and nothing when the destination is not a pod or has no such port.
 */
export function resolvePort(p: PolicyPort, destination: Pod | undefined): PortRange[] {
  if (p.port === undefined) return [{ protocol: p.protocol, ...ALL_PORTS }];
  if (typeof p.port === 'number') return [{ protocol: p.protocol, lo: p.port, hi: p.endPort ?? p.port }];
  if (!destination) return [];
  return destination.ports
    .filter((c) => c.name === p.port && c.protocol === p.protocol)
    .map((c) => ({ protocol: p.protocol, lo: c.port, hi: c.port }));
}

/** True when a policy port allows `port`/`protocol` towards `destination`. */
export function portAllows(
  p: PolicyPort,
  destination: Pod | undefined,
  port: number,
  protocol: Protocol,
): boolean {
  return resolvePort(p, destination).some((r) => r.protocol === protocol && port >= r.lo && port <= r.hi);
}
