// Compile cost at cluster scale: a synthetic cluster of 150,000 pods in 5,000 namespaces
// (600 nodes of 250 pods), 10,000 policies of common shapes; times the index, one node's
// plan and its text, and prints the ruleset's size. Run after `pnpm build`:
//   node bench/compile.mjs [namespaces] [podsPerNamespace]
import { performance } from 'node:perf_hooks';
import { compileNodeRuleset, PolicyIndex, planNode, renderRuleset } from '../dist/index.js';

const NS = Number(process.argv[2] ?? 5000);
const PER_NS = Number(process.argv[3] ?? 30);
const PODS_PER_NODE = 250;
const sel = (matchLabels = {}, matchExpressions = []) => ({ matchLabels, matchExpressions });

function cluster() {
  const namespaces = [];
  const pods = [];
  const policies = [];
  let n = 0;
  for (let i = 0; i < NS; i++) {
    const ns = `ns-${i}`;
    namespaces.push({ name: ns, labels: { 'kubernetes.io/metadata.name': ns, team: `t${i % 50}` } });
    for (let j = 0; j < PER_NS; j++, n++) {
      const node = `node-${Math.floor(n / PODS_PER_NODE)}`;
      const ip = `10.${64 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
      const ip6 = `fd00:10::${n >> 16}:${(n & 0xffff).toString(16)}`;
      pods.push({
        namespace: ns,
        name: `pod-${j}`,
        labels: { app: `app-${j % 5}`, tier: j % 2 ? 'web' : 'db' },
        ips: [ip, ip6],
        node,
        ports: [{ name: 'http', port: 8080 + (j % 3), protocol: 'TCP' }],
      });
    }
    // Two policies per namespace: default deny ingress with same-app and team access on a named
    // port, and egress to DNS plus the own namespace.
    policies.push({
      namespace: ns,
      name: 'ingress',
      podSelector: sel(),
      policyTypes: ['Ingress'],
      ingress: [
        {
          peers: [{ kind: 'pods', pods: sel({ tier: 'web' }) }],
          ports: [
            { protocol: 'TCP', port: 80 },
            { protocol: 'TCP', port: 'http' },
          ],
        },
        {
          peers: [{ kind: 'pods', pods: sel(), namespaces: sel({ team: `t${i % 50}` }) }],
          ports: [{ protocol: 'TCP', port: 9000, endPort: 9100 }],
        },
        { peers: [{ kind: 'ipBlock', ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } }] },
      ],
      egress: [],
    });
    policies.push({
      namespace: ns,
      name: 'egress',
      podSelector: sel({ tier: 'db' }),
      policyTypes: ['Egress'],
      ingress: [],
      egress: [
        {
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
        { peers: [{ kind: 'pods', pods: sel() }] },
      ],
    });
  }
  return { namespaces, pods, policies, nodes: [{ name: 'node-0', ips: ['192.168.50.1'] }] };
}

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

const state = cluster();
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
