import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Evaluator,
  objectKey,
  planNode,
  type ClusterState,
  type NodePlan,
  type Protocol,
} from '../src/index.js';
import { clusterArb, EXTERNAL_IPS, NODE_IPS, NODE_NAMES, PORTS } from './arbitraries.js';
import { simulate } from './simulate.js';

const PROTOCOLS: Protocol[] = ['TCP', 'UDP', 'SCTP'];
const denyAll = {
  name: 'zz-deny-all',
  podSelector: { matchLabels: {}, matchExpressions: [] },
  policyTypes: ['Ingress', 'Egress'] as const,
  ingress: [],
  egress: [],
};

/** Every address of the cluster (pods, nodes, outside) with the node it lives on. */
function addresses(state: ClusterState): { ip: string; node?: string; pod?: string }[] {
  return [
    ...state.pods.flatMap((p) => p.ips.map((ip) => ({ ip, node: p.node, pod: objectKey(p) }))),
    ...NODE_NAMES.flatMap((n) => NODE_IPS[n]!.map((ip) => ({ ip }))),
    ...EXTERNAL_IPS.map((ip) => ({ ip })),
  ];
}

/** A random cluster and one connection between two of its pods. */
const connectionArb = fc
  .record({
    state: clusterArb,
    i: fc.nat(),
    j: fc.nat(),
    port: fc.constantFrom(...PORTS),
    protocol: fc.constantFrom(...PROTOCOLS),
  })
  .map(({ state, i, j, port, protocol }) => ({
    state,
    from: { pod: objectKey(state.pods[i % state.pods.length]!) },
    to: { pod: objectKey(state.pods[j % state.pods.length]!) },
    port,
    protocol,
  }));

/**
 * Found by the property below: an egress rule with a named port and an IPv6 ipBlock that holds
 * one of a dual-stack pod's addresses must not grant that pod's IPv4 address too.
 */
const namedPortIpBlockOneFamily: ClusterState = {
  namespaces: ['ns0', 'ns1'].map((name) => ({ name, labels: { 'kubernetes.io/metadata.name': name } })),
  nodes: [
    { name: 'n1', ips: ['192.168.60.1', 'fd00:60::1'] },
    { name: 'n2', ips: ['192.168.60.2', 'fd00:60::2'] },
  ],
  pods: [
    { namespace: 'ns1', name: 'p0', labels: {}, ips: ['10.244.1.3'], node: 'n1', ports: [] },
    {
      namespace: 'ns0',
      name: 'p1',
      labels: {},
      ips: ['10.244.1.6', 'fd00:244:1::6'],
      node: 'n1',
      ports: [{ name: 'web', port: 80, protocol: 'TCP' }],
    },
  ],
  policies: [
    {
      namespace: 'ns1',
      name: 'pol0',
      podSelector: { matchLabels: {}, matchExpressions: [] },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [
        {
          peers: [{ kind: 'ipBlock', ipBlock: { cidr: 'fd00:244:1::/48', except: [] } }],
          ports: [{ protocol: 'TCP', port: 'web' }],
        },
      ],
    },
  ],
};

describe('evaluator properties', () => {
  it('the compiled node rulesets agree with verdict() on every address pair, port and protocol', () => {
    fc.assert(
      fc.property(clusterArb, (state) => {
        const ev = new Evaluator(state);
        const plans = new Map<string, NodePlan>(NODE_NAMES.map((n) => [n, planNode(ev.index, n)]));
        const all = addresses(state);
        const nodeOf = new Map(all.filter((a) => a.node).map((a) => [a.ip, a.node!]));
        for (const s of all) {
          for (const d of all) {
            if (s.ip.includes(':') !== d.ip.includes(':') || (!s.pod && !d.pod)) continue;
            for (const port of PORTS) {
              for (const protocol of PROTOCOLS) {
                const want = ev.verdict({ ip: s.ip }, { ip: d.ip }, port, protocol).allowed;
                const got = simulate(plans, (ip) => nodeOf.get(ip), s.ip, d.ip, port, protocol);
                if (want !== got)
                  throw new Error(`${s.ip} -> ${d.ip} ${port}/${protocol}: verdict ${want}, compiled ${got}`);
              }
            }
          }
        }
      }),
      { numRuns: 60, examples: [[namedPortIpBlockOneFamily]] },
    );
  }, 60_000);

  it('a verdict is consistent with its own reasons', () => {
    fc.assert(
      fc.property(connectionArb, ({ state, from, to, port, protocol }) => {
        const v = new Evaluator(state).verdict(from, to, port, protocol);
        expect(v.allowed).toBe(v.special !== undefined || (v.egress.allowed && v.ingress.allowed));
        for (const d of [v.egress, v.ingress]) {
          expect(d.isolated).toBe(d.policies.length > 0);
          expect(d.allowedBy !== undefined).toBe(d.isolated && d.allowed);
          if (!d.isolated) expect(d.allowed).toBe(true);
          if (d.allowedBy) expect(d.policies).toContain(d.allowedBy.policy);
        }
        expect(v.reason.startsWith(v.allowed ? (v.special ? '' : 'ALLOW') : 'DENY')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('an allow-all policy in every namespace, or no policy at all, allows everything', () => {
    fc.assert(
      fc.property(connectionArb, ({ state, from, to, port, protocol }) => {
        const allowAll = state.namespaces.map((ns) => ({
          ...denyAll,
          namespace: ns.name,
          name: 'zz-allow-all',
          ingress: [{}],
          egress: [{}],
        }));
        expect(
          new Evaluator({ ...state, policies: [...state.policies, ...allowAll] }).verdict(
            from,
            to,
            port,
            protocol,
          ).allowed,
        ).toBe(true);
        expect(new Evaluator({ ...state, policies: [] }).verdict(from, to, port, protocol).allowed).toBe(
          true,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('policies are additive: once both sides are isolated, another policy only adds allows', () => {
    fc.assert(
      fc.property(connectionArb, clusterArb, ({ state, from, to, port, protocol }, other) => {
        // Isolate every pod both ways first, so the extra policies cannot newly isolate anyone.
        const isolate = state.namespaces.map((ns) => ({ ...denyAll, namespace: ns.name }));
        const base = { ...state, policies: [...state.policies, ...isolate] };
        const before = new Evaluator(base).verdict(from, to, port, protocol).allowed;
        const extra = other.policies.map((p) => ({ ...p, name: `extra-${p.name}` }));
        const after = new Evaluator({ ...base, policies: [...base.policies, ...extra] }).verdict(
          from,
          to,
          port,
          protocol,
        ).allowed;
        if (before) expect(after).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
