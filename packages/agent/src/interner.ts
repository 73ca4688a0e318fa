import type { ContainerPort, Labels, Pod } from '@minicni/policy';

/**
 * Shares what many pods hold alike, so that a cache of 150,000 pods holds each namespace and node
 * name once, and each distinct label set and port list once (a Deployment's replicas carry one
 * label set), instead of a copy per pod from every parsed API object. Shared values are frozen.
 * The tables are bounded: past `limit` entries one is started afresh (values already handed out
 * stay valid, later ones are shared again), so a cluster's churn cannot grow them for ever.
 */
export class Interner {
  readonly #limit: number;
  #strings = new Map<string, string>();
  #labels = new Map<string, Labels>();
  #ports = new Map<string, readonly ContainerPort[]>();

  constructor(opts: { limit?: number } = {}) {
    this.#limit = opts.limit ?? 200_000;
  }

  /** Entries held, for tests and /metrics. */
  get size(): number {
    return this.#strings.size + this.#labels.size + this.#ports.size;
  }

  string(s: string): string {
    const hit = this.#strings.get(s);
    if (hit !== undefined) return hit;
    if (this.#strings.size >= this.#limit) this.#strings = new Map();
    this.#strings.set(s, s);
    return s;
  }

  labels(labels: Labels): Labels {
    // Keys are sorted by the converters: equal sets give equal text.
    let key = '';
    for (const k in labels) key += `${k}\u0000${labels[k]}\u0000`;
    const hit = this.#labels.get(key);
    if (hit) return hit;
    if (this.#labels.size >= this.#limit) this.#labels = new Map();
    const shared: Record<string, string> = {};
    for (const k in labels) shared[this.string(k)] = this.string(labels[k]!);
    Object.freeze(shared);
    this.#labels.set(key, shared);
    return shared;
  }

  ports(ports: readonly ContainerPort[]): readonly ContainerPort[] {
    const key = ports.map((p) => `${p.name}/${p.port}/${p.protocol}`).join(',');
    const hit = this.#ports.get(key);
    if (hit) return hit;
    if (this.#ports.size >= this.#limit) this.#ports = new Map();
    const shared = Object.freeze(ports.map((p) => Object.freeze({ ...p, name: this.string(p.name) })));
    this.#ports.set(key, shared);
    return shared;
  }

  /** The same pod with its shared parts taken from the tables. */
  pod(p: Pod): Pod {
    const out: Pod = {
      namespace: this.string(p.namespace),
      name: p.name,
      labels: this.labels(p.labels),
      ips: p.ips,
      node: this.string(p.node),
      ports: this.ports(p.ports),
    };
    return p.hostNetwork ? { ...out, hostNetwork: true } : out;
  }
}
