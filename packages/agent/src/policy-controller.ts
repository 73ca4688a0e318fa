import { NodePlanner, renderRuleset, renderRulesetDelta, type NodePlan } from '@minicni/policy';
import { Backoff, sleep } from './backoff.js';
import { isAgentError } from './errors.js';
import type { InformerStats } from './informer.js';
import { silentLogger, type Logger } from './node-source.js';
import type { NftRunner } from './policy-nft.js';
import type { PolicyCaches } from './policy-sources.js';

export interface PolicyControllerOptions {
  nodeName: string;
  caches: PolicyCaches;
  nft: NftRunner;
  /** Waits after a failed compile or apply; reset by a success. */
  backoff?: Backoff;
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

/** What /metrics reports about policy enforcement. */
export interface PolicyStatus extends PolicyCounters {
  /** Every cache listed once and this node's addresses known: a ruleset can be compiled. */
  synced: boolean;
  /** Changes seen and not yet in an applied ruleset. */
  pending: number;
  policies: number;
  informers: Record<'pods' | 'namespaces' | 'policies', InformerStats>;
}

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
}

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
  #pending = 0;
  #worker: Promise<void> | undefined;
  readonly #planner: NodePlanner;
  /** The plan the kernel holds, when the last apply succeeded: deltas are computed against it. */
  #applied: NodePlan | undefined;
  #lastFullMs = 0;
  #fullTimer: ReturnType<typeof setInterval> | undefined;
  readonly #status: PolicyCounters = {
    applies: 0,
    fullApplies: 0,
    applyFailures: 0,
    syncs: 0,
    syncSecondsTotal: 0,
  };

  constructor(opts: PolicyControllerOptions) {
    this.#o = opts;
    this.#log = opts.logger ?? silentLogger;
    this.#backoff = opts.backoff ?? new Backoff();
    this.#planner = new NodePlanner(opts.nodeName);
  }

  start(): void {
    const { pods, namespaces, policies } = this.#o.caches;
    for (const c of [pods, namespaces, policies]) c.start(() => this.changed());
    this.#fullTimer = setInterval(() => this.changed(), this.#o.fullEveryMs ?? 300_000);
    this.#fullTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
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

  /** Something changed: count it and make sure a worker will compile the latest state. */
  changed(): void {
    this.#pending++;
    this.#wake();
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
    const zero = { lists: 0, watches: 0, gone: 0, failures: 0 };
    return {
      ...this.#status,
      synced: this.synced,
      pending: this.#pending,
      policies: c.policies.items.size,
      informers: {
        pods: { ...(c.pods.stats ?? zero) },
        namespaces: { ...(c.namespaces.stats ?? zero) },
        policies: { ...(c.policies.stats ?? zero) },
      },
    };
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
      this.#pending = 0;
      const started = performance.now();
      try {
        const plan = this.#plan();
        const now = (this.#o.now ?? Date.now)();
        const full = !this.#applied || now - this.#lastFullMs >= (this.#o.fullEveryMs ?? 300_000);
        const text = full ? renderRuleset(plan) : renderRulesetDelta(this.#applied!, plan);
        if (text) {
          this.#status.applies++;
          if (full) this.#status.fullApplies++;
          // Until this apply is known to have landed, the kernel's table is unknown: a failure
          // makes the next pass replace it whole.
          this.#applied = undefined;
          await this.#o.nft(['-f', '-'], text);
          if (full) this.#lastFullMs = now;
          this.#status.lastAppliedMs = Date.now();
        }
        this.#applied = plan;
        const secs = (performance.now() - started) / 1000;
        this.#status.syncs++;
        this.#status.syncSecondsTotal += secs;
        this.#status.lastSyncSeconds = secs;
        this.#backoff.reset();
      } catch (e) {
        this.#status.applyFailures++;
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

  /**
   * This node's plan from the caches. The planner keeps what earlier passes computed and redoes
   * only what the changed objects touch (the caches replace an object only when it changed).
   */
  #plan(): NodePlan {
    const { pods, namespaces, policies } = this.#o.caches;
    const state = {
      pods: [...pods.items.values()],
      namespaces: [...namespaces.items.values()],
      policies: [...policies.items.values()],
      nodes: [{ name: this.#o.nodeName, ips: this.#nodeIps }],
    };
    return this.#planner.plan(state, { nodeIps: this.#nodeIps });
  }
}
