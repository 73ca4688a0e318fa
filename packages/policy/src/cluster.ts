import type { Ip } from '@minicni/ipam';
import { canonicalAddress, formatAddress, parseAddress } from './addresses.js';
import { PolicyError } from './errors.js';
import {
  objectKey,
  type ClusterState,
  type Labels,
  type Namespace,
  type NetworkPolicy,
  type Peer,
  type Pod,
  type PolicyType,
} from './model.js';
import { selectorMatches } from './selector.js';

const NO_LABELS: Labels = Object.freeze({});

/** A namespace's labels as a snapshot had them (a peer's namespace choice is asked of either). */
export type NamespaceLabelsOf = (namespace: string) => Labels;

/**
 * True when a selector peer of a policy in `policyNs` matches a pod, with the namespaces'
 * labels from `labelsOf` (ipBlock peers are matched on addresses, never here).
 */
export function peerSelects(peer: Peer, policyNs: string, pod: Pod, labelsOf: NamespaceLabelsOf): boolean {
  if (peer.kind !== 'pods' || pod.hostNetwork) return false;
  if (peer.namespaces === undefined) {
    if (pod.namespace !== policyNs) return false;
  } else if (!selectorMatches(peer.namespaces, labelsOf(pod.namespace))) {
    return false;
  }
  return selectorMatches(peer.pods, pod.labels);
}

/**
 * A cluster indexed for policy questions: pods by key, by namespace and (on demand) by IP,
 * namespace labels, and which policies select a pod. The evaluator and the compiler both ask it,
 * so they cannot disagree on what a selector or a peer means.
 *
 * It is built from a snapshot, or kept up to date in place (`setPod`, `setNamespace`,
 * `setPolicy`, `setNode`) as an agent's caches change: at 150,000 pods, rebuilding it for each
 * change would make the whole index again each time. It holds no table of its own by key (the
 * caches it mirrors have one): a pod is found by its namespace's list, sorted by name.
 */
export class PolicyIndex {
  #podCount = 0;
  readonly #nsLabels = new Map<string, Labels>();
  /** Per namespace, its pods sorted by name (so in key order), and its policies likewise. */
  readonly #podsByNs = new Map<string, Pod[]>();
  readonly #policiesByNs = new Map<string, NetworkPolicy[]>();
  #policyCount = 0;
  readonly #nodeIps = new Map<string, readonly string[]>();
  /** Every pod in key order, made when asked for and dropped by a pod change. */
  #sorted: readonly Pod[] | undefined;
  /** Address -> owner, made when asked for (the evaluator) and dropped by a pod change. */
  #byIp: Map<string, Pod> | undefined;
  #conflicts: string[] = [];

  constructor(state?: ClusterState) {
    if (!state) return;
    // Duplicates are refused before anything is indexed.
    const { namespaces, pods, policies } = keyedSnapshot(state);
    for (const [name, ns] of namespaces) this.setNamespace(name, ns.labels);
    for (const [key, pod] of pods) this.setPod(key, pod);
    for (const [key, p] of policies) this.setPolicy(key, p);
    for (const n of state.nodes ?? []) this.setNode(n.name, n.ips);
  }

  /**
   * Puts (or with undefined, removes) the pod at `key`, which is `objectKey(pod)`; returns the
   * one it replaced.
   */
  setPod(key: string, pod: Pod | undefined): Pod | undefined {
    const before = this.pod(key);
    if (before === pod) return before;
    this.#podCount += replaceByName(this.#podsByNs, before, pod);
    this.#sorted = undefined;
    this.#byIp = undefined;
    return before;
  }

  /** Puts (or removes) a namespace's labels; returns the labels it had (none when absent). */
  setNamespace(name: string, labels: Labels | undefined): Labels {
    const before = this.#nsLabels.get(name) ?? NO_LABELS;
    if (labels) this.#nsLabels.set(name, labels);
    else this.#nsLabels.delete(name);
    return before;
  }

  /** Puts (or removes) the policy at `key`; returns the one it replaced. */
  setPolicy(key: string, policy: NetworkPolicy | undefined): NetworkPolicy | undefined {
    const before = this.policy(key);
    if (before !== policy) this.#policyCount += replaceByName(this.#policiesByNs, before, policy);
    return before;
  }

  /** Puts (or removes) a node's own addresses. */
  setNode(name: string, ips: readonly string[] | undefined): void {
    if (ips)
      this.#nodeIps.set(
        name,
        ips.map((ip) => canonicalAddress(ip, `node ${name} ip`)),
      );
    else this.#nodeIps.delete(name);
  }

  get podCount(): number {
    return this.#podCount;
  }

  get policyCount(): number {
    return this.#policyCount;
  }

  /** The pod at `key` (`namespace/name`), if any. */
  pod(key: string): Pod | undefined {
    return byKey(this.#podsByNs, key);
  }

  /** The policy at `key` (`namespace/name`), if any. */
  policy(key: string): NetworkPolicy | undefined {
    return byKey(this.#policiesByNs, key);
  }

  hasNamespace(name: string): boolean {
    return this.#nsLabels.has(name);
  }

  /** Every pod, in no particular order (cheap: nothing is sorted). */
  *allPods(): IterableIterator<Pod> {
    for (const list of this.#podsByNs.values()) yield* list;
  }

  /** Every policy, in no particular order. */
  *policies(): IterableIterator<NetworkPolicy> {
    for (const list of this.#policiesByNs.values()) yield* list;
  }

  /** Every namespace with its labels. */
  namespaceEntries(): IterableIterator<[string, Labels]> {
    return this.#nsLabels.entries();
  }

  /**
   * A pod's addresses, parsed (throws INVALID_ADDRESS for text that does not parse). Parsed each
   * time: a cache of 300,000 parsed addresses would cost more memory than parsing costs time.
   */
  addressesOf(pod: Pod): readonly Ip[] {
    return pod.ips.map((t) => parseAddress(t, `pod ${objectKey(pod)} ip`));
  }

  /** The pod that holds an address, if any (the first in key order when two claim it). */
  podByIp(ip: Ip): Pod | undefined {
    return this.#owners().get(formatAddress(ip.family, ip.value));
  }

  /** Addresses two pods claim; the first pod in key order is taken as the owner. */
  get addressConflicts(): readonly string[] {
    this.#owners();
    return this.#conflicts;
  }

  #owners(): Map<string, Pod> {
    if (this.#byIp) return this.#byIp;
    const byIp = new Map<string, Pod>();
    const conflicts: string[] = [];
    for (const pod of this.pods()) {
      if (pod.hostNetwork) continue;
      // Keyed by the text as the model holds it, canonical (the converters write it so).
      for (const ip of pod.ips) {
        const holder = byIp.get(ip);
        // Two pods with one address (a stale cache, a reused IP): the first in key order owns it,
        // in the evaluator and in the compiled maps alike, and the conflict is reported.
        if (holder) conflicts.push(`${ip} is held by ${objectKey(holder)} and ${objectKey(pod)}`);
        else byIp.set(ip, pod);
      }
    }
    this.#conflicts = conflicts;
    return (this.#byIp = byIp);
  }

  /**
   * A namespace's labels. A namespace the index does not hold has none, so only the
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
    return peerSelects(peer, policyNs, pod, (ns) => this.namespaceLabels(ns));
  }

  /** Every pod, in key order. */
  pods(): readonly Pod[] {
    // Namespaces compared with their slash, as in the keys: `a/x` sorts after `a-b/x`.
    this.#sorted ??= [...this.#podsByNs.keys()]
      .sort((a, b) => cmp(`${a}/`, `${b}/`))
      .flatMap((ns) => this.#podsByNs.get(ns)!);
    return this.#sorted;
  }

  /** A namespace's pods, in key order. */
  podsIn(namespace: string): readonly Pod[] {
    return this.#podsByNs.get(namespace) ?? [];
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

/** The object at `namespace/name` in per-namespace lists sorted by name. */
function byKey<T extends { readonly name: string }>(lists: Map<string, T[]>, key: string): T | undefined {
  const slash = key.indexOf('/');
  const list = lists.get(key.slice(0, slash));
  if (!list) return undefined;
  const name = key.slice(slash + 1);
  const found = list[searchByName(list, name)];
  return found?.name === name ? found : undefined;
}

type Named = { readonly namespace: string; readonly name: string };

/**
 * A snapshot's objects by key: namespaces by name, pods and policies by `namespace/name`. An
 * object that appears twice is refused (DUPLICATE_OBJECT).
 */
export function keyedSnapshot(state: ClusterState): {
  namespaces: Map<string, Namespace>;
  pods: Map<string, Pod>;
  policies: Map<string, NetworkPolicy>;
} {
  const byKey = <T>(items: readonly T[], key: (t: T) => string, what: string) => {
    const out = new Map<string, T>();
    for (const item of items) {
      const k = key(item);
      if (out.has(k)) throw new PolicyError('DUPLICATE_OBJECT', `${what} ${k} appears twice`);
      out.set(k, item);
    }
    return out;
  };
  return {
    namespaces: byKey(state.namespaces, (n) => n.name, 'namespace'),
    pods: byKey(state.pods, objectKey, 'pod'),
    policies: byKey(state.policies, objectKey, 'policy'),
  };
}

/** Takes `before` out of its namespace's list and puts `after` in; returns the change in count. */
function replaceByName<T extends Named>(
  lists: Map<string, T[]>,
  before: T | undefined,
  after: T | undefined,
): number {
  if (before) removeByName(lists, before.namespace, before.name);
  if (after) putByName(lists, after.namespace, after);
  return (after ? 1 : 0) - (before ? 1 : 0);
}

/** Inserts or replaces an object in its namespace's list, kept sorted by name. */
function putByName<T extends Named>(lists: Map<string, T[]>, namespace: string, item: T): void {
  let list = lists.get(namespace);
  if (!list) lists.set(namespace, (list = []));
  const at = searchByName(list, item.name);
  if (at < list.length && list[at]!.name === item.name) list[at] = item;
  else list.splice(at, 0, item);
}

function removeByName<T extends { readonly name: string }>(
  lists: Map<string, T[]>,
  namespace: string,
  name: string,
): void {
  const list = lists.get(namespace);
  if (!list) return;
  const at = searchByName(list, name);
  if (at < list.length && list[at]!.name === name) list.splice(at, 1);
  if (list.length === 0) lists.delete(namespace);
}

/** The first position whose name is not below `name`. */
function searchByName(list: readonly { readonly name: string }[], name: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.name < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
