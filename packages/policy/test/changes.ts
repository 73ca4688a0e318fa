import fc from 'fast-check';
import {
  namespaceFromK8s,
  objectKey,
  podFromK8s,
  type ClusterState,
  type NetworkPolicy,
  type Pod,
} from '../src/index.js';
import {
  clusterArb,
  labelsArb,
  NAMESPACE_NAMES,
  namedPortsArb,
  NODE_NAMES,
  policiesArb,
} from './arbitraries.js';

/**
 * One change to a cluster, as a watch event brings it: a pod's labels, ports or address change,
 * a pod comes or goes, a namespace's labels change, a policy is added, replaced or deleted.
 * Applying one replaces only the objects it touches: every other object keeps its identity, as
 * an informer's cache keeps it.
 */
export type Change =
  | { kind: 'podLabels'; i: number; labels: Record<string, string> }
  | { kind: 'podPorts'; i: number; ports: { name: string; containerPort: number; protocol?: string }[] }
  | { kind: 'podMove'; i: number; ip: number }
  | { kind: 'podDelete'; i: number }
  | {
      kind: 'podAdd';
      ns: number;
      node: number;
      ip: number;
      labels: Record<string, string>;
      ports: { name: string; containerPort: number; protocol?: string }[];
    }
  | { kind: 'nsLabels'; ns: number; labels: Record<string, string> }
  | { kind: 'policyPut'; policy: NetworkPolicy }
  | { kind: 'policyDelete'; i: number };

const changeArb: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ kind: fc.constant('podLabels' as const), i: fc.nat(), labels: labelsArb }),
  fc.record({ kind: fc.constant('podPorts' as const), i: fc.nat(), ports: namedPortsArb }),
  fc.record({ kind: fc.constant('podMove' as const), i: fc.nat(), ip: fc.integer({ min: 100, max: 120 }) }),
  fc.record({ kind: fc.constant('podDelete' as const), i: fc.nat() }),
  fc.record({
    kind: fc.constant('podAdd' as const),
    ns: fc.nat(2),
    node: fc.nat(1),
    ip: fc.integer({ min: 100, max: 120 }),
    labels: labelsArb,
    ports: namedPortsArb,
  }),
  fc.record({ kind: fc.constant('nsLabels' as const), ns: fc.nat(2), labels: labelsArb }),
  // A policy drawn alone is named pol0: it replaces pol0 of its namespace or adds one there.
  policiesArb(1)
    .filter((ps) => ps.length === 1)
    .map((ps) => ({ kind: 'policyPut' as const, policy: ps[0]! })),
  fc.record({ kind: fc.constant('policyDelete' as const), i: fc.nat() }),
);

/**
 * Every pod isolated both ways by a policy of its namespace whose peers are chosen by label
 * (app=a, from any namespace whose env is not c), so that most changes move some pod's profile
 * or some peer set, besides the random policies.
 */
function isolating(namespace: string): NetworkPolicy {
  const peer = {
    kind: 'pods' as const,
    pods: { matchLabels: { app: 'a' }, matchExpressions: [] },
    namespaces: {
      matchLabels: {},
      matchExpressions: [{ key: 'env', operator: 'NotIn' as const, values: ['c'] }],
    },
  };
  return {
    namespace,
    name: 'zz-isolate',
    podSelector: { matchLabels: {}, matchExpressions: [] },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ peers: [peer], ports: [{ protocol: 'TCP', port: 80 }] }],
    egress: [{ peers: [peer] }],
  };
}

export const changeSequenceArb = fc.record({
  state: fc
    .tuple(clusterArb, fc.boolean())
    .map(([s, iso]) => (iso ? { ...s, policies: [...s.policies, ...NAMESPACE_NAMES.map(isolating)] } : s)),
  changes: fc.array(changeArb, { minLength: 1, maxLength: 8 }),
});

let added = 0;

function pod(
  namespace: string,
  name: string,
  node: string,
  ip: number,
  labels: Record<string, string>,
  ports: { name: string; containerPort: number; protocol?: string }[],
): Pod {
  const sub = node === 'n1' ? 1 : 2;
  return podFromK8s({
    metadata: { namespace, name, labels },
    spec: { nodeName: node, containers: [{ name: 'c', ports }] },
    status: {
      phase: 'Running',
      podIPs: [{ ip: `10.244.${sub}.${ip}` }, { ip: `fd00:244:${sub}::${ip.toString(16)}` }],
    },
  });
}

function k8sPorts(p: Pod) {
  return p.ports.map((x) => ({ name: x.name, containerPort: x.port, protocol: x.protocol }));
}

/** The next snapshot; objects the change does not touch are the same objects. */
export function applyChange(state: ClusterState, c: Change): ClusterState {
  const pods = [...state.pods];
  const at = (i: number) => i % Math.max(1, pods.length);
  switch (c.kind) {
    case 'podLabels':
    case 'podPorts':
    case 'podMove': {
      const old = pods[at(c.i)];
      if (!old) return state;
      const ipNum = c.kind === 'podMove' ? c.ip : Number(/\.(\d+)$/.exec(old.ips[0] ?? '.1')![1]);
      const next = pod(
        old.namespace,
        old.name,
        old.node,
        ipNum,
        c.kind === 'podLabels' ? c.labels : { ...old.labels },
        c.kind === 'podPorts' ? c.ports : k8sPorts(old),
      );
      // Keep a single-stack pod single-stack unless it moved.
      pods[at(c.i)] =
        c.kind === 'podMove' || old.ips.length > 1 ? next : { ...next, ips: next.ips.slice(0, 1) };
      return { ...state, pods };
    }
    case 'podDelete':
      if (!pods.length) return state;
      pods.splice(at(c.i), 1);
      return { ...state, pods };
    case 'podAdd':
      pods.push(pod(NAMESPACE_NAMES[c.ns]!, `new${added++}`, NODE_NAMES[c.node]!, c.ip, c.labels, c.ports));
      return { ...state, pods };
    case 'nsLabels': {
      const name = NAMESPACE_NAMES[c.ns]!;
      const namespaces = state.namespaces.map((n) =>
        n.name === name
          ? namespaceFromK8s({
              metadata: { name, labels: { ...c.labels, 'kubernetes.io/metadata.name': name } },
            })
          : n,
      );
      return { ...state, namespaces };
    }
    case 'policyPut': {
      const key = objectKey(c.policy);
      return { ...state, policies: [...state.policies.filter((p) => objectKey(p) !== key), c.policy] };
    }
    case 'policyDelete': {
      if (!state.policies.length) return state;
      const policies = [...state.policies];
      policies.splice(c.i % policies.length, 1);
      return { ...state, policies };
    }
  }
}
