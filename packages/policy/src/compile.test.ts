import { describe, expect, it } from 'vitest';
import { policy, upstreamCluster } from '../test/cluster-fixture.js';
import { compileNodeRuleset } from './compile.js';
import type { ClusterState } from './model.js';
import { planNode } from './plan.js';
import { PolicyIndex } from './cluster.js';

const podA = { matchLabels: { pod: 'a' } };
const web = policy('x', 'web', {
  podSelector: podA,
  ingress: [
    {
      from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }],
      ports: [
        { port: 80 },
        { port: 'serve-81-udp', protocol: 'UDP' },
        { protocol: 'SCTP', port: 80, endPort: 90 },
      ],
    },
    { from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.244.0.0/16'] } }] },
  ],
});

/** The lines of one block (`chain NAME {` ... `}`) of a rendered ruleset. */
function block(text: string, head: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim().startsWith(head));
  expect(start, head).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > start && l === '  }');
  return lines.slice(start + 1, end).map((l) => l.trim());
}

describe('compileNodeRuleset', () => {
  it('an isolated pod: its address jumps to a chain of set lookups, v4, v6, SCTP and named ports resolved', () => {
    const text = compileNodeRuleset(upstreamCluster([web]), 'node-1');
    const chain = /10\.244\.1\.10 : jump (i-[0-9a-f]{16})/.exec(text)![1]!;
    expect(text).toContain(
      `map ingress6 { type ipv6_addr : verdict; elements = { fd00:244:1::a : jump ${chain} } }`,
    );
    // y's pods: 10.244.1.13-14 on node-1, 10.244.2.15 on node-2; 10/8 minus 10.244/16 on any port.
    expect(text).toContain(
      `set ${chain}-a4 { type ipv4_addr; flags interval; elements = { 10.0.0.0-10.243.255.255, 10.245.0.0-10.255.255.255 } }`,
    );
    expect(text).toContain(
      `set ${chain}-ap4 { type ipv4_addr . inet_proto . inet_service; flags interval; elements = { ` +
        `10.244.1.13-10.244.1.14 . sctp . 80-90, 10.244.1.13-10.244.1.14 . tcp . 80, 10.244.1.13-10.244.1.14 . udp . 81, ` +
        `10.244.2.15 . sctp . 80-90, 10.244.2.15 . tcp . 80, 10.244.2.15 . udp . 81 } }`,
    );
    expect(text).toContain(
      `set ${chain}-ap6 { type ipv6_addr . inet_proto . inet_service; flags interval; elements = { fd00:244:1::d-fd00:244:1::e . sctp . 80-90,`,
    );
    expect(block(text, `chain ${chain} {`)).toEqual([
      `ip saddr @${chain}-a4 accept`,
      `ip saddr . meta l4proto . th dport @${chain}-ap4 accept`,
      `ip6 saddr . meta l4proto . th dport @${chain}-ap6 accept`,
      'counter name ingress-drops drop',
    ]);
    expect(block(text, 'chain forward {')).toEqual([
      'type filter hook forward priority filter - 10; policy accept;',
      'ct state established,related accept',
      'ct state invalid drop',
      'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept',
      'ip saddr @node4 accept',
      'ip daddr @node4 accept',
      'ip6 saddr @node6 accept',
      'ip6 daddr @node6 accept',
      'ip saddr . ip daddr @self4 accept',
      'ip6 saddr . ip6 daddr @self6 accept',
      'ip saddr vmap @egress4',
      'ip6 saddr vmap @egress6',
      'ip daddr vmap @ingress4',
      'ip6 daddr vmap @ingress6',
    ]);
    expect(text).toMatch(
      /^table inet minicni-policy\ndelete table inet minicni-policy\ntable inet minicni-policy \{$/m,
    );
    expect(text).toContain('set node4 { type ipv4_addr; elements = { 192.168.50.1 } }');
    expect(text).toContain(
      'set self4 { type ipv4_addr . ipv4_addr; elements = { 10.244.1.10 . 10.244.1.10 } }',
    );
  });

  it('ingress is compiled on the destination node only, egress on the source node only', () => {
    const egress = policy('x', 'out', { podSelector: podA, policyTypes: ['Egress'] });
    const n1 = planNode(upstreamCluster([web, egress]), 'node-1');
    const n2 = planNode(upstreamCluster([web, egress]), 'node-2');
    expect(n1.ingress[4].map(([a]) => a)).toEqual([0x0af4010an]); // x/a, 10.244.1.10
    expect(n1.egress[4].map(([a]) => a)).toEqual([0x0af4010an]);
    expect(n2.ingress[4]).toEqual([]);
    expect(n2.egress[4]).toEqual([]);
    // Deny-all egress: the chain only drops.
    const chain = n1.profiles.find((p) => p.direction === 'egress')!;
    expect(chain).toMatchObject({
      acceptAll: false,
      ports: [],
      addrs: { 4: [], 6: [] },
      addrPorts: { 4: [], 6: [] },
    });
  });

  it('pods selected by the same policies share one chain and its sets', () => {
    const plan = planNode(
      upstreamCluster([policy('x', 'deny', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] })]),
      'node-1',
    );
    expect(plan.ingress[4]).toHaveLength(2); // x/a, x/b
    expect(new Set(plan.ingress[4].map(([, c]) => c)).size).toBe(1);
    expect(plan.profiles).toHaveLength(1);
  });

  it('per-packet work does not grow with the number of policies', () => {
    const many = Array.from({ length: 300 }, (_, i) =>
      policy('x', `p${i}`, {
        podSelector: {},
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { ns: i % 2 ? 'y' : 'z' } } }],
            ports: [{ port: 1000 + i }, { port: 'serve-80-tcp' }],
          },
        ],
      }),
    );
    for (const policies of [many.slice(0, 1), many]) {
      const text = compileNodeRuleset(upstreamCluster(policies), 'node-1');
      expect(block(text, 'chain forward {')).toHaveLength(14);
      for (const m of text.matchAll(/^ {2}chain (i-[0-9a-f]+) \{$/gm))
        expect(block(text, `chain ${m[1]} {`).length).toBeLessThanOrEqual(6);
    }
  });

  it('pods without an address yet, host-network pods and other nodes’ pods are not in the maps', () => {
    const base = upstreamCluster([policy('x', 'deny', { podSelector: {}, policyTypes: ['Ingress'] })]);
    const state: ClusterState = {
      ...base,
      pods: base.pods.map((p) =>
        p.name === 'a' ? { ...p, ips: [] } : p.name === 'b' ? { ...p, hostNetwork: true } : p,
      ),
    };
    expect(planNode(state, 'node-1').ingress).toEqual({ 4: [], 6: [] });
    expect(planNode(state, 'node-2').ingress[4]).toHaveLength(1); // x/c
  });

  it('is deterministic: the input order does not change the text', () => {
    const state = upstreamCluster([
      web,
      policy('y', 'all', {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }],
      }),
    ]);
    const shuffled: ClusterState = {
      ...state,
      pods: [...state.pods].reverse(),
      policies: [...state.policies].reverse(),
      namespaces: [...state.namespaces].reverse(),
    };
    expect(compileNodeRuleset(shuffled, 'node-1')).toBe(compileNodeRuleset(state, 'node-1'));
  });

  it('overlapping grants become disjoint set elements (concatenated interval sets refuse overlaps)', () => {
    const plan = planNode(
      upstreamCluster([
        policy('x', 'a', {
          podSelector: podA,
          ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 80, endPort: 100 }] }],
        }),
        policy('x', 'b', {
          podSelector: podA,
          ingress: [
            {
              from: [{ ipBlock: { cidr: '10.244.0.0/16' } }],
              ports: [{ port: 90, endPort: 120 }, { port: 443 }],
            },
          ],
        }),
      ]),
      'node-1',
    );
    const els = plan.profiles[0]!.addrPorts[4];
    expect(
      els.map((e) => `${e.lo.toString(16)}-${e.hi.toString(16)} ${e.protocol} ${e.portLo}-${e.portHi}`),
    ).toEqual(['a000000-affffff TCP 80-100', 'af40000-af4ffff TCP 101-120', 'af40000-af4ffff TCP 443-443']);
  });

  it('takes the node addresses, the table name and the priority as options', () => {
    const text = compileNodeRuleset(upstreamCluster(), 'node-1', {
      nodeIps: ['10.0.0.1', 'fd00::1'],
      table: 'pol',
      priority: -200,
    });
    expect(text).toContain('set node4 { type ipv4_addr; elements = { 10.0.0.1 } }');
    expect(text).toContain('set node6 { type ipv6_addr; elements = { fd00::1 } }');
    expect(text).toContain('delete table inet pol\n');
    expect(text).toContain('priority filter - 200;');
    expect(() => compileNodeRuleset(upstreamCluster(), 'node-1', { table: 'x; flush ruleset' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
    expect(() => compileNodeRuleset(upstreamCluster(), 'node-1', { priority: 0.5 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
  });

  it('two pods with one address: the first in key order owns it, in the maps as in the evaluator', () => {
    const base = upstreamCluster([policy('y', 'deny', { podSelector: {}, policyTypes: ['Ingress'] })]);
    const xa = base.pods.find((p) => p.namespace === 'x' && p.name === 'a')!;
    const state: ClusterState = {
      ...base,
      pods: base.pods.map((p) => (p.namespace === 'y' && p.name === 'a' ? { ...p, ips: xa.ips } : p)),
    };
    const plan = planNode(state, 'node-1');
    expect(plan.ingress[4].map(([a]) => a)).not.toContain(0x0af4010an); // x/a owns it, and x/a is not isolated
    const index = new PolicyIndex(state);
    expect(index.addressConflicts).toEqual([
      '10.244.1.10 is held by x/a and y/a',
      'fd00:244:1::a is held by x/a and y/a',
    ]);
  });
});

describe('fail closed for unknown addresses in the node pod network', () => {
  const cidrs = ['10.244.1.0/24', 'fd00:244:1::/64'];

  it('without pod CIDRs nothing changes: no guard sets, no guard rules', () => {
    const plan = planNode(upstreamCluster([web]), 'node-1');
    expect(plan.guard).toBeUndefined();
    const text = compileNodeRuleset(upstreamCluster([web]), 'node-1');
    expect(text).not.toMatch(/podnet|pods4|unknown-drops/);
  });

  it('knows every pod address inside the CIDRs, of any node, and drops the rest both ways after the node and self accepts', () => {
    const base = upstreamCluster([web]);
    const state = { ...base, pods: [...base.pods] };
    // A pod the snapshot places on node-2 whose address lies in node-1's CIDR is still a pod.
    state.pods.push({ ...state.pods[0]!, name: 'moved', node: 'node-2', ips: ['10.244.1.99'] });
    // Host-network pods and pods without an address are not pods of the pod network.
    state.pods.push({ ...state.pods[0]!, name: 'host', hostNetwork: true, ips: ['10.244.1.98'] });
    state.pods.push({ ...state.pods[0]!, name: 'pending', ips: [] });
    const plan = planNode(state, 'node-1', { podCidrs: cidrs });
    expect(plan.guard!.nets[4]).toEqual([{ lo: 0x0af40100n, hi: 0x0af401ffn }]);
    expect(plan.guard!.known[4].map((v) => Number(v & 0xffn))).toEqual([10, 11, 13, 14, 16, 17, 99]);
    expect(plan.guard!.known[6]).toHaveLength(6);
    const text = compileNodeRuleset(state, 'node-1', { podCidrs: cidrs });
    expect(text).toContain('counter unknown-drops { }');
    expect(text).toContain('set podnet4 { type ipv4_addr; flags interval; elements = { 10.244.1.0/24 } }');
    expect(text).toContain('set podnet6 { type ipv6_addr; flags interval; elements = { fd00:244:1::/64 } }');
    expect(text).toContain(
      'set pods4 { type ipv4_addr; elements = { 10.244.1.10, 10.244.1.11, 10.244.1.13, 10.244.1.14, 10.244.1.16, 10.244.1.17, 10.244.1.99 } }',
    );
    const forward = block(text, 'chain forward {');
    const guard = [
      'ip saddr @podnet4 ip saddr != @pods4 counter name unknown-drops drop',
      'ip daddr @podnet4 ip daddr != @pods4 counter name unknown-drops drop',
      'ip6 saddr @podnet6 ip6 saddr != @pods6 counter name unknown-drops drop',
      'ip6 daddr @podnet6 ip6 daddr != @pods6 counter name unknown-drops drop',
    ];
    const at = forward.indexOf(guard[0]!);
    expect(forward.slice(at, at + 4)).toEqual(guard);
    // Node <-> pod (kubelet probes) and hairpin pass before; the policy maps come after.
    expect(at).toBeGreaterThan(forward.indexOf('ip6 saddr . ip6 daddr @self6 accept'));
    expect(at).toBeGreaterThan(forward.indexOf('ip daddr @node4 accept'));
    expect(at + 4).toBe(forward.indexOf('ip saddr vmap @egress4'));
  });

  it('guards only the families the node has a pod CIDR of, and an empty network stays a valid set', () => {
    const text = compileNodeRuleset({ pods: [], namespaces: [], policies: [] }, 'n', {
      nodeIps: ['192.168.50.1'],
      podCidrs: ['10.244.7.0/24'],
    });
    expect(text).toContain('set pods4 { type ipv4_addr; }');
    expect(text).toContain('set podnet6 { type ipv6_addr; flags interval; }');
    expect(text).toMatch(/ip saddr @podnet4 ip saddr != @pods4/);
    expect(text).not.toMatch(/ip6 \w+ @podnet6/);
  });

  it('refuses a pod CIDR that is not a network', () => {
    const state = { pods: [], namespaces: [], policies: [] };
    for (const bad of ['10.244.1.5/24', 'nope', '10.244.1.0']) {
      expect(() => planNode(state, 'n', { nodeIps: [], podCidrs: [bad] }), bad).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION' }),
      );
    }
  });
});
