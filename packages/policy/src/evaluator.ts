import type { Family, Ip } from '@minicni/ipam';
import { ipBlockIntervals, parseAddress } from './addresses.js';
import { PolicyIndex } from './cluster.js';
import { PolicyError } from './errors.js';
import {
  objectKey,
  PROTOCOLS,
  type ClusterState,
  type NetworkPolicy,
  type Peer,
  type Pod,
  type PolicyRule,
  type PolicyType,
  type Protocol,
} from './model.js';
import { portAllows } from './ports.js';

/** One side of a connection: a pod by `namespace/name`, or an address (a pod's, a node's or outside the cluster). */
export type Endpoint = { readonly pod: string } | { readonly ip: string };

/** How one direction decided: which policies select the pod on that side, and which rule let the traffic through. */
export interface DirectionVerdict {
  readonly allowed: boolean;
  /** `namespace/name` of the pod on this side; undefined when that side is not a pod. */
  readonly pod?: string;
  /** True when some policy of this direction selects the pod. */
  readonly isolated: boolean;
  /** The selecting policies, `namespace/name`, sorted. */
  readonly policies: readonly string[];
  /**
   * The first rule (in policy order) that allows the traffic; `peer` is the index of the first
   * of its peers that matched, absent when the rule lists no peers (it allows every peer).
   */
  readonly allowedBy?: { readonly policy: string; readonly rule: number; readonly peer?: number };
}

export interface Verdict {
  readonly allowed: boolean;
  readonly family: Family;
  /** Set when a rule outside NetworkPolicy decided: a pod talking to itself, or to or from its own node. */
  readonly special?: 'self' | 'node';
  readonly egress: DirectionVerdict;
  readonly ingress: DirectionVerdict;
  /** One line a person can read, for `policy explain`. */
  readonly reason: string;
}

interface Side {
  readonly pod?: Pod;
  readonly ip?: Ip;
  readonly text: string;
}

/**
 * The truth table of networking.k8s.io/v1 NetworkPolicy over one cluster snapshot: traffic
 * passes when egress allows it at the source and ingress allows it at the destination.
 */
export class Evaluator {
  readonly index: PolicyIndex;

  constructor(state: ClusterState | PolicyIndex) {
    this.index = state instanceof PolicyIndex ? state : new PolicyIndex(state);
  }

  /**
   * The verdict for a new connection from `from` to `to` on `port`/`protocol`. `family`
   * picks the pods' address family when both sides are pods (default: the first family both have).
   */
  verdict(
    from: Endpoint,
    to: Endpoint,
    port: number,
    protocol: Protocol,
    opts: { family?: Family } = {},
  ): Verdict {
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new PolicyError('INVALID_PORT', `port ${port} is not 0-65535`);
    if (!PROTOCOLS.includes(protocol))
      throw new PolicyError('INVALID_PROTOCOL', `${String(protocol)} is not TCP, UDP or SCTP`);
    const family = this.#family(from, to, opts.family);
    const src = this.#side(from, family);
    const dst = this.#side(to, family);
    const egress = this.#direction('Egress', src, dst, port, protocol);
    const ingress = this.#direction('Ingress', dst, src, port, protocol);
    const special = this.#special(src, dst);
    const allowed = special !== undefined || (egress.allowed && ingress.allowed);
    return {
      allowed,
      family,
      ...(special ? { special } : {}),
      egress,
      ingress,
      reason: explain(src, dst, special, egress, ingress),
    };
  }

  #family(from: Endpoint, to: Endpoint, wanted: Family | undefined): Family {
    const fixed = [from, to]
      .filter((e): e is { ip: string } => 'ip' in e)
      .map((e) => parseAddress(e.ip, 'endpoint ip').family);
    if (fixed.length === 2 && fixed[0] !== fixed[1])
      throw new PolicyError('INVALID_ADDRESS', 'the two endpoints are of different address families');
    if (fixed[0] !== undefined) return fixed[0];
    if (wanted !== undefined) return wanted;
    const fams = (e: Endpoint) => {
      const pod = this.#pod(e);
      return pod ? this.index.addressesOf(pod).map((a) => a.family) : [];
    };
    const theirs = fams(to);
    return fams(from).find((f) => theirs.includes(f)) ?? 4;
  }

  #pod(e: Endpoint): Pod | undefined {
    if (!('pod' in e)) return undefined;
    const pod = this.index.pod(e.pod);
    if (!pod) throw new PolicyError('UNKNOWN_POD', `no pod ${e.pod} in the snapshot`);
    return pod;
  }

  #side(e: Endpoint, family: Family): Side {
    if ('ip' in e) {
      const ip = parseAddress(e.ip, 'endpoint ip');
      const pod = this.index.podByIp(ip);
      return pod ? { pod, ip, text: objectKey(pod) } : { ip, text: e.ip };
    }
    const pod = this.#pod(e)!;
    const ip = this.index.addressesOf(pod).find((a) => a.family === family);
    return ip ? { pod, ip, text: e.pod } : { pod, text: e.pod };
  }

  #special(src: Side, dst: Side): 'self' | 'node' | undefined {
    if (src.pod && src.pod === dst.pod) return 'self';
    const onNode = (pod: Pod | undefined, other: Side) =>
      pod !== undefined &&
      other.ip !== undefined &&
      !other.pod &&
      this.index.nodeIps(pod.node).some((t) => sameIp(parseAddress(t, 'node ip'), other.ip!));
    return onNode(src.pod, dst) || onNode(dst.pod, src) ? 'node' : undefined;
  }

  /** The check at `self` (source for egress, destination for ingress) against the `peer` side. */
  #direction(type: PolicyType, self: Side, peer: Side, port: number, protocol: Protocol): DirectionVerdict {
    if (!self.pod || self.pod.hostNetwork) return { allowed: true, isolated: false, policies: [] };
    const pod = objectKey(self.pod);
    const policies = this.index.selecting(self.pod, type);
    const keys = policies.map(objectKey);
    if (policies.length === 0) return { allowed: true, pod, isolated: false, policies: keys };
    const destination = type === 'Ingress' ? self.pod : peer.pod;
    for (const policy of policies) {
      const rules = type === 'Ingress' ? policy.ingress : policy.egress;
      for (const [rule, r] of rules.entries()) {
        const matched = this.#ruleAllows(policy, r, peer, destination, port, protocol);
        if (matched === false) continue;
        const allowedBy = { policy: objectKey(policy), rule, ...(matched >= 0 ? { peer: matched } : {}) };
        return { allowed: true, pod, isolated: true, policies: keys, allowedBy };
      }
    }
    return { allowed: false, pod, isolated: true, policies: keys };
  }

  /** false when the rule does not allow it; else the index of the peer that matched, -1 for "every peer". */
  #ruleAllows(
    policy: NetworkPolicy,
    rule: PolicyRule,
    peer: Side,
    destination: Pod | undefined,
    port: number,
    protocol: Protocol,
  ): number | false {
    const matched = rule.peers ? rule.peers.findIndex((p) => this.#peerMatches(policy, p, peer)) : -1;
    if (rule.peers && matched < 0) return false;
    return !rule.ports || rule.ports.some((p) => portAllows(p, destination, port, protocol))
      ? matched
      : false;
  }

  #peerMatches(policy: NetworkPolicy, peer: Peer, side: Side): boolean {
    if (peer.kind === 'pods')
      return side.pod !== undefined && this.index.peerSelectsPod(peer, policy.namespace, side.pod);
    if (!side.ip) return false;
    const { family, set } = ipBlockIntervals(peer.ipBlock);
    return family === side.ip.family && set.has(side.ip.value);
  }
}

function sameIp(a: Ip, b: Ip): boolean {
  return a.family === b.family && a.value === b.value;
}

function explain(
  src: Side,
  dst: Side,
  special: string | undefined,
  egress: DirectionVerdict,
  ingress: DirectionVerdict,
): string {
  if (special === 'self') return `${src.text} talks to itself: always allowed`;
  if (special === 'node') return `traffic between a pod and its own node is always allowed`;
  const part = (d: DirectionVerdict, type: string, side: Side) => {
    if (!d.pod) return `${type}: ${side.text} is not a pod (not enforced)`;
    if (!d.isolated) return `${type}: ${d.pod} is not isolated (no ${type} policy selects it)`;
    return d.allowedBy
      ? `${type}: allowed by ${d.allowedBy.policy} rule ${d.allowedBy.rule} (selected by ${d.policies.join(', ')})`
      : `${type}: denied, no rule of ${d.policies.join(', ')} allows it`;
  };
  const verdict = egress.allowed && ingress.allowed ? 'ALLOW' : 'DENY';
  return `${verdict}: ${part(egress, 'egress', src)}; ${part(ingress, 'ingress', dst)}`;
}
