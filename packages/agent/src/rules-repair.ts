import { statSync } from 'node:fs';
import {
  DEFAULT_RULES_DIR,
  ensureNodeRules,
  familyOf,
  readRulesRecords,
  spawnRulesExec,
  type NodeRulesSpec,
  type RulesExec,
} from '@minicni/netfilter';
import type { Logger } from './node-source.js';

/**
 * The plugin ensures the node's forwarding and masquerade rules on the first ADD and then trusts
 * its record of them (a @minicni/netfilter rules record), so no pod ADD pays for them. Something
 * else may flush them later (a firewall reload): the agent re-ensures, periodically, what the
 * records of its own node netns say, so they heal within one period. It reads no plugin config:
 * the records hold the specs the plugin computed.
 */
export class RulesRepair {
  #timer: NodeJS.Timeout | undefined;
  #last: string | undefined;
  readonly #dir: string;
  readonly #netns: string;
  readonly #everyMs: number;
  readonly #exec: RulesExec;
  readonly #log: Logger;

  constructor(opts: { dir?: string; netns?: string; everyMs?: number; exec?: RulesExec; logger: Logger }) {
    this.#dir = opts.dir ?? DEFAULT_RULES_DIR;
    this.#netns = opts.netns ?? '/proc/self/ns/net';
    this.#everyMs = opts.everyMs ?? 10_000;
    this.#exec = opts.exec ?? spawnRulesExec();
    this.#log = opts.logger;
  }

  start(): void {
    const tick = () => {
      this.repairOnce()
        .catch((e: unknown) => this.#log('warn', 'node rules repair failed', { error: (e as Error).message }))
        .finally(() => {
          if (this.#timer !== undefined) this.#timer = setTimeout(tick, this.#everyMs).unref();
        });
    };
    this.#timer = setTimeout(tick, 0).unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Ensures the recorded rules once; returns the specs it ensured (none before the first ADD). */
  async repairOnce(): Promise<NodeRulesSpec[]> {
    const specs = readRulesRecords(this.#dir, statSync(this.#netns).ino);
    for (const spec of specs) {
      const spawned = await ensureNodeRules(spec, this.#exec);
      const repaired = spawned > new Set(spec.podCidrs.map(familyOf)).size;
      if (repaired) this.#log('info', 'node rules repaired', { network: spec.network });
    }
    const key = JSON.stringify(specs);
    if (key !== this.#last)
      this.#log('info', 'node rules watched', { networks: specs.map((s) => s.network) });
    this.#last = key;
    return specs;
  }
}
