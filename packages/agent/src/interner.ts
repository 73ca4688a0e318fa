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
  /** Label sets by hash: one set, or the sets that share the hash. */
  #labels = new Map<number, Labels | readonly Labels[]>();
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
    // Found by a hash of the entries, not by a text key: 50,000 distinct label sets (one per
    // ReplicaSet) would hold 50,000 key strings as long as the sets themselves.
    const hash = labelsHash(labels);
    const hit = this.#labels.get(hash);
    if (hit !== undefined) {
      if (!Array.isArray(hit)) {
        if (sameLabels(hit as Labels, labels)) return hit as Labels;
      } else {
        for (const l of hit as Labels[]) if (sameLabels(l, labels)) return l;
      }
    }
    if (this.#labels.size >= this.#limit) this.#labels = new Map();
    const shared: Record<string, string> = {};
    for (const k in labels) shared[this.string(k)] = this.string(labels[k]!);
    Object.freeze(shared);
    const bucket = this.#labels.get(hash);
    // Two sets with one hash (rare) share a bucket.
    if (bucket === undefined) this.#labels.set(hash, shared);
    else
      this.#labels.set(
        hash,
        Array.isArray(bucket) ? [...(bucket as Labels[]), shared] : [bucket as Labels, shared],
      );
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

/** FNV-1a (32 bits) over the entries, in their order (the converters sort the keys). */
function labelsHash(labels: Labels): number {
  let h = 0x811c9dc5;
  for (const k in labels) h = fnv(fnv(h, k), labels[k]!);
  return h >>> 0;
}

/** Mixes a text and a separator into the hash. */
function fnv(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ 0xffff, 0x01000193);
}

function sameLabels(a: Labels, b: Labels): boolean {
  let n = 0;
  for (const k in b) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  return Object.keys(a).length === n;
}
