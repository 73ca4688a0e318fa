import fc from 'fast-check';
import {
  namespaceFromK8s,
  networkPolicyFromK8s,
  podFromK8s,
  type ClusterState,
  type Namespace,
  type NetworkPolicy,
} from '../src/index.js';

/**
 * Random clusters small enough to probe exhaustively: up to 3 namespaces and 8 pods on two
 * nodes, labels from a tiny alphabet (so selectors often match), named ports that differ per
 * pod, and up to 5 policies of every shape v1 allows, built as API JSON and converted.
 */
export const NODE_NAMES = ['n1', 'n2'] as const;
export const NODE_IPS: Record<string, [string, string]> = {
  n1: ['192.168.60.1', 'fd00:60::1'],
  n2: ['192.168.60.2', 'fd00:60::2'],
};
/** Each node's pod CIDRs (the pods below take their addresses from them): the fail-closed network. */
export const POD_CIDRS: Record<string, string[]> = {
  n1: ['10.244.1.0/24', 'fd00:244:1::/64'],
  n2: ['10.244.2.0/24', 'fd00:244:2::/64'],
};

/** Addresses outside the cluster: one inside the ipBlocks drawn below, two outside, one per family. */
export const EXTERNAL_IPS = ['10.245.0.7', '172.16.0.9', 'fd00:245::7', '2001:db8::9'];
export const PORTS = [53, 80, 81, 8080] as const;

const key = fc.constantFrom('app', 'tier', 'env');
const value = fc.constantFrom('a', 'b', 'c');
const labels = fc.dictionary(key, value, { maxKeys: 3 });

const expression = fc.oneof(
  fc.record({
    key,
    operator: fc.constantFrom('In', 'NotIn'),
    values: fc.uniqueArray(value, { minLength: 1, maxLength: 2 }),
  }),
  fc.record({ key, operator: fc.constantFrom('Exists', 'DoesNotExist') }),
);
const selector = fc.record(
  {
    matchLabels: fc.dictionary(key, value, { maxKeys: 2 }),
    matchExpressions: fc.array(expression, { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

// Each cidr with the excepts that lie strictly inside it (the converter refuses others).
const BLOCKS: [string, string[]][] = [
  ['10.244.0.0/16', ['10.244.1.0/28', '10.244.2.16/28', '10.244.1.7/32']],
  ['10.244.1.5/24', ['10.244.1.0/28', '10.244.1.7/32']],
  ['10.0.0.0/8', ['10.244.0.0/16', '10.244.2.16/28']],
  ['fd00::/8', ['fd00:244:1::/120', 'fd00:244:2::10/124']],
  ['fd00:244:1::/48', ['fd00:244:1::/120']],
  ['172.16.0.0/12', ['172.16.1.0/24']],
  ['172.16.0.0/16', ['172.16.0.8/29']],
];
const ipBlock = fc
  .constantFrom(...BLOCKS)
  .chain(([cidr, excepts]) => fc.record({ cidr: fc.constant(cidr), except: fc.subarray(excepts) }));

const peer = fc.oneof(
  fc.record({ podSelector: selector }),
  fc.record({ namespaceSelector: selector }),
  fc.record({ podSelector: selector, namespaceSelector: selector }),
  fc.record({ ipBlock }),
);
const protocol = fc.constantFrom('TCP', 'UDP', 'SCTP');
const port = fc.oneof(
  fc.record({ protocol, port: fc.constantFrom(...PORTS) }, { requiredKeys: ['port'] }),
  fc.record({ protocol, port: fc.constantFrom(53, 80), endPort: fc.constantFrom(81, 8080) }),
  fc.record({ protocol }),
  fc.record({ protocol, port: fc.constantFrom('web', 'dns', 'alt') }, { requiredKeys: ['port'] }),
);
const rule = (side: 'from' | 'to') =>
  fc.record(
    { [side]: fc.array(peer, { maxLength: 2 }), ports: fc.array(port, { maxLength: 2 }) },
    { requiredKeys: [] },
  );
const policyTypes = fc.option(fc.subarray(['Ingress', 'Egress'] as const, { minLength: 1 }), {
  nil: undefined,
});

/** A pod's named container ports: `web` on 80 or 8080 (differs per pod), `dns`, `alt` over SCTP. */
export const namedPortsArb = fc
  .subarray([
    { name: 'web', containerPort: 80 },
    { name: 'web', containerPort: 8080 },
    { name: 'dns', containerPort: 53, protocol: 'UDP' },
    { name: 'alt', containerPort: 81, protocol: 'SCTP' },
  ])
  .map((ps) => ps.filter((p, i) => ps.findIndex((q) => q.name === p.name) === i));

const podSpec = fc.record({
  ns: fc.nat(2),
  labels,
  node: fc.constantFrom(...NODE_NAMES),
  dualStack: fc.boolean(),
  ports: namedPortsArb,
});
export const labelsArb = labels;

/** Up to `max` policies spread over the namespaces of NAMESPACE_NAMES. */
export function policiesArb(max: number): fc.Arbitrary<NetworkPolicy[]> {
  return fc
    .array(
      fc.record({
        ns: fc.nat(2),
        podSelector: selector,
        policyTypes,
        ingress: fc.array(rule('from'), { maxLength: 2 }),
        egress: fc.array(rule('to'), { maxLength: 2 }),
      }),
      { maxLength: max },
    )
    .map((ps) =>
      ps.map((p, i) =>
        networkPolicyFromK8s({
          metadata: { namespace: NAMESPACE_NAMES[p.ns], name: `pol${i}` },
          spec: {
            podSelector: p.podSelector,
            ...(p.policyTypes ? { policyTypes: p.policyTypes } : {}),
            ingress: p.ingress,
            egress: p.egress,
          },
        }),
      ),
    );
}

export const NAMESPACE_NAMES = ['ns0', 'ns1', 'ns2'] as const;

export const clusterArb: fc.Arbitrary<ClusterState> = fc
  .record({
    nsLabels: fc.tuple(labels, labels, labels),
    pods: fc.array(podSpec, { minLength: 2, maxLength: 8 }),
    policies: policiesArb(5),
  })
  .map(({ nsLabels, pods, policies }) => {
    const counters: Record<string, number> = { n1: 0, n2: 0 };
    return {
      namespaces: namespacesOf(nsLabels),
      nodes: NODE_NAMES.map((name) => ({ name, ips: NODE_IPS[name]! })),
      pods: pods.map((p, i) => {
        const n = ++counters[p.node]!;
        const sub = p.node === 'n1' ? 1 : 2;
        const ips = [
          `10.244.${sub}.${n * 3}`,
          ...(p.dualStack ? [`fd00:244:${sub}::${(n * 3).toString(16)}`] : []),
        ];
        return podFromK8s({
          metadata: { namespace: NAMESPACE_NAMES[p.ns], name: `p${i}`, labels: p.labels },
          spec: { nodeName: p.node, containers: [{ name: 'c', ports: p.ports }] },
          status: { phase: 'Running', podIPs: ips.map((ip) => ({ ip })) },
        });
      }),
      policies,
    };
  });

export function namespacesOf(nsLabels: readonly Record<string, string>[]): Namespace[] {
  return NAMESPACE_NAMES.map((name, i) =>
    namespaceFromK8s({ metadata: { name, labels: { ...nsLabels[i], 'kubernetes.io/metadata.name': name } } }),
  );
}
