import { describe, expect, it } from 'vitest';
import type { ClusterState, NetworkPolicy, Pod } from './model.js';
import { NodePlanner } from './node-planner.js';
import { planNode } from './plan.js';

const sel = (matchLabels: Record<string, string> = {}) => ({ matchLabels, matchExpressions: [] });

function cluster(namespaces: number): ClusterState {
  const pods: Pod[] = [];
  const policies: NetworkPolicy[] = [];
  for (let i = 0; i < namespaces; i++) {
    const ns = `ns${i}`;
    for (let j = 0; j < 2; j++)
      pods.push({
        namespace: ns,
        name: `p${j}`,
        labels: { app: `a${j}` },
        ips: [`10.244.${i}.${j + 2}`],
        node: 'n1',
        ports: [],
      });
    policies.push({
      namespace: ns,
      name: 'web',
      podSelector: sel({ app: 'a0' }),
      policyTypes: ['Ingress'],
      ingress: [
        { peers: [{ kind: 'pods', pods: sel({ app: 'a1' }) }], ports: [{ protocol: 'TCP', port: 80 + i }] },
      ],
      egress: [],
    });
  }
  return {
    namespaces: Array.from({ length: namespaces }, (_, i) => ({ name: `ns${i}`, labels: {} })),
    pods,
    policies,
    nodes: [{ name: 'n1', ips: ['192.168.1.1'] }],
  };
}

describe('NodePlanner', () => {
  it('recomputes only what a change touches, and says so', () => {
    const planner = new NodePlanner('n1');
    let s = cluster(20);
    planner.plan(s);
    expect(planner.lastPass).toMatchObject({ full: true, profilesComputed: 20, peersComputed: 20 });

    // One policy's port: its profile and rule peers only.
    s = {
      ...s,
      policies: s.policies.map((p, i) =>
        i === 3 ? { ...p, ingress: [{ ...p.ingress[0]!, ports: [{ protocol: 'TCP', port: 9 }] }] } : p,
      ),
    };
    expect(planner.plan(s)).toEqual(planNode(s, 'n1'));
    expect(planner.lastPass).toMatchObject({
      full: false,
      changedPolicies: 1,
      profilesComputed: 1,
      peersComputed: 1,
    });

    // A peer pod of ns5 changes its label: the ns5 rule's peers and the profile built on them.
    s = {
      ...s,
      pods: s.pods.map((p) =>
        p.namespace === 'ns5' && p.name === 'p1' ? { ...p, labels: { app: 'zz' } } : p,
      ),
    };
    expect(planner.plan(s)).toEqual(planNode(s, 'n1'));
    expect(planner.lastPass).toMatchObject({
      full: false,
      changedPods: 1,
      profilesComputed: 1,
      peersComputed: 1,
    });

    // The same snapshot again: nothing to do.
    planner.plan({ ...s });
    expect(planner.lastPass).toMatchObject({
      full: false,
      changedPods: 0,
      profilesComputed: 0,
      peersComputed: 0,
    });
  });

  it('plans from scratch after a relist-sized change and after reset(); a refused snapshot changes nothing', () => {
    const planner = new NodePlanner('n1');
    const s = cluster(40);
    planner.plan(s);
    // Every pod replaced by an equal copy (a relist): 80 changes.
    const copies = { ...s, pods: s.pods.map((p) => ({ ...p })) };
    expect(planner.plan(copies)).toEqual(planNode(copies, 'n1'));
    expect(planner.lastPass).toMatchObject({ full: true, changedPods: 80 });
    planner.reset();
    planner.plan(copies);
    expect(planner.lastPass?.full).toBe(true);
    const dup = { ...copies, policies: [...copies.policies, copies.policies[0]!] };
    // A snapshot the index refuses changes nothing kept: the next pass goes on from the last good one.
    expect(() => planner.plan(dup)).toThrow(/appears twice/);
    const changed = { ...copies, policies: copies.policies.slice(1) };
    expect(planner.plan(changed)).toEqual(planNode(changed, 'n1'));
    expect(planner.lastPass).toMatchObject({ full: false, changedPolicies: 1 });
    // A pass that fails halfway (an address that does not parse) forgets what it kept.
    const bad = {
      ...changed,
      pods: [...changed.pods, { ...changed.pods[2]!, name: 'bad', ips: ['10.244.999.1'] }],
    };
    expect(() => planner.plan(bad)).toThrow(/10\.244\.999\.1/);
    expect(planner.plan(changed)).toEqual(planNode(changed, 'n1'));
    expect(planner.lastPass?.full).toBe(true);
  });
});
