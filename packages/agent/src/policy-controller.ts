import { compileNodeRuleset } from '@minicni/policy';
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
}

/** What /metrics reports about policy enforcement. */
export interface PolicyStatus extends PolicyCounters {
  /** Every cache listed once and this node's addresses known: a ruleset can be compiled. */
  synced: boolean;
  /** Changes seen and not yet in an applied ruleset. */
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
 * apply is in flight at a time, and each pass compiles the latest state. Nothing is applied
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
  #lastText: string | undefined;
  #syncedVersions: Partial<Record<PolicyResource, string>> = {};
  readonly #status: PolicyCounters = { applies: 0, applyFailures: 0, syncs: 0, syncSecondsTotal: 0 };

  constructor(opts: PolicyControllerOptions) {
    this.#o = opts;
    this.#log = opts.logger ?? silentLogger;
    this.#backoff = opts.backoff ?? new Backoff();
  }

  start(): void {
    const { pods, namespaces, policies } = this.#o.caches;
    for (const c of [pods, namespaces, policies]) c.start(() => this.changed());
  }

  async stop(): Promise<void> {
    this.#stop.abort();
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
    const settled = this.#lastText !== undefined && this.#pending === 0 && !this.#worker;
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
      syncedResourceVersions: settled ? this.#cacheVersions() : { ...this.#syncedVersions },
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
      // The caches cannot change during the synchronous compile: these are the versions it saw.
      const versions = this.#cacheVersions();
      try {
        const text = this.#compile();
        if (text !== this.#lastText) {
          this.#status.applies++;
          await this.#o.nft(['-f', '-'], text);
          this.#lastText = text;
          this.#status.lastAppliedMs = Date.now();
        }
        const secs = (performance.now() - started) / 1000;
        this.#status.syncs++;
        this.#status.syncSecondsTotal += secs;
        this.#status.lastSyncSeconds = secs;
        this.#syncedVersions = versions;
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

  #cacheVersions(): Partial<Record<PolicyResource, string>> {
    const out: Partial<Record<PolicyResource, string>> = {};
    for (const r of ['pods', 'namespaces', 'policies'] as const) {
      const v = this.#o.caches[r].resourceVersion;
      if (v) out[r] = v;
    }
    return out;
  }

  #compile(): string {
    const { pods, namespaces, policies } = this.#o.caches;
    const state = {
      pods: [...pods.items.values()],
      namespaces: [...namespaces.items.values()],
      policies: [...policies.items.values()],
      nodes: [{ name: this.#o.nodeName, ips: this.#nodeIps }],
    };
    return compileNodeRuleset(state, this.#o.nodeName, { nodeIps: this.#nodeIps });
  }
}
