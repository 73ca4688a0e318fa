// A synthetic cluster for the policy benches, in @minicni/policy's model: namespaces owned by
// teams, pods of a few apps per namespace spread over nodes, and two policies of common shapes
// per namespace (default-deny ingress with same-tier, team and ipBlock peers on numeric, named
// and ranged ports; egress to DNS and the own namespace). Plain JS: the .mjs benches import it
// without a build, the bundled TypeScript bench bodies through its .d.mts.

const sel = (matchLabels = {}, matchExpressions = []) => ({ matchLabels, matchExpressions });

/** RFC 5952 text of eight 16-bit groups: the longest run (>= 2) of zero groups becomes `::`. */
function ipv6(groups) {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (gs) => gs.map((g) => g.toString(16)).join(':');
  return best < 0 ? hex(groups) : `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** Node `k`: its name, InternalIPs (IPv4 and IPv6) and pod CIDRs (a /24 and a /64). */
export function syntheticNode(k) {
  const h = k + 10;
  return {
    name: `node-${k}`,
    ips: [`192.168.${h >> 8}.${h & 255}`, ipv6([0xfd00, 0xc0a8, 0, 0, 0, 0, 0, h])],
    podCIDRs: [`10.${64 + (k >> 8)}.${k & 255}.0/24`, `${ipv6([0xfd00, 0x10, 0, k, 0, 0, 0, 0])}/64`],
  };
}

/**
 * `namespaces` namespaces of `podsPerNamespace` pods each, `podsPerNode` pods per node. Pods fill
 * nodes one after the other, or with `scatter` are spread over them, so that one node holds pods
 * of many namespaces as a scheduler leaves it. Returns the model's ClusterState with
 * every node (`nodes`), plus `nodeCount`.
 */
export function syntheticCluster({
  namespaces: nsCount = 5000,
  podsPerNamespace = 30,
  podsPerNode = 250,
  scatter = false,
} = {}) {
  const total = nsCount * podsPerNamespace;
  const nodeCount = Math.max(1, Math.ceil(total / podsPerNode));
  const spread = [7919, 104729, 1299709].find((p) => total % p !== 0);
  const namespaces = [];
  const pods = [];
  const policies = [];
  let n = 0;
  for (let i = 0; i < nsCount; i++) {
    const ns = `ns-${i}`;
    const team = `t${i % 50}`;
    namespaces.push({
      name: ns,
      labels: {
        'kubernetes.io/metadata.name': ns,
        team,
        environment: i % 3 ? 'production' : 'staging',
      },
    });
    for (let j = 0; j < podsPerNamespace; j++, n++) {
      // Scattered: slot s is a permutation of n (a multiplier prime to the total), so a node's
      // pods come from all over the cluster: many namespaces, apps and tiers.
      const s = scatter ? (n * spread) % total : n;
      const k = Math.floor(s / podsPerNode);
      const m = s % podsPerNode;
      const app = `app-${j % 5}`;
      pods.push({
        namespace: ns,
        name: `${app}-${(i * 7919 + (j % 5)).toString(36).padStart(5, 'x')}-${j.toString(36)}`,
        labels: {
          app,
          tier: j % 2 ? 'web' : 'db',
          'app.kubernetes.io/name': app,
          'app.kubernetes.io/instance': `${app}-${team}`,
          'pod-template-hash': (((i * 31 + (j % 5)) * 2654435761) >>> 0).toString(36).slice(0, 10),
        },
        ips: [`10.${64 + (k >> 8)}.${k & 255}.${m + 2}`, ipv6([0xfd00, 0x10, 0, k, 0, 0, 0, m + 2])],
        node: `node-${k}`,
        ports: [{ name: 'http', port: 8080 + (j % 3), protocol: 'TCP' }],
      });
    }
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
          peers: [{ kind: 'pods', pods: sel(), namespaces: sel({ team }) }],
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
  const nodes = Array.from({ length: nodeCount }, (_, k) => {
    const { name, ips } = syntheticNode(k);
    return { name, ips };
  });
  return { namespaces, pods, policies, nodes, nodeCount };
}
