import { parseIp, type Family } from '@minicni/ipam';
import type { AddrPortElement, NodePlan, Profile, Protocol } from '../src/index.js';

/**
 * Runs a new connection's first packet through compiled node plans the way the kernel runs it
 * through the rendered ruleset: the source pod's node (egress, its chain returns when allowed)
 * and the destination pod's node (ingress); once when both are on one node. It reads only the
 * plan's sets and maps, never the policies, so it checks the compiler, not the evaluator.
 */
export function simulate(
  plans: ReadonlyMap<string, NodePlan>,
  nodeOf: (ip: string) => string | undefined,
  src: string,
  dst: string,
  port: number,
  protocol: Protocol,
): boolean {
  const s = parseIp(src);
  const d = parseIp(dst);
  if (s.family !== d.family || s.value === d.value) return true;
  const nodes = new Set([nodeOf(src), nodeOf(dst)].filter((n): n is string => n !== undefined));
  for (const node of nodes) {
    const plan = plans.get(node);
    if (plan && !forward(plan, s.family, s.value, d.value, port, protocol)) return false;
  }
  return true;
}

function forward(
  plan: NodePlan,
  f: Family,
  src: bigint,
  dst: bigint,
  port: number,
  protocol: Protocol,
): boolean {
  if (plan.nodeAddrs[f].includes(src) || plan.nodeAddrs[f].includes(dst)) return true;
  if (src === dst && plan.self[f].includes(src)) return true;
  const profiles = new Map(plan.profiles.map((p) => [p.name, p]));
  const e = plan.egress[f].find(([a]) => a === src);
  if (e && !passes(profiles.get(e[1])!, f, dst, port, protocol)) return false;
  const i = plan.ingress[f].find(([a]) => a === dst);
  if (i && !passes(profiles.get(i[1])!, f, src, port, protocol)) return false;
  return true;
}

function passes(p: Profile, f: Family, peer: bigint, port: number, protocol: Protocol): boolean {
  if (p.acceptAll) return true;
  if (p.addrs[f].some((iv) => peer >= iv.lo && peer <= iv.hi)) return true;
  if (p.ports.some((r) => r.protocol === protocol && port >= r.lo && port <= r.hi)) return true;
  return p.addrPorts[f].some(
    (e: AddrPortElement) =>
      peer >= e.lo && peer <= e.hi && e.protocol === protocol && port >= e.portLo && port <= e.portHi,
  );
}
