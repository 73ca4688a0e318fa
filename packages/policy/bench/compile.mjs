// Compile cost at cluster scale: a synthetic cluster (the test kit's, shared with the agent's
// policy-scale bench) of 150,000 pods in 5,000 namespaces (600 nodes of 250 pods), 10,000
// policies of common shapes; times the index, one node's
// plan and its text, and prints the ruleset's size. Run after `pnpm build`:
//   node bench/compile.mjs [namespaces] [podsPerNamespace]
import { performance } from 'node:perf_hooks';
import { syntheticCluster } from '@minicni/testkit/synthetic-cluster';
import {
  compileNodeRuleset,
  NodePlanner,
  PolicyIndex,
  planNode,
  renderRuleset,
  renderRulesetDelta,
} from '../dist/index.js';

const NS = Number(process.argv[2] ?? 5000);
const PER_NS = Number(process.argv[3] ?? 30);
const PODS_PER_NODE = 250;

// CPU time beside wall time: on a shared machine the wall clock mostly measures the neighbours.
const time = (label, fn) => {
  const t = performance.now();
  const c = process.cpuUsage();
  const r = fn();
  const cpu = process.cpuUsage(c);
  console.log(
    `${label}: ${(performance.now() - t).toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms cpu`,
  );
  return r;
};

const state = syntheticCluster({ namespaces: NS, podsPerNamespace: PER_NS, podsPerNode: PODS_PER_NODE });
console.log(
  `${state.pods.length} pods, ${state.namespaces.length} namespaces, ${state.policies.length} policies`,
);
const index = time('index the snapshot', () => new PolicyIndex(state));
const plan = time('plan node-0 (250 pods)', () => planNode(index, 'node-0'));
const text = time('render its ruleset', () => renderRuleset(plan));
time('compile again from the index', () => compileNodeRuleset(index, 'node-0'));
const elements = plan.profiles.reduce(
  (a, p) =>
    a +
    p.addrs[4].length +
    p.addrs[6].length +
    p.ports.length +
    p.addrPorts[4].length +
    p.addrPorts[6].length,
  0,
);
console.log(
  `ruleset: ${plan.profiles.length} profile chains, ${elements} set elements, ${plan.ingress[4].length + plan.egress[4].length} v4 map entries, ${(text.length / 1024).toFixed(0)} KiB of nft text`,
);
console.log(`heap used: ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);

// Incremental passes, as the agent makes them on every watch event: a NodePlanner kept across
// snapshots, one object changed per pass, against a plan from scratch of the same snapshot.
{
  const planner = new NodePlanner('node-0');
  let s = state;
  let prev = time('NodePlanner first pass (from scratch)', () => planner.plan(s));
  const local = s.pods.filter((p) => p.node === 'node-0');
  const victim = local[7];
  const changes = [
    [
      'policy add',
      () => ({
        ...s,
        policies: [
          ...s.policies,
          {
            ...s.policies[1],
            name: 'added',
            podSelector: { matchLabels: { app: 'app-1' }, matchExpressions: [] },
          },
        ],
      }),
    ],
    [
      'policy change',
      () => ({
        ...s,
        policies: s.policies.map((p, i) => (i === 0 ? { ...p, ingress: p.ingress.slice(1) } : p)),
      }),
    ],
    ['policy delete', () => ({ ...s, policies: s.policies.filter((p) => p.name !== 'added') })],
    [
      'pod label change',
      () => ({
        ...s,
        pods: s.pods.map((p) =>
          p === victim ? { ...p, labels: { ...p.labels, tier: p.labels.tier === 'web' ? 'db' : 'web' } } : p,
        ),
      }),
    ],
    ['new pod', () => ({ ...s, pods: [...s.pods, { ...victim, name: 'new-pod', ips: ['10.250.0.1'] }] })],
  ];
  for (const [label, change] of changes) {
    const before = s;
    s = change();
    const cpu = [];
    let plan;
    let text;
    // A few rounds of the same change back and forth: the CPU time of the forward passes.
    for (let r = 0; r < 5; r++) {
      const c = process.cpuUsage();
      plan = planner.plan(s);
      text = renderRulesetDelta(prev, plan);
      const used = process.cpuUsage(c);
      cpu.push((used.user + used.system) / 1000);
      planner.plan(before);
      planner.plan(s);
    }
    cpu.sort((a, b) => a - b);
    const c = process.cpuUsage();
    renderRuleset(planNode(s, 'node-0'));
    const scratch = process.cpuUsage(c);
    console.log(
      `incremental ${label}: plan + delta ${cpu[2].toFixed(1)} ms cpu (median of 5; ${planner.lastPass.profilesComputed} profiles and ${planner.lastPass.peersComputed} rule peers recomputed), delta ${text.length} B; from scratch ${((scratch.user + scratch.system) / 1000).toFixed(0)} ms cpu`,
    );
    prev = plan;
  }
}
