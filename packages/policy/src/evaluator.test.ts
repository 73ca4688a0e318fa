import { describe, expect, it } from 'vitest';
import { policy, upstreamCluster, podIps } from '../test/cluster-fixture.js';
import { isPolicyError } from './errors.js';
import { Evaluator } from './evaluator.js';
import type { ClusterState, Pod } from './model.js';

const podA = { matchLabels: { pod: 'a' } };

describe('Evaluator.verdict', () => {
  it('explains which policies select each side and which rule allowed', () => {
    const ev = new Evaluator(
      upstreamCluster([
        policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] }),
        policy('x', 'web', {
          podSelector: podA,
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: 80 }] }],
        }),
        policy('y', 'out', {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }, { to: [{ namespaceSelector: {} }] }],
        }),
      ]),
    );
    const v = ev.verdict({ pod: 'y/b' }, { pod: 'x/a' }, 80, 'TCP');
    expect(v).toMatchObject({
      allowed: true,
      family: 4,
      egress: {
        allowed: true,
        pod: 'y/b',
        isolated: true,
        policies: ['y/out'],
        allowedBy: { policy: 'y/out', rule: 1 },
      },
      ingress: {
        allowed: true,
        pod: 'x/a',
        isolated: true,
        policies: ['x/deny-all', 'x/web'],
        allowedBy: { policy: 'x/web', rule: 0 },
      },
    });
    expect(v.reason).toBe(
      'ALLOW: egress: allowed by y/out rule 1 (selected by y/out); ingress: allowed by x/web rule 0 (selected by x/deny-all, x/web)',
    );
    const denied = ev.verdict({ pod: 'y/b' }, { pod: 'x/a' }, 81, 'TCP');
    expect(denied.allowed).toBe(false);
    expect(denied.ingress.allowedBy).toBeUndefined();
    expect(denied.reason).toContain('ingress: denied, no rule of x/deny-all, x/web allows it');
    const open = ev.verdict({ pod: 'x/a' }, { pod: 'z/c' }, 81, 'UDP');
    expect(open.reason).toBe(
      'ALLOW: egress: x/a is not isolated (no egress policy selects it); ingress: z/c is not isolated (no ingress policy selects it)',
    );
  });

  it('addresses outside the cluster: only the pod side is enforced', () => {
    const ev = new Evaluator(
      upstreamCluster([
        policy('x', 'ext', {
          podSelector: podA,
          policyTypes: ['Ingress', 'Egress'],
          ingress: [{ from: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }] }],
          egress: [{ to: [{ ipBlock: { cidr: '2001:db8::/32' } }] }],
        }),
      ]),
    );
    expect(ev.verdict({ ip: '203.0.113.7' }, { pod: 'x/a' }, 80, 'TCP')).toMatchObject({
      allowed: true,
      egress: { isolated: false },
    });
    expect(ev.verdict({ ip: '203.0.113.200' }, { pod: 'x/a' }, 80, 'TCP').allowed).toBe(false);
    expect(ev.verdict({ pod: 'x/a' }, { ip: '2001:db8::1' }, 443, 'TCP')).toMatchObject({
      allowed: true,
      family: 6,
    });
    expect(ev.verdict({ pod: 'x/a' }, { ip: '2001:db9::1' }, 443, 'TCP').allowed).toBe(false);
    // A pod's own address is that pod, not an outside address.
    expect(ev.verdict({ ip: podIps('y', 'b')[0] }, { pod: 'x/a' }, 80, 'TCP').ingress.allowed).toBe(false);
    expect(ev.verdict({ ip: podIps('y', 'b')[0] }, { ip: podIps('x', 'b')[0] }, 80, 'TCP').egress.pod).toBe(
      'y/b',
    );
  });

  it('names the peer of the allowing rule that matched, none for a rule without peers', () => {
    const ev = new Evaluator(
      upstreamCluster([
        policy('x', 'mixed', {
          podSelector: podA,
          policyTypes: ['Ingress', 'Egress'],
          ingress: [
            {
              from: [
                { podSelector: { matchLabels: { pod: 'nobody' } } },
                { ipBlock: { cidr: '203.0.113.0/24' } },
                { namespaceSelector: { matchLabels: { ns: 'y' } } },
              ],
            },
          ],
          egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }],
        }),
      ]),
    );
    expect(ev.verdict({ ip: '203.0.113.9' }, { pod: 'x/a' }, 80, 'TCP').ingress.allowedBy).toEqual({
      policy: 'x/mixed',
      rule: 0,
      peer: 1,
    });
    expect(ev.verdict({ pod: 'y/b' }, { pod: 'x/a' }, 80, 'TCP').ingress.allowedBy).toEqual({
      policy: 'x/mixed',
      rule: 0,
      peer: 2,
    });
    expect(ev.verdict({ pod: 'x/a' }, { pod: 'y/b' }, 53, 'UDP').egress.allowedBy).toEqual({
      policy: 'x/mixed',
      rule: 0,
    });
  });

  it('a pod and its own node always talk; a pod always reaches itself', () => {
    const ev = new Evaluator(
      upstreamCluster([policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })]),
    );
    expect(ev.verdict({ ip: '192.168.50.1' }, { pod: 'x/a' }, 8080, 'TCP')).toMatchObject({
      allowed: true,
      special: 'node',
    });
    expect(ev.verdict({ pod: 'x/a' }, { ip: 'fd00:50::1' }, 10250, 'TCP')).toMatchObject({
      allowed: true,
      special: 'node',
    });
    // x/a runs on node-1; node-2 is just another address to it.
    expect(ev.verdict({ ip: '192.168.50.2' }, { pod: 'x/a' }, 8080, 'TCP').allowed).toBe(false);
    expect(ev.verdict({ pod: 'x/a' }, { pod: 'x/a' }, 80, 'TCP')).toMatchObject({
      allowed: true,
      special: 'self',
    });
  });

  it('named ports resolve on the destination pod: ingress on the selected pod, egress on each peer', () => {
    const base = upstreamCluster();
    const custom: Pod = {
      ...base.pods.find((p) => p.namespace === 'y' && p.name === 'b')!,
      ports: [{ name: 'web', port: 8080, protocol: 'TCP' }],
    };
    const other: Pod = {
      ...base.pods.find((p) => p.namespace === 'y' && p.name === 'c')!,
      ports: [{ name: 'web', port: 9090, protocol: 'TCP' }],
    };
    const state: ClusterState = {
      ...base,
      pods: base.pods.map((p) =>
        p.namespace === 'y' && p.name === 'b' ? custom : p.namespace === 'y' && p.name === 'c' ? other : p,
      ),
      policies: [
        policy('x', 'egress-web', {
          podSelector: podA,
          policyTypes: ['Egress'],
          egress: [{ ports: [{ port: 'web' }] }],
        }),
        policy('y', 'ingress-web', {
          podSelector: { matchLabels: { pod: 'c' } },
          ingress: [{ ports: [{ port: 'web' }] }],
        }),
      ],
    };
    const ev = new Evaluator(state);
    expect(ev.verdict({ pod: 'x/a' }, { pod: 'y/b' }, 8080, 'TCP').allowed).toBe(true);
    expect(ev.verdict({ pod: 'x/a' }, { pod: 'y/b' }, 9090, 'TCP').allowed).toBe(false);
    expect(ev.verdict({ pod: 'x/a' }, { pod: 'y/c' }, 9090, 'TCP').allowed).toBe(true);
    expect(ev.verdict({ pod: 'x/a' }, { pod: 'y/a' }, 8080, 'TCP').allowed).toBe(false); // y/a has no port "web"
    expect(ev.verdict({ pod: 'x/a' }, { ip: '198.51.100.1' }, 8080, 'TCP').allowed).toBe(false); // nothing to resolve on
    expect(ev.verdict({ pod: 'z/a' }, { pod: 'y/c' }, 9090, 'TCP').allowed).toBe(true);
    expect(ev.verdict({ pod: 'z/a' }, { pod: 'y/c' }, 8080, 'TCP').allowed).toBe(false);
  });

  it('host-network pods are never selected nor matched', () => {
    const base = upstreamCluster([policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] })]);
    const state = {
      ...base,
      pods: [
        ...base.pods,
        { namespace: 'x', name: 'host', labels: {}, ips: [], node: 'node-1', ports: [], hostNetwork: true },
      ],
    };
    const ev = new Evaluator(state);
    expect(ev.verdict({ pod: 'x/b' }, { pod: 'x/host' }, 80, 'TCP').ingress).toMatchObject({
      isolated: false,
      allowed: true,
    });
  });

  it('picks the family both pods have, or the one asked for', () => {
    const ev = new Evaluator(upstreamCluster());
    expect(ev.verdict({ pod: 'x/a' }, { pod: 'y/a' }, 80, 'TCP').family).toBe(4);
    expect(ev.verdict({ pod: 'x/a' }, { pod: 'y/a' }, 80, 'TCP', { family: 6 }).family).toBe(6);
  });

  it('refuses bad questions with codes', () => {
    const ev = new Evaluator(upstreamCluster());
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return isPolicyError(e) ? e.code : String(e);
      }
      return 'no error';
    };
    expect(codeOf(() => ev.verdict({ pod: 'x/nope' }, { pod: 'x/a' }, 80, 'TCP'))).toBe('UNKNOWN_POD');
    expect(codeOf(() => ev.verdict({ ip: '10.1.1' }, { pod: 'x/a' }, 80, 'TCP'))).toBe('INVALID_ADDRESS');
    expect(codeOf(() => ev.verdict({ ip: '10.1.1.1' }, { ip: 'fd00::1' }, 80, 'TCP'))).toBe(
      'INVALID_ADDRESS',
    );
    expect(codeOf(() => ev.verdict({ pod: 'x/a' }, { pod: 'x/b' }, 70000, 'TCP'))).toBe('INVALID_PORT');
    expect(codeOf(() => ev.verdict({ pod: 'x/a' }, { pod: 'x/b' }, 80, 'ICMP' as 'TCP'))).toBe(
      'INVALID_PROTOCOL',
    );
    const dup = upstreamCluster();
    expect(codeOf(() => new Evaluator({ ...dup, pods: [...dup.pods, dup.pods[0]!] }))).toBe(
      'DUPLICATE_OBJECT',
    );
  });
});
