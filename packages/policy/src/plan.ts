import { createHash } from 'node:crypto';
import { IntervalSet, type Family, type Interval } from '@minicni/ipam';
import { ipBlockIntervals, parseAddress, parsePodCidr } from './addresses.js';
import { cmp, peerSelects, PolicyIndex, type NamespaceLabelsOf } from './cluster.js';
import { PolicyError } from './errors.js';
import {
  objectKey,
  PROTOCOLS,
  type ClusterState,
  type Labels,
  type NetworkPolicy,
  type Pod,
  type PolicyRule,
  type PolicyType,
  type Protocol,
} from './model.js';
import { resolvePort, type PortRange } from './ports.js';
import { selectorMatches } from './selector.js';

/** An address range and a port range of one protocol: one element of a concatenated set. */
export interface AddrPortElement {
  readonly lo: bigint;
  readonly hi: bigint;
  readonly protocol: Protocol;
  readonly portLo: number;
  readonly portHi: number;
}

/**
 * What one pod's check in one direction allows, reduced to three set lookups (any address on
 * these ports; these addresses on any port; these address-and-port pairs), all disjoint and
 * sorted. Pods whose checks are equal share one profile: its name is a hash of its content.
 */
export interface Profile {
  readonly name: string;
  readonly direction: 'ingress' | 'egress';
  /** Some rule allows every peer on every port. */
  readonly acceptAll: boolean;
  readonly addrs: Readonly<Record<Family, readonly Interval[]>>;
  readonly ports: readonly PortRange[];
  readonly addrPorts: Readonly<Record<Family, readonly AddrPortElement[]>>;
}

/** Everything one node enforces, as data: rendered by `renderRuleset`, and simulated in tests. */
export interface NodePlan {
  readonly node: string;
  /** The node's own addresses per family, sorted. */
  readonly nodeAddrs: Readonly<Record<Family, readonly bigint[]>>;
  /** Local isolated pods: address -> profile name, sorted by address. */
  readonly ingress: Readonly<Record<Family, readonly (readonly [bigint, string])[]>>;
  readonly egress: Readonly<Record<Family, readonly (readonly [bigint, string])[]>>;
  /**
   * Addresses of the local isolated pods, sorted: a pod reaching itself through a Service
   * (hairpin, DNAT'd back to it) crosses the forward hook, and a pod is never cut off from itself.
   */
  readonly self: Readonly<Record<Family, readonly bigint[]>>;
  /** Sorted by name. */
  readonly profiles: readonly Profile[];
  /**
   * Fail closed (present when the node's pod CIDRs were given): an address inside them that no
   * pod of the snapshot holds is dropped both ways, so a pod the snapshot does not know yet is
   * isolated, never open.
   */
  readonly guard?: PodNetGuard;
}

/** The node's pod CIDRs and the pod addresses known inside them. */
export interface PodNetGuard {
  /** The node's pod CIDRs as intervals, per family, merged and sorted. */
  readonly nets: Readonly<Record<Family, readonly Interval[]>>;
  /** Addresses inside `nets` that a (non host-network) pod holds, per family, sorted. */
  readonly known: Readonly<Record<Family, readonly bigint[]>>;
}

type Addrs = Record<Family, Interval[]>;
interface Grant {
  /** undefined: every address. */
  readonly addrs?: Addrs;
  /** undefined: every port of every protocol (and protocols without ports). */
  readonly ports?: readonly PortRange[];
}

const FAMILIES: readonly Family[] = [4, 6];

function emptyAddrs(): Addrs {
  return { 4: [], 6: [] };
}

function podAddrs(index: PolicyIndex, pod: Pod, into: Addrs = emptyAddrs()): Addrs {
  for (const ip of index.addressesOf(pod)) into[ip.family].push({ lo: ip.value, hi: ip.value });
  return into;
}

export interface PlanOptions {
  /** The node's own addresses; default: the node's entry in the snapshot's `nodes`. */
  readonly nodeIps?: readonly string[];
  /** The node's pod CIDRs: with at least one, the plan fails closed for unknown addresses in them. */
  readonly podCidrs?: readonly string[];
}

/**
 * Compiles what one node enforces: ingress for its pods as destinations, egress for its pods as
 * sources. Pods without addresses are skipped (nothing can be sent from or to them yet).
 */
export function planNode(state: ClusterState | PolicyIndex, node: string, opts: PlanOptions = {}): NodePlan {
  const index = state instanceof PolicyIndex ? state : new PolicyIndex(state);
  return planWith(new Planner(index), index, node, opts);
}

/** The body of `planNode`, with a planner that may hold results of earlier passes (`NodePlanner`). */
export function planWith(planner: Planner, index: PolicyIndex, node: string, opts: PlanOptions): NodePlan {
  const nodeAddrs: Record<Family, bigint[]> = { 4: [], 6: [] };
  for (const t of opts.nodeIps ?? index.nodeIps(node)) {
    const ip = parseAddress(t, `node ${node} ip`);
    nodeAddrs[ip.family].push(ip.value);
  }
  const maps = { ingress: { 4: [], 6: [] }, egress: { 4: [], 6: [] } } as Record<
    'ingress' | 'egress',
    Record<Family, [bigint, string][]>
  >;
  const local = planner.localAddresses(node, opts.podCidrs ?? []);
  const profiles = new Map<string, { profile: Profile; digest: string }>();
  for (const pod of local.pods()) {
    for (const { profile, digest } of planner.podProfiles(pod)) {
      const known = profiles.get(profile.name);
      if (known && known.digest !== digest)
        throw new PolicyError('DUPLICATE_OBJECT', `profile name collision on ${profile.name}`);
      profiles.set(profile.name, { profile, digest });
      for (const text of pod.ips) {
        // An address another pod owns (the first in key order) keys that pod's chain.
        const held = local.owned(text, pod);
        if (held) maps[profile.direction][held.family].push([held.value, profile.name]);
      }
    }
  }
  const self: Record<Family, bigint[]> = { 4: [], 6: [] };
  for (const f of FAMILIES)
    self[f] = [...new Set([...maps.ingress[f], ...maps.egress[f]].map(([a]) => a))].sort(byValue);
  for (const m of Object.values(maps)) for (const f of FAMILIES) m[f].sort((a, b) => byValue(a[0], b[0]));
  for (const f of FAMILIES) nodeAddrs[f] = [...new Set(nodeAddrs[f])].sort(byValue);
  const guard = local.guard();
  return {
    node,
    nodeAddrs,
    ingress: maps.ingress,
    egress: maps.egress,
    self,
    profiles: [...profiles.values()].map((p) => p.profile).sort((a, b) => cmp(a.name, b.name)),
    ...(guard ? { guard } : {}),
  };
}

/** An address some pods hold, parsed once. */
interface Held {
  readonly family: Family;
  readonly value: bigint;
  readonly inNets: boolean;
  /** Non host-network pods holding it (more than one: a stale cache or a reused IP). */
  readonly holders: Pod[];
}

/**
 * For one node, the addresses that matter to its plan and the pods holding them: every address
 * inside its pod CIDRs (the fail-closed guard's known pods) and every address of its own pods
 * (the maps' keys, owned by the first holder in key order). Made once from every pod, then kept
 * up to date from each change: no index of all 300,000 addresses of a large cluster is held.
 */
class LocalAddresses {
  readonly node: string;
  /** The pod CIDRs it was made for, as given. */
  readonly cidrs: string;
  readonly #nets: Record<Family, IntervalSet> | undefined;
  readonly #held = new Map<string, Held>();
  readonly #index: PolicyIndex;

  constructor(index: PolicyIndex, node: string, podCidrs: readonly string[]) {
    this.#index = index;
    this.node = node;
    this.cidrs = podCidrs.join(',');
    if (podCidrs.length) {
      const nets: Record<Family, Interval[]> = { 4: [], 6: [] };
      for (const c of podCidrs) {
        const n = parsePodCidr(c);
        nets[n.family].push({ lo: n.lo, hi: n.hi });
      }
      this.#nets = { 4: new IntervalSet(nets[4]), 6: new IntervalSet(nets[6]) };
    }
    const outside = new Set<string>();
    for (const pod of index.allPods()) {
      // Without pod CIDRs only this node's pods are parsed.
      if (pod.hostNetwork || (!this.#nets && pod.node !== node)) continue;
      for (const text of pod.ips) {
        const held = this.#track(text, pod);
        if (held && !held.inNets) outside.add(text);
      }
    }
    // This node's pods' addresses outside the CIDRs: other pods holding them are holders too.
    if (outside.size) this.#addHoldersOf(outside);
  }

  /** Takes a change of one pod into account (the index already holds `after`). */
  update(before: Pod | undefined, after: Pod | undefined): void {
    if (before && !before.hostNetwork) {
      for (const text of before.ips) {
        const held = this.#held.get(text);
        if (!held) continue;
        const at = held.holders.indexOf(before);
        if (at >= 0) held.holders.splice(at, 1);
        if (held.holders.length === 0) this.#held.delete(text);
      }
    }
    if (!after || after.hostNetwork) return;
    const outside = new Set<string>();
    for (const text of after.ips) {
      const known = this.#held.has(text);
      const held = this.#track(text, after);
      if (held && !held.inNets && !known && after.node === this.node) outside.add(text);
    }
    if (outside.size) this.#addHoldersOf(outside, after);
  }

  /** This node's pods that have addresses. */
  *pods(): IterableIterator<Pod> {
    const seen = new Set<Pod>();
    for (const held of this.#held.values()) {
      for (const pod of held.holders) {
        if (pod.node !== this.node || seen.has(pod)) continue;
        seen.add(pod);
        yield pod;
      }
    }
  }

  /** The address `text` of `pod`, parsed, when `pod` owns it. */
  owned(text: string, pod: Pod): Held | undefined {
    const held = this.#held.get(text);
    if (!held) return undefined;
    let owner = held.holders[0]!;
    for (const other of held.holders) if (cmp(objectKey(other), objectKey(owner)) < 0) owner = other;
    return owner === pod ? held : undefined;
  }

  guard(): PodNetGuard | undefined {
    if (!this.#nets) return undefined;
    const known: Record<Family, Set<bigint>> = { 4: new Set(), 6: new Set() };
    for (const held of this.#held.values()) if (held.inNets) known[held.family].add(held.value);
    return {
      nets: { 4: [...this.#nets[4].intervals], 6: [...this.#nets[6].intervals] },
      known: { 4: [...known[4]].sort(byValue), 6: [...known[6]].sort(byValue) },
    };
  }

  /** Records `pod` as a holder of `text` when the address matters here; returns its record. */
  #track(text: string, pod: Pod): Held | undefined {
    let held = this.#held.get(text);
    if (!held) {
      const ip = parseAddress(text, `pod ${objectKey(pod)} ip`);
      const inNets = this.#nets?.[ip.family].has(ip.value) ?? false;
      if (!inNets && pod.node !== this.node) return undefined;
      held = { family: ip.family, value: ip.value, inNets, holders: [] };
      this.#held.set(text, held);
    }
    if (!held.holders.includes(pod)) held.holders.push(pod);
    return held;
  }

  /** Adds every other pod holding one of `texts` (the addresses must be tracked already). */
  #addHoldersOf(texts: ReadonlySet<string>, except?: Pod): void {
    for (const pod of this.#index.allPods()) {
      if (pod === except || pod.hostNetwork) continue;
      for (const text of pod.ips) {
        const held = texts.has(text) ? this.#held.get(text) : undefined;
        if (held && !held.holders.includes(pod)) held.holders.push(pod);
      }
    }
  }
}

function byValue(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The peers of one policy rule, resolved: shared by every profile that holds the policy. */
interface PeerEntry {
  readonly addrs?: Addrs;
  readonly pods?: readonly Pod[];
  readonly inBlockOnly?: ReadonlyMap<Pod, Addrs>;
  readonly policy: NetworkPolicy;
  readonly rule: PolicyRule;
  /** It looked at every pod (a named egress port with an ipBlock): any pod change may alter it. */
  readonly scansAllPods: boolean;
}

interface ProfileEntry {
  readonly profile: Profile;
  /**
   * The whole hash of the content; the name holds its first 16 digits. The content's text is
   * not kept: a profile of a large cluster's peers is megabytes of it.
   */
  readonly digest: string;
  readonly policies: readonly string[];
  readonly peers: readonly PeerEntry[];
  /** A named egress port on a rule without peers resolved on every pod. */
  readonly scansAllPods: boolean;
}

/** What changed between two snapshots, as `NodePlanner` found it. */
export interface SnapshotChanges {
  /** Each changed pod as it was (before) and is (after); one side is absent for adds and deletes. */
  readonly pods: readonly { before?: Pod; after?: Pod }[];
  /** Namespaces whose labels changed (an absent namespace has none). */
  readonly namespaces: readonly { name: string; before: Labels; after: Labels }[];
  /** Keys of policies added, changed or deleted. */
  readonly policies: ReadonlySet<string>;
}

/**
 * Computes profiles, and the peers of each policy rule they are made of, once. A planner made
 * for one `planNode` call lives for that call; `NodePlanner` keeps one across snapshots and
 * forgets, on each change, only the results the change can alter (`invalidate`).
 */
export class Planner {
  readonly #index: PolicyIndex;
  readonly #profiles = new Map<string, ProfileEntry>();
  readonly #peerCache = new Map<string, PeerEntry>();
  readonly #usedProfiles = new Set<string>();
  /**
   * Per pod, its profiles of the last pass: still its profiles while the pod is the same object,
   * no policy of its namespace changed, and the profiles were not forgotten.
   */
  readonly #podProfiles = new WeakMap<Pod, { key: string; entry: ProfileEntry }[]>();
  #local: LocalAddresses | undefined;
  /** Profiles and peer entries computed (not reused) since the planner was made. */
  computed = { profiles: 0, peers: 0 };

  /** `index` is the planner's for its life: changed in place, with `invalidate` told of each change. */
  constructor(index: PolicyIndex) {
    this.#index = index;
  }

  /** The addresses that matter to `node`'s plan (made on first use, then kept up to date). */
  localAddresses(node: string, podCidrs: readonly string[]): LocalAddresses {
    if (this.#local?.node !== node || this.#local.cidrs !== podCidrs.join(','))
      this.#local = new LocalAddresses(this.#index, node, podCidrs);
    return this.#local;
  }

  /**
   * Takes in changes the index has just taken (it holds the objects as they are now; `changes`
   * says what they were). Drops every peer entry that a changed policy owns, that selects a
   * changed pod (as it was or as it is), or whose namespace choice a namespace's labels change
   * flips; then every profile built from a changed policy or a dropped peer entry.
   */
  invalidate(changes: SnapshotChanges): void {
    const index = this.#index;
    if (changes.policies.size) {
      // Which policies select a pod changes only with its namespace's policies.
      const namespaces = new Set([...changes.policies].map((k) => k.slice(0, k.indexOf('/'))));
      for (const ns of namespaces) for (const pod of index.podsIn(ns)) this.#podProfiles.delete(pod);
    }
    for (const { before, after } of changes.pods) this.#local?.update(before, after);
    const nsBefore = new Map(changes.namespaces.map((c) => [c.name, c.before]));
    const labelsBefore = (ns: string) => nsBefore.get(ns) ?? index.namespaceLabels(ns);
    const anyPod = changes.pods.length > 0;
    const dropped = new Set<PeerEntry>();
    for (const [key, e] of this.#peerCache) {
      if (this.#peerEntryStale(e, labelsBefore, changes, anyPod)) {
        this.#peerCache.delete(key);
        dropped.add(e);
      }
    }
    for (const [key, e] of this.#profiles) {
      if (
        (e.scansAllPods && anyPod) ||
        e.policies.some((p) => changes.policies.has(p)) ||
        e.peers.some((p) => dropped.has(p))
      )
        this.#profiles.delete(key);
    }
  }

  /**
   * Forgets the profiles no pod used since the last sweep, and the peer entries only those
   * held, so a long-lived planner holds what the current snapshot needs and no more.
   */
  sweep(): void {
    for (const key of this.#profiles.keys()) if (!this.#usedProfiles.has(key)) this.#profiles.delete(key);
    this.#usedProfiles.clear();
    const held = new Set<PeerEntry>();
    for (const e of this.#profiles.values()) for (const p of e.peers) held.add(p);
    for (const [key, e] of this.#peerCache) if (!held.has(e)) this.#peerCache.delete(key);
  }

  #peerEntryStale(
    e: PeerEntry,
    labelsBefore: NamespaceLabelsOf,
    changes: SnapshotChanges,
    anyPod: boolean,
  ): boolean {
    if (changes.policies.has(objectKey(e.policy))) return true;
    if (e.scansAllPods && anyPod) return true;
    const ns = e.policy.namespace;
    for (const peer of e.rule.peers ?? []) {
      if (peer.kind !== 'pods') continue;
      for (const { before: was, after: is } of changes.pods) {
        if (was && peerSelects(peer, ns, was, labelsBefore)) return true;
        if (is && this.#index.peerSelectsPod(peer, ns, is)) return true;
      }
      if (peer.namespaces === undefined) continue;
      for (const c of changes.namespaces) {
        if (selectorMatches(peer.namespaces, c.before) !== selectorMatches(peer.namespaces, c.after))
          return true;
      }
    }
    return false;
  }

  /** A pod's profiles, ingress first; none for a direction no policy isolates it in. */
  podProfiles(pod: Pod): ProfileEntry[] {
    const memo = this.#podProfiles.get(pod);
    if (memo && memo.every((m) => this.#profiles.get(m.key) === m.entry)) {
      for (const m of memo) this.#usedProfiles.add(m.key);
      return memo.map((m) => m.entry);
    }
    const out: { key: string; entry: ProfileEntry }[] = [];
    for (const type of ['Ingress', 'Egress'] as const) {
      const policies = this.#index.selecting(pod, type);
      if (policies.length === 0) continue;
      const key = profileKey(pod, type, policies);
      out.push({ key, entry: this.#profileByKey(key, pod, type, policies) });
    }
    this.#podProfiles.set(pod, out);
    return out.map((m) => m.entry);
  }

  /**
   * A pod's check in one direction. It depends only on the selecting policies, and for ingress
   * on the pod's named ports, so pods that agree on those share one computation.
   */
  #profileByKey(key: string, pod: Pod, type: PolicyType, policies: NetworkPolicy[]): ProfileEntry {
    this.#usedProfiles.add(key);
    let hit = this.#profiles.get(key);
    if (!hit) {
      hit = this.#compute(pod, type, policies);
      this.#profiles.set(key, hit);
      this.computed.profiles++;
    }
    return hit;
  }

  #compute(pod: Pod, type: PolicyType, policies: NetworkPolicy[]): ProfileEntry {
    const grants: Grant[] = [];
    const used: PeerEntry[] = [];
    let scansAllPods = false;
    for (const policy of policies) {
      const rules = type === 'Ingress' ? policy.ingress : policy.egress;
      rules.forEach((rule, i) => {
        if (this.#grants(policy, type, i, rule, pod, grants, used)) scansAllPods = true;
      });
    }
    const direction = type === 'Ingress' ? 'ingress' : 'egress';
    const content = reduce(grants);
    const body = JSON.stringify(content, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v));
    const digest = createHash('sha256').update(body).digest('hex');
    const name = `${direction === 'ingress' ? 'i' : 'e'}-${digest.slice(0, 16)}`;
    return {
      profile: { name, direction, ...content },
      digest,
      policies: policies.map(objectKey),
      peers: used,
      scansAllPods,
    };
  }

  /** Adds a rule's grants; true when it resolved a named port on every pod of the cluster. */
  #grants(
    policy: NetworkPolicy,
    type: PolicyType,
    i: number,
    rule: PolicyRule,
    self: Pod,
    out: Grant[],
    used: PeerEntry[],
  ): boolean {
    const peers = this.#peers(policy, type, i, rule);
    if (peers) used.push(peers);
    if (!rule.ports) {
      out.push(peers?.addrs ? { addrs: peers.addrs } : {});
      return false;
    }
    // Numeric and protocol-only ports mean the same for every destination.
    const fixed = rule.ports
      .filter((p) => typeof p.port !== 'string')
      .flatMap((p) => resolvePort(p, undefined));
    if (fixed.length) out.push(peers?.addrs ? { addrs: peers.addrs, ports: fixed } : { ports: fixed });
    const named = rule.ports.filter((p) => typeof p.port === 'string');
    if (!named.length) return false;
    if (type === 'Ingress') {
      // The destination is the selected pod itself.
      const ports = named.flatMap((p) => resolvePort(p, self));
      if (ports.length) out.push(peers?.addrs ? { addrs: peers.addrs, ports } : { ports });
      return false;
    }
    // Egress: a named port is resolved on each destination pod, so it is granted per pod.
    for (const dest of peers?.pods ?? this.#index.pods()) {
      if (dest.hostNetwork) continue;
      const ports = named.flatMap((p) => resolvePort(p, dest));
      // A pod reached only through an ipBlock is a destination on its addresses inside it only.
      const inBlock = peers?.inBlockOnly?.get(dest);
      const addrs = inBlock ?? podAddrs(this.#index, dest);
      if (ports.length && (addrs[4].length || addrs[6].length)) out.push({ addrs, ports });
    }
    return !peers;
  }

  /**
   * The addresses a rule's peers cover (undefined: all), and the pods among them: a named port
   * resolves on each of those (a pod inside an ipBlock is a destination too).
   */
  #peers(policy: NetworkPolicy, type: PolicyType, i: number, rule: PolicyRule): PeerEntry | undefined {
    if (!rule.peers) return undefined;
    const key = `${objectKey(policy)}\0${type}\0${i}`;
    const hit = this.#peerCache.get(key);
    if (hit) return hit;
    this.computed.peers++;
    const addrs = emptyAddrs();
    const blocks = rule.peers.flatMap((p) => (p.kind === 'ipBlock' ? [ipBlockIntervals(p.ipBlock)] : []));
    for (const b of blocks) addrs[b.family].push(...b.set.intervals);
    // By identity: the index holds one object per pod, and a key per pod would cost a string each.
    const matched = new Set<Pod>();
    for (const peer of rule.peers) {
      if (peer.kind !== 'pods') continue;
      for (const pod of this.#index.podsOfPeer(peer, policy.namespace)) {
        if (pod.ips.length === 0) continue;
        matched.add(pod);
        podAddrs(this.#index, pod, addrs);
      }
    }
    const namedEgress = type === 'Egress' && rule.ports?.some((p) => typeof p.port === 'string');
    const scansAllPods = Boolean(namedEgress && blocks.length);
    const inBlockOnly = new Map<Pod, Addrs>();
    if (scansAllPods) {
      for (const pod of this.#index.pods()) {
        if (pod.hostNetwork || matched.has(pod)) continue;
        const inside = emptyAddrs();
        for (const ip of this.#index.addressesOf(pod)) {
          if (blocks.some((b) => b.family === ip.family && b.set.has(ip.value)))
            inside[ip.family].push({ lo: ip.value, hi: ip.value });
        }
        if (!inside[4].length && !inside[6].length) continue;
        matched.add(pod);
        inBlockOnly.set(pod, inside);
      }
    }
    const result: PeerEntry = { addrs, pods: [...matched], inBlockOnly, policy, rule, scansAllPods };
    this.#peerCache.set(key, result);
    return result;
  }
}

function profileKey(pod: Pod, type: PolicyType, policies: readonly NetworkPolicy[]): string {
  return `${type}\0${policies.map(objectKey).join('\0')}${type === 'Ingress' ? `\0${JSON.stringify(pod.ports)}` : ''}`;
}

/** Turns grants into the profile's three disjoint, sorted set contents. */
function reduce(grants: readonly Grant[]): Omit<Profile, 'name' | 'direction'> {
  const acceptAll = grants.some((g) => !g.addrs && !g.ports);
  const addrs = { 4: [] as Interval[], 6: [] as Interval[] };
  const addrPorts = { 4: [] as AddrPortElement[], 6: [] as AddrPortElement[] };
  if (acceptAll) return { acceptAll, addrs, ports: [], addrPorts };
  for (const f of FAMILIES) {
    addrs[f] = [...new IntervalSet(grants.flatMap((g) => (g.addrs && !g.ports ? g.addrs[f] : []))).intervals];
  }
  const ports = mergePorts(grants.flatMap((g) => (!g.addrs && g.ports ? g.ports : [])));
  for (const f of FAMILIES) {
    const pairs = grants.filter((g) => g.addrs && g.ports && g.addrs[f].length > 0);
    addrPorts[f] = disjointPairs(pairs.map((g) => ({ addrs: g.addrs![f], ports: g.ports! })));
  }
  return { acceptAll, addrs, ports, addrPorts };
}

function mergePorts(ranges: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  for (const protocol of PROTOCOLS) {
    const set = new IntervalSet(
      ranges.filter((r) => r.protocol === protocol).map((r) => ({ lo: BigInt(r.lo), hi: BigInt(r.hi) })),
    );
    for (const iv of set.intervals) out.push({ protocol, lo: Number(iv.lo), hi: Number(iv.hi) });
  }
  return out;
}

/**
 * Concatenated interval sets refuse overlapping elements, so a union of "these addresses on
 * these ports" grants is cut into port segments (between every range boundary), each with the
 * merged addresses of the grants that cover it; neighbouring segments with equal addresses are
 * joined again.
 */
function disjointPairs(
  grants: readonly { addrs: readonly Interval[]; ports: readonly PortRange[] }[],
): AddrPortElement[] {
  const out: AddrPortElement[] = [];
  for (const protocol of PROTOCOLS) {
    const pieces = grants.flatMap((g) =>
      g.ports.filter((p) => p.protocol === protocol).map((p) => ({ lo: p.lo, hi: p.hi, addrs: g.addrs })),
    );
    if (!pieces.length) continue;
    const cuts = [...new Set(pieces.flatMap((p) => [p.lo, p.hi + 1]))].sort((a, b) => a - b);
    let open: { lo: number; hi: number; addrs: readonly Interval[]; key: string } | undefined;
    const flush = () => {
      if (open)
        for (const a of open.addrs)
          out.push({ lo: a.lo, hi: a.hi, protocol, portLo: open.lo, portHi: open.hi });
      open = undefined;
    };
    for (let k = 0; k + 1 < cuts.length; k++) {
      const lo = cuts[k]!;
      const hi = cuts[k + 1]! - 1;
      const covering = pieces.filter((p) => p.lo <= lo && p.hi >= hi);
      if (!covering.length) {
        flush();
        continue;
      }
      const addrs = new IntervalSet(covering.flatMap((p) => p.addrs)).intervals;
      const key = addrs.map((a) => `${a.lo}-${a.hi}`).join(',');
      if (open && open.key === key && open.hi + 1 === lo) open.hi = hi;
      else {
        flush();
        open = { lo, hi, addrs, key };
      }
    }
    flush();
  }
  return out.sort((a, b) =>
    a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : cmp(a.protocol, b.protocol) || a.portLo - b.portLo,
  );
}
