// Compile cost at cluster scale: a synthetic cluster (the test kit's, shared with the agent's
// policy-scale bench) of 150,000 pods in 5,000 namespaces (600 nodes of 250 pods), 10,000
// policies of common shapes; times the index, one node's
// plan and its text, and prints the ruleset's size. Run after `pnpm build`:
//   node bench/compile.mjs [namespaces] [podsPerNamespace]
import { performance } from 'node:perf_hooks';
import { syntheticCluster } from '@minicni/testkit/synthetic-cluster';
import { compileNodeRuleset, PolicyIndex, planNode, renderRuleset } from '../dist/index.js';

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
