import {
  namespaceFromK8s,
  networkPolicyFromK8s,
  podFromK8s,
  type ClusterState,
  type NetworkPolicy,
  type Node,
  type Pod,
} from '../src/index.js';

/**
 * The cluster of the upstream e2e suite (test/e2e/network/netpol): namespaces x, y, z, each
 * labelled `ns: <name>`, with pods a, b, c labelled `pod: <name>`, serving TCP and UDP on 80
 * and 81 under the names serve-80-tcp, serve-81-udp, ... Pods a and b of every namespace run
 * on node-1, c on node-2, so every case crosses nodes and stays on one.
 */
export const NAMESPACES = ['x', 'y', 'z'] as const;
export const POD_NAMES = ['a', 'b', 'c'] as const;
export const NODE_OF: Record<string, string> = { a: 'node-1', b: 'node-1', c: 'node-2' };

export const NODES: Node[] = [
  { name: 'node-1', ips: ['192.168.50.1', 'fd00:50::1'] },
  { name: 'node-2', ips: ['192.168.50.2', 'fd00:50::2'] },
];

/** Pod ns/p gets 10.244.<node>.<n> and fd00:244:<node>::<n>, n numbering the pods. */
export function podIps(ns: string, pod: string): [string, string] {
  const node = NODE_OF[pod] === 'node-1' ? 1 : 2;
  const n = 10 + NAMESPACES.indexOf(ns as 'x') * 3 + POD_NAMES.indexOf(pod as 'a');
  return [`10.244.${node}.${n}`, `fd00:244:${node}::${n.toString(16)}`];
}

/** An API object in its JSON shape; only its metadata is typed. */
export interface K8sObject {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}

export function k8sNamespace(name: string, labels: Record<string, string> = { ns: name }): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
  };
}

export function k8sPod(ns: string, name: string, labels: Record<string, string> = { pod: name }): K8sObject {
  const ports = [80, 81].flatMap((port) =>
    (['TCP', 'UDP', 'SCTP'] as const).map((protocol) => ({
      name: `serve-${port}-${protocol.toLowerCase()}`,
      containerPort: port,
      protocol,
    })),
  );
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: ns, name, labels },
    spec: { nodeName: NODE_OF[name], containers: [{ name: 'cont', image: 'agnhost', ports }] },
    status: { phase: 'Running', podIP: podIps(ns, name)[0], podIPs: podIps(ns, name).map((ip) => ({ ip })) },
  };
}

export function upstreamPods(): Pod[] {
  return NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => podFromK8s(k8sPod(ns, p))));
}

/** The upstream cluster's namespaces and pods as API objects, before any relabelling. */
export interface UpstreamObjects {
  namespaces: K8sObject[];
  pods: K8sObject[];
}

export function upstreamObjects(): UpstreamObjects {
  return {
    namespaces: NAMESPACES.map((n) => k8sNamespace(n)),
    pods: NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => k8sPod(ns, p))),
  };
}

/** A NetworkPolicy as the API server stores it (what a test hands an API stand-in). */
export function k8sPolicy(ns: string, name: string, spec: Record<string, unknown>): K8sObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { namespace: ns, name },
    spec,
  };
}

export function policy(ns: string, name: string, spec: Record<string, unknown>): NetworkPolicy {
  return networkPolicyFromK8s(k8sPolicy(ns, name, spec));
}

export function upstreamCluster(policies: NetworkPolicy[] = []): ClusterState {
  return {
    pods: upstreamPods(),
    namespaces: NAMESPACES.map((n) => namespaceFromK8s(k8sNamespace(n))),
    policies,
    nodes: NODES,
  };
}

export const ALL_PODS = NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => `${ns}/${p}`));

/**
 * An expected reachability matrix, built like the upstream suite's `Reachability`: start from
 * everything allowed (or denied), then mark rows, columns and single cells. A pod always
 * reaches itself (loopback never leaves the pod).
 */
export class Reachability {
  readonly #cells = new Map<string, boolean>();

  constructor(initial: boolean) {
    for (const f of ALL_PODS) for (const t of ALL_PODS) this.#cells.set(`${f}>${t}`, initial || f === t);
  }

  expect(from: string, to: string, allowed: boolean): this {
    if (from !== to) this.#cells.set(`${from}>${to}`, allowed);
    return this;
  }

  /** Every pod's traffic into `to`. */
  expectAllIngress(to: string, allowed: boolean): this {
    for (const f of ALL_PODS) this.expect(f, to, allowed);
    return this;
  }

  /** Every pod's traffic out of `from`. */
  expectAllEgress(from: string, allowed: boolean): this {
    for (const t of ALL_PODS) this.expect(from, t, allowed);
    return this;
  }

  get(from: string, to: string): boolean {
    return this.#cells.get(`${from}>${to}`)!;
  }

  /** The matrix as the upstream suite prints it: `.` allowed, `X` denied, rows are sources. */
  static print(get: (from: string, to: string) => boolean): string {
    const rows = [['-', ...ALL_PODS].join('\t')];
    for (const f of ALL_PODS) rows.push([f, ...ALL_PODS.map((t) => (get(f, t) ? '.' : 'X'))].join('\t'));
    return rows.join('\n');
  }
}
