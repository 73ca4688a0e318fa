import {
  deltaApplies,
  NodePlanner,
  podFromK8s,
  renderRuleset,
  renderRulesetDelta,
  type KeyedObjects,
  type NodePlan,
  type Pod,
} from '@minicni/policy';
import { Backoff, sleep } from './backoff.js';
import { AgentError, isAgentError } from './errors.js';
import type { InformerStats } from './informer.js';
import { silentLogger, type Logger } from './node-source.js';
import { DropTotals } from './policy-drops.js';
import { readPolicyDrops, type NftRunner, type PolicyDrops } from './policy-nft.js';
import type { PolicyCaches } from './policy-sources.js';

export interface PolicyControllerOptions {
  nodeName: string;
  caches: PolicyCaches;
  nft: NftRunner;
  /**
   * Read the table's drop counters (`drops()`, for /metrics), with one more `nft -j list
   * counters` before each apply to carry the old table's counts over. Off by default.
   */
  countDrops?: boolean;
  /** Waits after a failed compile or apply; reset by a success. */
  backoff?: Backoff;
  /**
   * Reads one pod from the API (`kubePodGetter(client)`): what `announce` uses when the pods
   * cache does not hold the pod yet. Resolves undefined when the API has no such pod.
   */
  getPod?: (namespace: string, name: string) => Promise<unknown>;
  /**
   * How long an announced address stands in for the API's `status.podIPs` at most (default
   * 2 min): until the pods cache shows the pod with those addresses, or shows it gone.
   */
  announcedTtlMs?: number;
  logger?: Logger;
  /**
   * Replace the whole table at least this often (default 5 minutes; a timer wakes the worker
   * when nothing else does), even when deltas would do: it repairs a table changed behind the
   * agent's back. Every pass after a failed one is full too.
   */
  fullEveryMs?: number;
  /** Clock for `fullEveryMs` (tests). */
  now?: () => number;
}

/** What a plugin announces at ADD (the hand-off's `PodAnnouncement`). */
export interface AnnouncedPod {
  namespace: string;
  name: string;
  ips: readonly string[];
}

interface Announcement {
  pod: Pod;
  expires: number;
  /** The pods cache has held the pod since: its leaving the cache means the pod was deleted. */
  seen: boolean;
}

interface Waiter {
  gen: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** What /metrics reports about policy enforcement. */
export interface PolicyStatus extends PolicyCounters {
  /** Every cache listed once and this node's addresses known: a ruleset can be compiled. */
  synced: boolean;
  /** Changes seen and not yet in the kernel: waiting, or in the sync now in flight. */
  pending: number;
  policies: number;
  informers: Record<PolicyResource, InformerStats>;
  /**
   * Per resource, the API resourceVersion the ruleset in force reflects: what the caches held
   * when the last successful sync compiled, or what they hold now when nothing is pending and
   * no sync runs (the ruleset then equals what they mean). A client that wrote an object at
   * version V knows this node enforces it once the version here reaches V. Absent before the
   * first successful sync, and for a cache that does not know its version.
   */
  syncedResourceVersions: Partial<Record<PolicyResource, string>>;
}

export type PolicyResource = 'pods' | 'namespaces' | 'policies';

/** The controller's own counters. */
interface PolicyCounters {
  applies: number;
  /** Of those, whole-table replacements (the rest were deltas). */
  fullApplies: number;
  applyFailures: number;
  /** Compile (+ apply when the text changed) passes that succeeded, and their total time. */
  syncs: number;
  syncSecondsTotal: number;
  lastSyncSeconds?: number;
  lastAppliedMs?: number;
  /** Successful sync durations: counts per bucket of `SYNC_BUCKETS` (not cumulative), the last for +Inf. */
  syncBuckets: number[];
}

/** Upper bounds (seconds) of the sync duration histogram in /metrics. */
export const SYNC_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Keeps table inet minicni-policy equal to what the cluster's NetworkPolicies mean for this
 * node. Every change only counts as pending and wakes one worker: a burst is one compile, one
 * apply is in flight at a time, and each pass compiles the latest state, incrementally
 * (`NodePlanner`), and applies only what differs from the applied plan as one atomic nft
 * transaction (`renderRulesetDelta`); the first pass, the pass after a failure and one every
 * `fullEveryMs` replace the whole table. Nothing is applied
 * before every cache has listed once and this node's addresses are known (a partial snapshot
 * would open isolated pods). A failed compile or apply keeps the ruleset the kernel has and is
 * retried with backoff; the table is never dropped to "open" here.
 */
export class PolicyController {
  readonly #o: PolicyControllerOptions;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  readonly #stop = new AbortController();
  #nodeIps: readonly string[] = [];
  #podCidrs: readonly string[] = [];
  readonly #announced = new Map<string, Announcement>();
  /** Bumped by every change; a pass records the generation it compiled. */
  #gen = 0;
  #waiters: Waiter[] = [];
  #pending = 0;
  /** Changes taken by the pass in flight: pending until it has applied. */
  #inFlight = 0;
  readonly #drops: DropTotals | undefined;
  #worker: Promise<void> | undefined;
  readonly #planner: NodePlanner;
  /** The plan the kernel holds, when the last apply succeeded: deltas are computed against it. */
  #applied: NodePlan | undefined;
  #lastFullMs = 0;
  #fullTimer: ReturnType<typeof setInterval> | undefined;
  #syncedVersions: Partial<Record<PolicyResource, string>> = {};
  readonly #status: PolicyCounters = {
    applies: 0,
    fullApplies: 0,
    applyFailures: 0,
    syncs: 0,
    syncSecondsTotal: 0,
    syncBuckets: SYNC_BUCKETS.map(() => 0).concat(0),
  };

  constructor(opts: PolicyControllerOptions) {
    this.#o = opts;
    this.#log = opts.logger ?? silentLogger;
    this.#backoff = opts.backoff ?? new Backoff();
    this.#planner = new NodePlanner(opts.nodeName);
    this.#drops = opts.countDrops ? new DropTotals(() => readPolicyDrops(opts.nft)) : undefined;
  }

  /**
   * Packets and bytes the policy table dropped since this controller started (carried across
   * ruleset replacements); undefined when `countDrops` is off or the counters cannot be read
   * (logged).
   */
  async drops(): Promise<PolicyDrops | undefined> {
    if (!this.#drops) return undefined;
    try {
      return await this.#drops.totals();
    } catch (e) {
      this.#log('warn', 'cannot read the policy drop counters', { error: (e as Error).message });
      return undefined;
    }
  }

  start(): void {
    const { pods, namespaces, policies } = this.#o.caches;
    for (const c of [pods, namespaces, policies]) c.start(() => this.changed());
    // 0: every pass loads the whole table, and no timer is needed to bring one.
    const every = this.#fullEveryMs;
    if (every > 0) {
      this.#fullTimer = setInterval(() => this.changed(), every);
      this.#fullTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    for (const w of this.#waiters.splice(0)) w.reject(new AgentError('POLICY', 'the agent is stopping'));
    clearInterval(this.#fullTimer);
    const { pods, namespaces, policies } = this.#o.caches;
    await Promise.all([pods.stop(), namespaces.stop(), policies.stop()]);
    await this.#worker;
  }

  /** This node's own addresses (its Node's InternalIPs): always allowed to and from its pods. */
  setNodeIps(ips: readonly string[]): void {
    if (ips.join(',') === this.#nodeIps.join(',')) return;
    this.#nodeIps = [...ips];
    this.changed();
  }

  /**
   * This node's pod CIDRs: with policy on, an address inside them that no known pod holds is
   * dropped (fail closed), so a pod the agent has not heard of yet is isolated, never open.
   */
  setPodCidrs(cidrs: readonly string[]): void {
    if (cidrs.join(',') === this.#podCidrs.join(',')) return;
    this.#podCidrs = [...cidrs];
    this.changed();
  }

  /** Something changed: count it and make sure a worker will compile the latest state. */
  changed(): void {
    this.#pending++;
    this.#gen++;
    this.#wake();
  }

  /**
   * A plugin's ADD hand-off: `namespace/name` now holds `ips` on this node, which the API may
   * not report yet. Its labels and ports come from the pods cache, else from one GET (a pod the
   * API does not have is recorded without labels); the addresses are recorded as the pod's
   * until the cache shows them. Resolves once a ruleset that includes the pod is in the
   * kernel; rejects (AgentError POLICY) when the pod cannot be read or the agent stops.
   */
  async announce(a: AnnouncedPod): Promise<void> {
    if (this.#stop.signal.aborted) throw new AgentError('POLICY', 'the agent is stopping');
    const key = `${a.namespace}/${a.name}`;
    const cached = this.#o.caches.pods.items.get(key);
    const podIPs = a.ips.map((ip) => ({ ip }));
    let pod: Pod;
    try {
      if (cached) {
        const { ips } = podFromK8s({
          metadata: { namespace: a.namespace, name: a.name },
          status: { podIPs },
        });
        pod = { ...cached, ips, node: this.#o.nodeName };
      } else {
        const raw = (await this.#o.getPod?.(a.namespace, a.name)) as Record<string, unknown> | undefined;
        const spec = (raw?.spec as Record<string, unknown> | undefined) ?? {};
        pod = podFromK8s({
          metadata: raw?.metadata ?? { namespace: a.namespace, name: a.name },
          // The API's phase and status.podIPs lag behind this ADD: the plugin's word stands.
          spec: { ...spec, nodeName: this.#o.nodeName, hostNetwork: false },
          status: { podIPs },
        });
      }
    } catch (e) {
      throw new AgentError('POLICY', `pod ${key}: ${(e as Error).message}`, { cause: e });
    }
    const ttl = this.#o.announcedTtlMs ?? 120_000;
    this.#announced.set(key, { pod, expires: Date.now() + ttl, seen: cached !== undefined });
    // Its expiry is a change too (the stand-in leaves the ruleset).
    setTimeout(() => this.changed(), ttl + 10).unref();
    this.#log('info', 'pod announced by the plugin', { pod: key, ips: pod.ips });
    this.changed();
    const gen = this.#gen;
    // Stopped while the GET was out: nothing will apply any more.
    if (this.#stop.signal.aborted) throw new AgentError('POLICY', 'the agent is stopping');
    await new Promise<void>((resolve, reject) => this.#waiters.push({ gen, resolve, reject }));
  }

  /** Resolves once nothing is pending and no worker runs (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#worker) await this.#worker;
  }

  get synced(): boolean {
    const { pods, namespaces, policies } = this.#o.caches;
    return pods.synced && namespaces.synced && policies.synced && this.#nodeIps.length > 0;
  }

  get status(): PolicyStatus {
    const c = this.#o.caches;
    const zero = { lists: 0, pages: 0, watches: 0, gone: 0, failures: 0 };
    const settled =
      this.#applied !== undefined && this.#pending === 0 && this.#inFlight === 0 && !this.#worker;
    return {
      ...this.#status,
      syncBuckets: [...this.#status.syncBuckets],
      synced: this.synced,
      pending: this.#pending + this.#inFlight,
      policies: c.policies.items.size,
      informers: {
        pods: { ...(c.pods.stats ?? zero) },
        namespaces: { ...(c.namespaces.stats ?? zero) },
        policies: { ...(c.policies.stats ?? zero) },
      },
      syncedResourceVersions: settled ? this.#cacheVersions() : { ...this.#syncedVersions },
    };
  }

  get #fullEveryMs(): number {
    return this.#o.fullEveryMs ?? 300_000;
  }

  #wake(): void {
    if (this.#worker || this.#stop.signal.aborted || !this.synced) return;
    this.#worker = this.#drain().finally(() => {
      this.#worker = undefined;
      // A change that landed after the last loop check but before this point.
      if (this.#pending > 0) this.#wake();
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending > 0 && !this.#stop.signal.aborted) {
      // Let a burst of events already queued land first: they all go into this one pass.
      await new Promise((r) => setImmediate(r));
      const taken = this.#pending;
      const gen = this.#gen;
      this.#pending = 0;
      this.#inFlight = taken;
      const started = performance.now();
      // The caches cannot change during the synchronous compile: these are the versions it saw.
      const versions = this.#cacheVersions();
      try {
        const plan = this.#plan();
        const now = (this.#o.now ?? Date.now)();
        const full =
          !this.#applied || !deltaApplies(this.#applied, plan) || now - this.#lastFullMs >= this.#fullEveryMs;
        const text = full ? renderRuleset(plan) : renderRulesetDelta(this.#applied!, plan);
        if (text) {
          this.#status.applies++;
          if (full) this.#status.fullApplies++;
          // Until this apply is known to have landed, the kernel's table is unknown: a failure
          // makes the next pass replace it whole.
          this.#applied = undefined;
          await this.#apply(text, full);
          if (full) this.#lastFullMs = now;
          this.#status.lastAppliedMs = Date.now();
        }
        this.#applied = plan;
        this.#inFlight = 0;
        const secs = (performance.now() - started) / 1000;
        this.#status.syncs++;
        this.#status.syncSecondsTotal += secs;
        this.#status.lastSyncSeconds = secs;
        const bucket = SYNC_BUCKETS.findIndex((le) => secs <= le);
        this.#status.syncBuckets[bucket < 0 ? SYNC_BUCKETS.length : bucket]!++;
        this.#syncedVersions = versions;
        this.#backoff.reset();
        // Every announcement made before this pass's compile is now in the kernel.
        const done = this.#waiters.filter((w) => w.gen <= gen);
        this.#waiters = this.#waiters.filter((w) => w.gen > gen);
        for (const w of done) w.resolve();
      } catch (e) {
        this.#status.applyFailures++;
        this.#inFlight = 0;
        this.#pending += taken;
        const delay = this.#backoff.next();
        this.#log('error', 'network policy sync failed; the previous ruleset stays in force', {
          error: (e as Error).message,
          code: isAgentError(e) ? e.code : (e as { code?: string }).code,
          retryInMs: delay,
        });
        await sleep(delay, this.#stop.signal);
      }
    }
  }

  #cacheVersions(): Partial<Record<PolicyResource, string>> {
    const out: Partial<Record<PolicyResource, string>> = {};
    for (const r of ['pods', 'namespaces', 'policies'] as const) {
      const v = this.#o.caches[r].resourceVersion;
      if (v) out[r] = v;
    }
    return out;
  }

  /**
   * One nft transaction. A whole-table load replaces the table and zeroes its drop counters, so
   * with `countDrops` they are read (and carried) just before; a delta keeps them counting.
   */
  #apply(text: string, full: boolean): Promise<unknown> {
    const apply = () => this.#o.nft(['-f', '-'], text);
    if (!this.#drops || !full) return apply();
    return this.#drops.replacing(apply, (e) =>
      this.#log('warn', 'cannot read the policy drop counters before an apply; those drops are not carried', {
        error: (e as Error).message,
      }),
    );
  }

  /**
   * This node's plan from the caches. The planner keeps what earlier passes computed and redoes
   * only what the changed objects touch (the caches replace an object only when it changed).
   */
  #plan(): NodePlan {
    const { pods, namespaces, policies } = this.#o.caches;
    const state = {
      pods: this.#pods(pods.items),
      namespaces: namespaces.items,
      policies: policies.items,
      nodes: [{ name: this.#o.nodeName, ips: this.#nodeIps }],
    };
    return this.#planner.plan(state, { nodeIps: this.#nodeIps, podCidrs: this.#podCidrs });
  }

  /** The cached pods, with what plugins announced standing in where the API lags. */
  #pods(items: ReadonlyMap<string, Pod>): KeyedObjects<Pod> {
    if (this.#announced.size === 0) return items;
    const now = Date.now();
    const over = new Map<string, Pod>();
    const owner = new Map<string, string>();
    for (const [key, a] of this.#announced) {
      const cached = items.get(key);
      if (cached) a.seen = true;
      const caughtUp = cached && cached.ips.join(',') === a.pod.ips.join(',');
      if (caughtUp || now > a.expires || (!cached && a.seen)) {
        this.#announced.delete(key);
        continue;
      }
      over.set(key, cached ? { ...cached, ips: a.pod.ips, node: a.pod.node } : a.pod);
      for (const ip of a.pod.ips) owner.set(ip, key);
    }
    if (over.size === 0) return items;
    // An address just given to an announced pod is its own, not that of a pod the cache still
    // lists with it (deleted, its address reused). The announced pods are few: a scan of the
    // cache for their addresses is cheaper than a copy of it.
    for (const [key, pod] of items) {
      if (over.has(key) || !pod.ips.some((ip) => owner.has(ip) && owner.get(ip) !== key)) continue;
      over.set(key, { ...pod, ips: pod.ips.filter((ip) => !owner.has(ip) || owner.get(ip) === key) });
    }
    return overlay(items, over);
  }
}

/**
 * `items` with the entries of `over` put on top, without copying `items` (the pods cache of a
 * large cluster holds 150,000 entries; the announced pods are a handful).
 */
function overlay<T>(items: ReadonlyMap<string, T>, over: ReadonlyMap<string, T>): KeyedObjects<T> {
  let added = 0;
  for (const key of over.keys()) if (!items.has(key)) added++;
  return {
    size: items.size + added,
    get: (key) => over.get(key) ?? items.get(key),
    has: (key) => over.has(key) || items.has(key),
    *[Symbol.iterator]() {
      for (const [key, item] of items) yield [key, over.get(key) ?? item];
      for (const entry of over) if (!items.has(entry[0])) yield entry;
    },
  };
}
