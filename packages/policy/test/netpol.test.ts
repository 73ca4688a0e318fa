import { describe, expect, it } from 'vitest';
import { Evaluator, planNode, type NodePlan } from '../src/index.js';
import { ALL_PODS, NODES, NODE_OF, podIps, Reachability } from './cluster-fixture.js';
import { NETPOL_CASES } from './netpol-cases.js';
import { simulate } from './simulate.js';

const nodeOfIp = new Map(
  ALL_PODS.flatMap((k) =>
    podIps(k.split('/')[0]!, k.split('/')[1]!).map((ip) => [ip, NODE_OF[k.split('/')[1]!]!] as const),
  ),
);

describe('the upstream e2e NetworkPolicy cases', () => {
  for (const tc of NETPOL_CASES) {
    it(tc.name, () => {
      const evaluator = new Evaluator(tc.state);
      const plans = new Map<string, NodePlan>(NODES.map((n) => [n.name, planNode(evaluator.index, n.name)]));
      for (const probe of tc.probes) {
        for (const family of probe.family ? [probe.family] : ([4, 6] as const)) {
          const label = `${probe.port}/${probe.protocol} IPv${family}`;
          const verdict = (f: string, t: string) =>
            evaluator.verdict({ pod: f }, { pod: t }, probe.port, probe.protocol, { family }).allowed;
          const ip = (k: string) => podIps(k.split('/')[0]!, k.split('/')[1]!)[family === 4 ? 0 : 1];
          const kernel = (f: string, t: string) =>
            simulate(plans, (a) => nodeOfIp.get(a), ip(f), ip(t), probe.port, probe.protocol);
          const want = Reachability.print((f, t) => probe.expected.get(f, t));
          expect(Reachability.print(verdict), `verdict() at ${label}`).toBe(want);
          expect(Reachability.print(kernel), `compiled rules at ${label}`).toBe(want);
        }
      }
    });
  }
});
