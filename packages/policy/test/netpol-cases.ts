import type { ClusterState, Protocol } from '../src/index.js';
import { namespaceFromK8s, networkPolicyFromK8s, podFromK8s } from '../src/index.js';
import {
  k8sNamespace,
  k8sPod,
  k8sPolicy as policy,
  NODES,
  podIps,
  Reachability,
  upstreamObjects,
  type K8sObject,
  type UpstreamObjects,
} from './cluster-fixture.js';

/** One probe of a case: a port and protocol, and the matrix the upstream suite expects there. */
export interface Probe {
  readonly port: number;
  readonly protocol: Protocol;
  readonly expected: Reachability;
  /** Only this family (ipBlock cases name addresses of one family); default both. */
  readonly family?: 4 | 6;
}

export interface NetpolCase {
  readonly name: string;
  /** What the API server holds for this case (for an API stand-in): the model is made from it. */
  readonly objects: UpstreamObjects & { readonly policies: readonly K8sObject[] };
  readonly state: ClusterState;
  readonly probes: readonly Probe[];
}

const notInX = { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] };
const nsY = { matchLabels: { ns: 'y' } };
const podA = { matchLabels: { pod: 'a' } };
const podB = { matchLabels: { pod: 'b' } };
const dns = { protocol: 'UDP', port: 53 };

const allow = () => new Reachability(true);
/** Only `from` reaches x/a; everything else unchanged. */
const onlyInto = (to: string, froms: string[]) => {
  const r = allow().expectAllIngress(to, false);
  for (const f of froms) r.expect(f, to, true);
  return r;
};
const onlyOutOf = (from: string, tos: string[]) => {
  const r = allow().expectAllEgress(from, false);
  for (const t of tos) r.expect(from, t, true);
  return r;
};
const tcp = (port: number, expected: Reachability): Probe => ({ port, protocol: 'TCP', expected });
const udp = (port: number, expected: Reachability): Probe => ({ port, protocol: 'UDP', expected });

function c(name: string, policies: K8sObject[], probes: Probe[], objects = upstreamObjects()): NetpolCase {
  const state: ClusterState = {
    pods: objects.pods.map(podFromK8s),
    namespaces: objects.namespaces.map(namespaceFromK8s),
    policies: policies.map(networkPolicyFromK8s),
    nodes: NODES,
  };
  return { name, objects: { ...objects, policies }, state, probes };
}

const xPods = ['x/a', 'x/b', 'x/c'];
const yPods = ['y/a', 'y/b', 'y/c'];
const zPods = ['z/a', 'z/b', 'z/c'];
const node1 = ['x/a', 'x/b', 'y/a', 'y/b', 'z/a', 'z/b'];

/** Relabels one object of the upstream cluster (the suite's "updated pod/namespace" cases). */
function relabel(kind: 'pod' | 'namespace', key: string, labels: Record<string, string>): UpstreamObjects {
  const base = upstreamObjects();
  if (kind === 'namespace') {
    return {
      ...base,
      namespaces: base.namespaces.map((n) =>
        n.metadata.name === key ? k8sNamespace(key, { ns: key, ...labels }) : n,
      ),
    };
  }
  const [ns, name] = key.split('/') as [string, string];
  return {
    ...base,
    pods: base.pods.map((p) =>
      p.metadata.namespace === ns && p.metadata.name === name
        ? k8sPod(ns, name, { pod: name, ...labels })
        : p,
    ),
  };
}

const v4 = (key: string) => podIps(key.split('/')[0]!, key.split('/')[1]!)[0];
const v6 = (key: string) => podIps(key.split('/')[0]!, key.split('/')[1]!)[1];

/** The upstream suite's cases (names as upstream words them), each with its expected matrices. */
export const NETPOL_CASES: readonly NetpolCase[] = [
  c(
    'default-deny-ingress',
    [policy('x', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] })],
    [
      tcp(
        80,
        xPods.reduce((r, p) => r.expectAllIngress(p, false), allow()),
      ),
      udp(
        81,
        xPods.reduce((r, p) => r.expectAllIngress(p, false), allow()),
      ),
    ],
  ),
  c(
    'default-deny-all',
    [policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })],
    [
      tcp(
        80,
        xPods.reduce((r, p) => r.expectAllIngress(p, false).expectAllEgress(p, false), allow()),
      ),
    ],
  ),
  c(
    'allow from pods in the server namespace by podSelector',
    [policy('x', 'allow-b', { podSelector: podA, ingress: [{ from: [{ podSelector: podB }] }] })],
    [tcp(80, onlyInto('x/a', ['x/b'])), udp(81, onlyInto('x/a', ['x/b']))],
  ),
  c(
    'allow ingress from pods in all namespaces',
    [policy('x', 'all-ns', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: {} }] }] })],
    [tcp(80, allow())],
  ),
  c(
    'allow only from a different namespace by namespaceSelector',
    [policy('x', 'from-y', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: nsY }] }] })],
    [tcp(80, onlyInto('x/a', yPods))],
  ),
  c(
    'podSelector with matchExpressions',
    [
      policy('x', 'expr', {
        podSelector: podA,
        ingress: [
          { from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b'] }] } }] },
        ],
      }),
    ],
    [tcp(80, onlyInto('x/a', ['x/b']))],
  ),
  c(
    'namespaceSelector with matchExpressions',
    [
      policy('x', 'expr', {
        podSelector: podA,
        ingress: [
          {
            from: [
              { namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'In', values: ['y'] }] } },
            ],
          },
        ],
      }),
    ],
    [tcp(80, onlyInto('x/a', yPods))],
  ),
  c(
    'podSelector or namespaceSelector (two peers)',
    [
      policy('x', 'or', {
        podSelector: podA,
        ingress: [{ from: [{ namespaceSelector: notInX }, { podSelector: podB }] }],
      }),
    ],
    [tcp(80, onlyInto('x/a', [...yPods, ...zPods, 'x/b']))],
  ),
  c(
    'podSelector and namespaceSelector (one peer)',
    [
      policy('x', 'and', {
        podSelector: podA,
        ingress: [{ from: [{ namespaceSelector: notInX, podSelector: podB }] }],
      }),
    ],
    [tcp(80, onlyInto('x/a', ['y/b', 'z/b']))],
  ),
  c(
    'multiple podSelectors and namespaceSelectors',
    [
      policy('x', 'multi', {
        podSelector: podA,
        ingress: [
          {
            from: [
              {
                namespaceSelector: notInX,
                podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] },
              },
            ],
          },
        ],
      }),
    ],
    [tcp(80, onlyInto('x/a', ['y/b', 'y/c', 'z/b', 'z/c']))],
  ),
  c(
    'any podSelector: every pod of the own namespace',
    [policy('x', 'any', { podSelector: podA, ingress: [{ from: [{ podSelector: {} }] }] })],
    [tcp(80, onlyInto('x/a', xPods))],
  ),
  c(
    'a pod in a different namespace by podSelector and namespaceSelector',
    [
      policy('x', 'y-a', {
        podSelector: podA,
        ingress: [{ from: [{ namespaceSelector: nsY, podSelector: podA }] }],
      }),
    ],
    [tcp(80, onlyInto('x/a', ['y/a']))],
  ),
  c(
    'ports',
    [
      policy('x', 'port-81', {
        podSelector: podA,
        ingress: [{ from: [{ namespaceSelector: nsY }], ports: [{ port: 81, protocol: 'TCP' }] }],
      }),
    ],
    [tcp(80, onlyInto('x/a', [])), tcp(81, onlyInto('x/a', yPods))],
  ),
  c(
    'multiple stacked policies with overlapping podSelectors',
    [
      policy('x', 'port-81', {
        podSelector: podA,
        ingress: [{ from: [{ namespaceSelector: nsY }], ports: [{ port: 81 }] }],
      }),
      policy('x', 'port-80', {
        podSelector: podA,
        ingress: [{ from: [{ namespaceSelector: nsY }], ports: [{ port: 80 }] }],
      }),
    ],
    [tcp(80, onlyInto('x/a', yPods)), tcp(81, onlyInto('x/a', yPods)), udp(80, onlyInto('x/a', []))],
  ),
  c(
    'allow-all policy',
    [policy('x', 'allow-all', { podSelector: {}, ingress: [{}] })],
    [tcp(80, allow()), udp(81, allow())],
  ),
  c(
    'ingress on one named port',
    [policy('x', 'named', { podSelector: podA, ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })],
    [tcp(81, allow()), tcp(80, onlyInto('x/a', [])), udp(81, onlyInto('x/a', []))],
  ),
  c(
    'ingress from a namespace on one named port',
    [
      policy('x', 'named', {
        podSelector: podA,
        ingress: [{ from: [{ namespaceSelector: nsY }], ports: [{ port: 'serve-80-tcp' }] }],
      }),
    ],
    [tcp(80, onlyInto('x/a', yPods)), tcp(81, onlyInto('x/a', []))],
  ),
  c(
    'egress on one named port',
    [
      policy('x', 'named-egress', {
        podSelector: podA,
        policyTypes: ['Egress'],
        egress: [{ ports: [{ port: 'serve-80-tcp' }, dns] }],
      }),
    ],
    [tcp(80, allow()), tcp(81, onlyOutOf('x/a', [])), udp(80, onlyOutOf('x/a', []))],
  ),
  c(
    'deny egress from a pod by podSelector',
    [policy('x', 'deny-egress', { podSelector: podA, policyTypes: ['Egress'] })],
    [tcp(80, onlyOutOf('x/a', []))],
  ),
  c(
    'deny egress from every pod of a namespace',
    [policy('x', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })],
    [
      tcp(
        80,
        xPods.reduce((r, p) => r.expectAllEgress(p, false), allow()),
      ),
    ],
  ),
  c(
    'egress deny + allow DNS',
    [policy('x', 'dns-only', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [dns] }] })],
    [
      tcp(
        80,
        xPods.reduce((r, p) => r.expectAllEgress(p, false), allow()),
      ),
      udp(53, allow()),
      tcp(
        53,
        xPods.reduce((r, p) => r.expectAllEgress(p, false), allow()),
      ),
    ],
  ),
  c(
    'ingress and egress together',
    [
      policy('x', 'both', {
        podSelector: podA,
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [{ podSelector: podB }] }],
        egress: [{ to: [{ podSelector: podB }] }],
      }),
    ],
    [tcp(80, onlyInto('x/a', ['x/b']).expectAllEgress('x/a', false).expect('x/a', 'x/b', true))],
  ),
  c(
    'egress denied at the client even when the server allows it',
    [
      policy('x', 'deny-egress', { podSelector: podA, policyTypes: ['Egress'] }),
      policy('y', 'allow-all', { podSelector: {}, ingress: [{}] }),
    ],
    [tcp(80, onlyOutOf('x/a', []))],
  ),
  c(
    'egress to a server in another namespace by podSelector and namespaceSelector',
    [
      policy('x', 'to-y-a', {
        podSelector: podA,
        egress: [{ to: [{ namespaceSelector: nsY, podSelector: podA }] }, { ports: [dns] }],
      }),
      // No policyTypes and egress rules: defaulted to Ingress and Egress, so x/a's ingress closes too.
    ],
    [tcp(80, onlyOutOf('x/a', ['y/a']).expectAllIngress('x/a', false))],
  ),
  c(
    'ingress on any port of one protocol',
    [policy('x', 'tcp-only', { podSelector: podA, ingress: [{ ports: [{ protocol: 'TCP' }] }] })],
    [tcp(80, allow()), tcp(81, allow()), udp(80, onlyInto('x/a', []))],
  ),
  c(
    'multiple ingress policies: allow-all wins',
    [
      policy('x', 'from-b-80', {
        podSelector: podA,
        ingress: [{ from: [{ podSelector: podB }], ports: [{ port: 80 }] }],
      }),
      policy('x', 'allow-all', { podSelector: {}, ingress: [{}] }),
    ],
    [tcp(80, allow()), tcp(81, allow())],
  ),
  c(
    'multiple egress policies: allow-all wins',
    [
      policy('x', 'to-80', {
        podSelector: podA,
        policyTypes: ['Egress'],
        egress: [{ ports: [{ port: 80 }] }],
      }),
      policy('x', 'allow-all', { podSelector: {}, policyTypes: ['Egress'], egress: [{}] }),
    ],
    [tcp(80, allow()), tcp(81, allow())],
  ),
  c('policies deleted: nothing enforced', [], [tcp(80, allow())]),
  c(
    'egress to a server in a CIDR block',
    [
      policy('x', 'cidr', {
        podSelector: podA,
        policyTypes: ['Egress'],
        egress: [
          { to: [{ ipBlock: { cidr: `${v4('y/b')}/32` } }, { ipBlock: { cidr: `${v6('y/b')}/128` } }] },
        ],
      }),
    ],
    [tcp(80, onlyOutOf('x/a', ['y/b']))],
  ),
  c(
    'ipBlock except, egress (host bits set in the cidr)',
    [
      policy('x', 'except', {
        podSelector: podA,
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              { ipBlock: { cidr: `${v4('y/b')}/24`, except: [`${v4('y/b')}/32`] } },
              { ipBlock: { cidr: `${v6('y/b')}/64`, except: [`${v6('y/b')}/128`] } },
            ],
          },
        ],
      }),
    ],
    [
      tcp(
        80,
        onlyOutOf(
          'x/a',
          node1.filter((p) => p !== 'y/b'),
        ),
      ),
    ],
  ),
  c(
    'an address in both an ipBlock and its except is allowed through another peer',
    [
      policy('x', 'overlap', {
        podSelector: podA,
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              { ipBlock: { cidr: '10.244.1.0/24', except: [`${v4('y/b')}/32`] } },
              { ipBlock: { cidr: `${v4('y/b')}/32` } },
            ],
          },
        ],
      }),
    ],
    [
      { ...tcp(80, onlyOutOf('x/a', node1)), family: 4 },
      { ...tcp(80, onlyOutOf('x/a', [])), family: 6 },
    ],
  ),
  c(
    'ipBlock except, ingress',
    [
      policy('x', 'except-in', {
        podSelector: podA,
        ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.2.0/24'] } }] }],
      }),
    ],
    [
      { ...tcp(80, onlyInto('x/a', node1)), family: 4 },
      { ...tcp(80, onlyInto('x/a', [])), family: 6 },
    ],
  ),
  c(
    'ingress and egress controlled independently',
    [
      policy('x', 'egress-all', { podSelector: podA, policyTypes: ['Egress'], egress: [{}] }),
      policy('x', 'deny-ingress', { podSelector: podA, policyTypes: ['Ingress'] }),
    ],
    [tcp(80, onlyInto('x/a', []))],
  ),
  c(
    "'protocol: SCTP' is not TCP",
    [policy('x', 'sctp', { podSelector: podA, ingress: [{ ports: [{ protocol: 'SCTP', port: 80 }] }] })],
    [
      tcp(80, onlyInto('x/a', [])),
      { port: 80, protocol: 'SCTP', expected: allow() },
      { port: 81, protocol: 'SCTP', expected: onlyInto('x/a', []) },
    ],
  ),
  c(
    'TCP denied when a policy allows only UDP',
    [policy('x', 'udp', { podSelector: podA, ingress: [{ ports: [{ protocol: 'UDP', port: 81 }] }] })],
    [tcp(81, onlyInto('x/a', [])), udp(81, allow())],
  ),
  c(
    'namespaceSelector on the default kubernetes.io/metadata.name label',
    [
      policy('x', 'default-label', {
        podSelector: podA,
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'y' } } }] }],
      }),
    ],
    [tcp(80, onlyInto('x/a', yPods))],
  ),
  c(
    'endPort: a port range',
    [
      policy('x', 'range', {
        podSelector: podA,
        ingress: [{ from: [{ namespaceSelector: nsY }], ports: [{ port: 81, endPort: 90 }] }],
      }),
    ],
    [
      tcp(80, onlyInto('x/a', [])),
      tcp(81, onlyInto('x/a', yPods)),
      tcp(90, onlyInto('x/a', yPods)),
      tcp(91, onlyInto('x/a', [])),
    ],
  ),
  c(
    'endPort on egress, UDP',
    [
      policy('x', 'range-egress', {
        podSelector: podA,
        policyTypes: ['Egress'],
        egress: [{ ports: [{ protocol: 'UDP', port: 80, endPort: 81 }] }],
      }),
    ],
    [udp(80, allow()), udp(81, allow()), tcp(80, onlyOutOf('x/a', []))],
  ),
  c(
    'ingress from an updated namespace',
    [
      policy('x', 'from-updated', {
        podSelector: podA,
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns2: 'updated' } } }] }],
      }),
    ],
    [tcp(80, onlyInto('x/a', yPods))],
    relabel('namespace', 'y', { ns2: 'updated' }),
  ),
  c(
    'ingress denied to an updated pod',
    [
      policy('x', 'isolate-updated', {
        podSelector: { matchLabels: { target: 'isolated' } },
        policyTypes: ['Ingress'],
      }),
    ],
    [tcp(80, onlyInto('x/a', []))],
    relabel('pod', 'x/a', { target: 'isolated' }),
  ),
  c(
    'ingress from an updated pod',
    [
      policy('x', 'from-updated-pod', {
        podSelector: podA,
        ingress: [{ from: [{ podSelector: { matchLabels: { pod2: 'updated' } } }] }],
      }),
    ],
    [tcp(80, onlyInto('x/a', ['x/b']))],
    relabel('pod', 'x/b', { pod2: 'updated' }),
  ),
  c(
    'policies of one namespace never select pods of another',
    [policy('y', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })],
    [
      tcp(
        80,
        yPods.reduce((r, p) => r.expectAllIngress(p, false).expectAllEgress(p, false), allow()),
      ),
    ],
  ),
];
