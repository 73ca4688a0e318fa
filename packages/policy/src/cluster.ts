import type { Ip } from '@minicni/ipam';
import { canonicalAddress, formatAddress, parseAddress } from './addresses.js';
import { PolicyError } from './errors.js';
import {
  objectKey,
  type ClusterState,
  type Labels,
  type NetworkPolicy,
  type Peer,
  type Pod,
  type PolicyType,
} from './model.js';
import { selectorMatches } from './selector.js';

const NO_LABELS: Labels = Object.freeze({});

/**
 * Pod addresses parsed once per pod object, across indexes: the model's objects are never
 * changed in place (a cache replaces a changed pod), so an index built for the next snapshot
 * reuses what the last one parsed.
 */
const PARSED = new WeakMap<Pod, readonly Ip[]>();

/**
 * A cluster snapshot indexed for policy questions: pods by key and IP, namespace labels, and
 * which policies select a pod. The evaluator and the compiler both ask it, so they cannot
 * disagree on what a selector or a peer means.
 */
export class PolicyIndex {
  readonly state: ClusterState;
  readonly #pods = new Map<string, Pod>();
  readonly #byIp = new Map<string, Pod>();
  readonly #nsLabels = new Map<string, Labels>();
  readonly #policiesByNs = new Map<string, NetworkPolicy[]>();
  readonly #nodeIps = new Map<string, readonly string[]>();
  readonly #sorted: readonly Pod[];
  readonly #podsByNs = new Map<string, Pod[]>();
  /** Addresses two pods claim; the first pod in key order is taken as the owner. */
  readonly addressConflicts: string[] = [];

  constructor(state: ClusterState) {
    this.state = state;
    for (const ns of state.namespaces) {
      if (this.#nsLabels.has(ns.name))
        throw new PolicyError('DUPLICATE_OBJECT', `namespace ${ns.name} appears twice`);
      this.#nsLabels.set(ns.name, ns.labels);
    }
    for (const pod of state.pods) {
      const key = objectKey(pod);
      if (this.#pods.has(key)) throw new PolicyError('DUPLICATE_OBJECT', `pod ${key} appears twice`);
      this.#pods.set(key, pod);
    }
    // Keys computed once: a comparator building them would make 5 million strings for 150,000 pods.
    this.#sorted = [...this.#pods.entries()].sort((a, b) => cmp(a[0], b[0])).map(([, pod]) => pod);
    for (const pod of this.#sorted) {
      const list = this.#podsByNs.get(pod.namespace) ?? [];
      list.push(pod);
      this.#podsByNs.set(pod.namespace, list);
      if (pod.hostNetwork) continue;
      // Keyed by the text as the model holds it, canonical (the converters write it so): parsing
      // 300,000 addresses up front would cost seconds; they are parsed when first needed.
      for (const ip of pod.ips) {
        const holder = this.#byIp.get(ip);
        // Two pods with one address (a stale cache, a reused IP): the first in key order owns it,
        // in the evaluator and in the compiled maps alike, and the conflict is reported.
        if (holder) this.addressConflicts.push(`${ip} is held by ${objectKey(holder)} and ${objectKey(pod)}`);
        else this.#byIp.set(ip, pod);
      }
    }
    const seen = new Set<string>();
    const sorted = [...state.policies].sort((a, b) => cmp(objectKey(a), objectKey(b)));
    for (const p of sorted) {
      const key = objectKey(p);
      if (seen.has(key)) throw new PolicyError('DUPLICATE_OBJECT', `policy ${key} appears twice`);
      seen.add(key);
      const list = this.#policiesByNs.get(p.namespace) ?? [];
      list.push(p);
      this.#policiesByNs.set(p.namespace, list);
    }
    for (const n of state.nodes ?? []) {
      this.#nodeIps.set(
        n.name,
        n.ips.map((ip) => canonicalAddress(ip, `node ${n.name} ip`)),
      );
    }
  }

  pod(key: string): Pod | undefined {
    return this.#pods.get(key);
  }

  /** A pod's addresses, parsed once (throws INVALID_ADDRESS for text that does not parse). */
  addressesOf(pod: Pod): readonly Ip[] {
    let ips = PARSED.get(pod);
    if (!ips) {
      ips = pod.ips.map((t) => parseAddress(t, `pod ${objectKey(pod)} ip`));
      PARSED.set(pod, ips);
    }
    return ips;
  }

  /** The pod that holds an address, if any. */
  podByIp(ip: Ip): Pod | undefined {
    return this.#byIp.get(formatAddress(ip.family, ip.value));
  }

  /**
   * A namespace's labels. A namespace the snapshot does not hold has none, so only the
   * empty namespaceSelector matches it (the API server always labels real namespaces with
   * kubernetes.io/metadata.name).
   */
  namespaceLabels(name: string): Labels {
    return this.#nsLabels.get(name) ?? NO_LABELS;
  }

  /** The node's own addresses, canonical text. */
  nodeIps(node: string): readonly string[] {
    return this.#nodeIps.get(node) ?? [];
  }

  /** The policies of a type that select a pod, sorted by namespace/name. */
  selecting(pod: Pod, type: PolicyType): NetworkPolicy[] {
    if (pod.hostNetwork) return [];
    return (this.#policiesByNs.get(pod.namespace) ?? []).filter(
      (p) => p.policyTypes.includes(type) && selectorMatches(p.podSelector, pod.labels),
    );
  }

  /** True when a selector peer of a policy in `policyNs` matches a pod (ipBlock peers are matched on addresses). */
  peerSelectsPod(peer: Peer, policyNs: string, pod: Pod): boolean {
    if (peer.kind !== 'pods' || pod.hostNetwork) return false;
    if (peer.namespaces === undefined) {
      if (pod.namespace !== policyNs) return false;
    } else if (!selectorMatches(peer.namespaces, this.namespaceLabels(pod.namespace))) {
      return false;
    }
    return selectorMatches(peer.pods, pod.labels);
  }

  /** Every pod, in key order. */
  pods(): readonly Pod[] {
    return this.#sorted;
  }

  /**
   * The pods a selector peer of a policy in `policyNs` matches, in key order. Namespaces are
   * chosen first, so a peer costs the pods of its namespaces, not of the cluster.
   */
  podsOfPeer(peer: Peer & { kind: 'pods' }, policyNs: string): Pod[] {
    const namespaces =
      peer.namespaces === undefined
        ? [policyNs]
        : [...this.#podsByNs.keys()]
            .filter((ns) => selectorMatches(peer.namespaces!, this.namespaceLabels(ns)))
            .sort(cmp);
    return namespaces.flatMap((ns) =>
      (this.#podsByNs.get(ns) ?? []).filter(
        (pod) => !pod.hostNetwork && selectorMatches(peer.pods, pod.labels),
      ),
    );
  }
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
