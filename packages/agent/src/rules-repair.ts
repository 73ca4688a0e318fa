import { readFile } from 'node:fs/promises';
import { ensureNodeRules, nodeEnv, parseBridgeConfig, type NodeRulesSpec, type RulesExec } from 'minicni';
import type { Logger } from './node-source.js';

/**
 * The plugin ensures the node's forwarding and masquerade rules on the first ADD and then trusts
 * a stamp, so no pod ADD pays for them. Something else may flush them later (a firewall reload):
 * the agent re-ensures them periodically from the installed conflist, so they heal within one period.
 */
export class RulesRepair {
  #timer: NodeJS.Timeout | undefined;
  #last: string | undefined;
  readonly #confPath: string;
  readonly #everyMs: number;
  readonly #exec: RulesExec;
  readonly #log: Logger;

  constructor(opts: { confPath: string; everyMs?: number; exec?: RulesExec; logger: Logger }) {
    this.#confPath = opts.confPath;
    this.#everyMs = opts.everyMs ?? 10_000;
    this.#exec = opts.exec ?? nodeEnv().rulesExec;
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

  /** Ensures the rules once; returns the spec used, or undefined when the conflist has no minicni. */
  async repairOnce(): Promise<NodeRulesSpec | undefined> {
    const spec = rulesFromConflist(await readFile(this.#confPath, 'utf8'));
    if (!spec) return undefined;
    const spawned = await ensureNodeRules(spec, this.#exec);
    const key = JSON.stringify(spec);
    if (key !== this.#last || spawned > 1)
      this.#log('info', 'node rules ensured', { network: spec.network, repaired: spawned > 1 });
    this.#last = key;
    return spec;
  }
}

/** The node rules the minicni entry of a conflist asks for (undefined when it has none). */
export function rulesFromConflist(text: string): NodeRulesSpec | undefined {
  const list = JSON.parse(text) as { name?: unknown; plugins?: unknown };
  const plugins = Array.isArray(list.plugins) ? (list.plugins as Record<string, unknown>[]) : [];
  const entry = plugins.find((p) => p.type === 'minicni');
  if (!entry || typeof list.name !== 'string') return undefined;
  const cfg = parseBridgeConfig(entry);
  if (cfg.ipam.kind !== 'builtin') return undefined;
  const s = cfg.ipam.section;
  const subnets: string[] = [];
  if (typeof s.subnet === 'string') subnets.push(s.subnet);
  if (Array.isArray(s.ranges)) {
    for (const set of s.ranges as { subnet?: unknown }[][]) {
      for (const r of Array.isArray(set) ? set : []) if (typeof r.subnet === 'string') subnets.push(r.subnet);
    }
  }
  if (!subnets.length) return undefined;
  return {
    network: list.name,
    podCidrs: [...new Set(subnets)],
    ...(cfg.clusterCidrs ? { noMasqCidrs: cfg.clusterCidrs } : {}),
    masquerade: cfg.ipMasq,
  };
}
