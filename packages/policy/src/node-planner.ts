import { keyedSnapshot, PolicyIndex } from './cluster.js';
import {
  objectKey,
  type ClusterState,
  type Labels,
  type Namespace,
  type NetworkPolicy,
  type Node,
  type Pod,
} from './model.js';
import { planWith, Planner, type NodePlan, type PlanOptions, type SnapshotChanges } from './plan.js';

/** What the last `NodePlanner.plan` call did. */
export interface PlannerPassStats {
  /** The snapshot was planned from scratch (first pass, or too much changed to be worth sorting out). */
  readonly full: boolean;
  readonly changedPods: number;
  readonly changedNamespaces: number;
  readonly changedPolicies: number;
  /** Profiles and rule peers computed in this pass; every other one was reused. */
  readonly profilesComputed: number;
  readonly peersComputed: number;
}

/** Objects by key, as an informer's cache holds them (a `ReadonlyMap` is one). */
export interface KeyedObjects<T> {
  readonly size: number;
  get(key: string): T | undefined;
  has(key: string): boolean;
  [Symbol.iterator](): Iterator<[string, T]>;
}

/**
 * A cluster snapshot as caches hold it: pods and policies keyed by `namespace/name`, namespaces
 * by name. The keys are kept by the planner's index as given (shared, not copied).
 */
export interface KeyedClusterState {
  readonly pods: KeyedObjects<Pod>;
  readonly namespaces: KeyedObjects<Namespace>;
  readonly policies: KeyedObjects<NetworkPolicy>;
  readonly nodes?: readonly Node[];
}

/** More changes than this in one pass: planning from scratch costs less than sorting them out. */
const FULL_AFTER = 64;

/**
 * Plans one node again and again as the cluster changes, recomputing only what a change can
 * alter. Each call takes the whole snapshot (as an agent's caches hold it); objects are compared
 * by identity with those of the previous snapshot, which the planner's index holds (a cache
 * replaces an object only when it changed), so an equal copy counts as a change and costs a
 * recompute, never a wrong plan. The index is changed in place, never rebuilt: at 150,000 pods a
 * pass costs the comparison and what the changes touch. The result is exactly
 * `planNode(state, node, opts)`; the tests hold the two equal on random change sequences.
 */
export class NodePlanner {
  readonly node: string;
  readonly #index = new PolicyIndex();
  #planner: Planner | undefined;
  #nodes = new Set<string>();
  #stats: PlannerPassStats | undefined;

  constructor(node: string) {
    this.node = node;
  }

  /** What the last pass did (undefined before the first). */
  get lastPass(): PlannerPassStats | undefined {
    return this.#stats;
  }

  /** The index of the last snapshot planned (for questions about it; do not change it). */
  get index(): PolicyIndex {
    return this.#index;
  }

  /** Forgets every kept result: the next pass plans from scratch. */
  reset(): void {
    this.#planner = undefined;
  }

  plan(state: ClusterState | KeyedClusterState, opts: PlanOptions = {}): NodePlan {
    // Duplicates are refused before anything kept is touched.
    const snapshot = keyed(state);
    const index = this.#index;
    // Up to FULL_AFTER changes are recorded for invalidation; past that the pass is full.
    const counts = { pods: 0, namespaces: 0, policies: 0 };
    const pods: { before?: Pod; after?: Pod }[] = [];
    const namespaces: { name: string; before: Labels; after: Labels }[] = [];
    const policies = new Set<string>();
    const total = () => counts.pods + counts.namespaces + counts.policies;
    const record = (kind: keyof typeof counts) => {
      counts[kind]++;
      return total() <= FULL_AFTER;
    };

    const goneNs: string[] = [];
    for (const [name] of index.namespaceEntries()) if (!snapshot.namespaces.has(name)) goneNs.push(name);
    for (const name of goneNs) {
      const before = index.setNamespace(name, undefined);
      if (record('namespaces')) namespaces.push({ name, before, after: index.namespaceLabels(name) });
    }
    for (const [name, ns] of snapshot.namespaces) {
      if (index.hasNamespace(name) && index.namespaceLabels(name) === ns.labels) continue;
      const before = index.setNamespace(name, ns.labels);
      if (record('namespaces')) namespaces.push({ name, before, after: ns.labels });
    }
    for (const [key, pod] of snapshot.pods) {
      const before = index.setPod(key, pod);
      if (before === pod) continue;
      if (record('pods')) pods.push(before ? { before, after: pod } : { after: pod });
    }
    // Every pod of the snapshot is in the index now: any more are gone (looked for only then,
    // since it costs a key per pod).
    if (index.podCount > snapshot.pods.size) {
      const gone: Pod[] = [];
      for (const pod of index.allPods()) if (!snapshot.pods.has(objectKey(pod))) gone.push(pod);
      for (const before of gone) {
        index.setPod(objectKey(before), undefined);
        if (record('pods')) pods.push({ before });
      }
    }
    for (const [key, p] of snapshot.policies) {
      if (index.setPolicy(key, p) === p) continue;
      if (record('policies')) policies.add(key);
    }
    // As for pods: deleted policies are looked for only when the index holds more.
    if (index.policyCount > snapshot.policies.size) {
      const gone: string[] = [];
      for (const p of index.policies()) {
        const key = objectKey(p);
        if (!snapshot.policies.has(key)) gone.push(key);
      }
      for (const key of gone) {
        index.setPolicy(key, undefined);
        if (record('policies')) policies.add(key);
      }
    }
    const nodes = new Set<string>();
    for (const n of snapshot.nodes ?? []) {
      index.setNode(n.name, n.ips);
      nodes.add(n.name);
    }
    for (const name of this.#nodes) if (!nodes.has(name)) index.setNode(name, undefined);
    this.#nodes = nodes;

    const changes: SnapshotChanges = { pods, namespaces, policies };
    // A relist or a first pass: checking each kept result against hundreds of changes costs
    // more than computing the results again.
    const full = !this.#planner || total() > FULL_AFTER;
    const planner = full ? new Planner(index) : this.#planner!;
    const before = { ...planner.computed };
    let plan: NodePlan;
    try {
      if (!full) planner.invalidate(changes);
      plan = planWith(planner, index, this.node, opts);
    } catch (e) {
      // Results may be half updated: the next pass starts over (the index holds this snapshot).
      this.reset();
      throw e;
    }
    planner.sweep();
    this.#planner = planner;
    this.#stats = {
      full,
      changedPods: counts.pods,
      changedNamespaces: counts.namespaces,
      changedPolicies: counts.policies,
      profilesComputed: planner.computed.profiles - before.profiles,
      peersComputed: planner.computed.peers - before.peers,
    };
    return plan;
  }
}

/** The snapshot keyed; a list form with an object twice is refused (DUPLICATE_OBJECT). */
function keyed(state: ClusterState | KeyedClusterState): KeyedClusterState {
  if (!Array.isArray(state.pods)) return state as KeyedClusterState;
  const s = state as ClusterState;
  return { ...keyedSnapshot(s), ...(s.nodes ? { nodes: s.nodes } : {}) };
}
