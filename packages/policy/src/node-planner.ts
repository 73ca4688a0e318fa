import { PolicyIndex } from './cluster.js';
import { objectKey, type ClusterState, type Labels, type NetworkPolicy, type Pod } from './model.js';
import { planWith, Planner, type NodePlan, type PlanOptions, type SnapshotChanges } from './plan.js';

const NO_LABELS: Labels = Object.freeze({});

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

/**
 * Plans one node again and again as the cluster changes, recomputing only what a change can
 * alter. Each call takes the whole snapshot (as an agent's caches hold it); objects are compared
 * by identity with the previous snapshot's (a cache replaces an object only when it changed), so
 * an equal copy counts as a change and costs a recompute, never a wrong plan. The result is
 * exactly `planNode(state, node, opts)`; the tests hold the two equal on random change sequences.
 */
export class NodePlanner {
  readonly node: string;
  #planner: Planner | undefined;
  #index: PolicyIndex | undefined;
  #pods = new Map<string, Pod>();
  #policies = new Map<string, NetworkPolicy>();
  #nsLabels = new Map<string, Labels>();
  #stats: PlannerPassStats | undefined;

  constructor(node: string) {
    this.node = node;
  }

  /** What the last pass did (undefined before the first). */
  get lastPass(): PlannerPassStats | undefined {
    return this.#stats;
  }

  /** Forgets every kept result: the next pass plans from scratch. */
  reset(): void {
    this.#planner = undefined;
    this.#index = undefined;
  }

  plan(state: ClusterState, opts: PlanOptions = {}): NodePlan {
    // The index throws on duplicates before anything kept is touched.
    const index = new PolicyIndex(state);
    const pods = new Map(state.pods.map((p) => [objectKey(p), p]));
    const policies = new Map(state.policies.map((p) => [objectKey(p), p]));
    const nsLabels = new Map(state.namespaces.map((n) => [n.name, n.labels]));
    const changes: SnapshotChanges = {
      pods: changedPods(this.#pods, pods),
      namespaces: changedNamespaces(this.#nsLabels, nsLabels),
      policies: changedKeys(this.#policies, policies),
    };
    // A relist or a first pass: checking each cached result against hundreds of changes costs
    // more than computing the results again.
    const full =
      !this.#planner ||
      !this.#index ||
      changes.pods.length + changes.namespaces.length + changes.policies.size > 64;
    let planner: Planner;
    if (full || !this.#planner || !this.#index) planner = new Planner(index);
    else {
      planner = this.#planner;
      planner.invalidate(this.#index, index, changes);
    }
    const before = { ...planner.computed };
    let plan: NodePlan;
    try {
      plan = planWith(planner, index, this.node, opts);
    } catch (e) {
      // Results may be half updated: the next pass starts over.
      this.reset();
      throw e;
    }
    planner.sweep();
    this.#planner = planner;
    this.#index = index;
    this.#pods = pods;
    this.#policies = policies;
    this.#nsLabels = nsLabels;
    this.#stats = {
      full,
      changedPods: changes.pods.length,
      changedNamespaces: changes.namespaces.length,
      changedPolicies: changes.policies.size,
      profilesComputed: planner.computed.profiles - before.profiles,
      peersComputed: planner.computed.peers - before.peers,
    };
    return plan;
  }
}

function changedPods(before: ReadonlyMap<string, Pod>, after: ReadonlyMap<string, Pod>) {
  const out: { before?: Pod; after?: Pod }[] = [];
  for (const [key, is] of after) {
    const was = before.get(key);
    if (was !== is) out.push(was ? { before: was, after: is } : { after: is });
  }
  for (const [key, was] of before) if (!after.has(key)) out.push({ before: was });
  return out;
}

function changedNamespaces(before: ReadonlyMap<string, Labels>, after: ReadonlyMap<string, Labels>) {
  const out: { name: string; before: Labels; after: Labels }[] = [];
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    const was = before.get(name) ?? NO_LABELS;
    const is = after.get(name) ?? NO_LABELS;
    if (was !== is) out.push({ name, before: was, after: is });
  }
  return out;
}

function changedKeys<T>(before: ReadonlyMap<string, T>, after: ReadonlyMap<string, T>): Set<string> {
  const out = new Set<string>();
  for (const [key, v] of after) if (before.get(key) !== v) out.add(key);
  for (const key of before.keys()) if (!after.has(key)) out.add(key);
  return out;
}
