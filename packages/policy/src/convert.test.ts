import { describe, expect, it } from 'vitest';
import { namespaceFromK8s, networkPolicyFromK8s, podFromK8s } from './convert.js';
import { isPolicyError, type PolicyErrorCode } from './errors.js';

const np = (spec: unknown, meta: Record<string, unknown> = {}) =>
  networkPolicyFromK8s({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { namespace: 'x', name: 'p', ...meta },
    spec,
  });

function refuses(code: PolicyErrorCode, fn: () => unknown, why: string): void {
  try {
    fn();
    expect.unreachable(`expected ${code}`);
  } catch (e) {
    expect(isPolicyError(e, code), String(e)).toBe(true);
    expect((e as Error).message).toContain(why);
  }
}

describe('networkPolicyFromK8s: the API server defaulting', () => {
  it('policyTypes absent: Ingress only, without egress rules', () => {
    expect(np({ podSelector: {} }).policyTypes).toEqual(['Ingress']);
    expect(np({ podSelector: {}, policyTypes: [] }).policyTypes).toEqual(['Ingress']);
    expect(np({ podSelector: {}, ingress: [{}] }).policyTypes).toEqual(['Ingress']);
  });

  it('policyTypes absent: Ingress and Egress when egress rules exist', () => {
    expect(np({ podSelector: {}, egress: [{}] }).policyTypes).toEqual(['Ingress', 'Egress']);
    // An empty egress list is no egress rule.
    expect(np({ podSelector: {}, egress: [] }).policyTypes).toEqual(['Ingress']);
  });

  it('policyTypes given are kept (de-duplicated, in a fixed order)', () => {
    expect(np({ podSelector: {}, policyTypes: ['Egress'] }).policyTypes).toEqual(['Egress']);
    expect(np({ podSelector: {}, policyTypes: ['Egress', 'Ingress', 'Egress'] }).policyTypes).toEqual([
      'Ingress',
      'Egress',
    ]);
  });

  it('port protocol defaults to TCP; numeric, named, protocol-only and endPort ports', () => {
    const p = np({
      podSelector: {},
      ingress: [
        {
          ports: [
            { port: 80 },
            { port: 'http' },
            { protocol: 'UDP' },
            { protocol: 'SCTP', port: 1000, endPort: 2000 },
          ],
        },
      ],
    });
    expect(p.ingress[0]!.ports).toEqual([
      { protocol: 'TCP', port: 80 },
      { protocol: 'TCP', port: 'http' },
      { protocol: 'UDP' },
      { protocol: 'SCTP', port: 1000, endPort: 2000 },
    ]);
  });

  it('empty or absent from/to and ports mean everything', () => {
    const p = np({ podSelector: {}, ingress: [{ from: [], ports: [] }, {}], egress: [{ to: null }] });
    expect(p.ingress).toEqual([{}, {}]);
    expect(p.egress).toEqual([{}]);
  });

  it('peers: absent namespaceSelector is the own namespace, {} is every namespace', () => {
    const p = np({
      podSelector: {},
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { a: 'b' } } },
            { namespaceSelector: {} },
            { namespaceSelector: {}, podSelector: {} },
          ],
        },
      ],
    });
    const [own, allNs, both] = p.ingress[0]!.peers!;
    expect(own).toEqual({ kind: 'pods', pods: { matchLabels: { a: 'b' }, matchExpressions: [] } });
    expect(own && 'namespaces' in own).toBe(false);
    expect(allNs).toMatchObject({ kind: 'pods', namespaces: { matchLabels: {} }, pods: { matchLabels: {} } });
    expect(both).toMatchObject({ kind: 'pods', namespaces: { matchLabels: {} } });
  });

  it('ipBlock: host bits are cleared, excepts normalised and sorted', () => {
    const p = np({
      podSelector: {},
      egress: [
        {
          to: [
            { ipBlock: { cidr: '10.1.2.3/16', except: ['10.1.9.9/24', '10.1.0.0/24'] } },
            { ipBlock: { cidr: 'FD00::1/64' } },
          ],
        },
      ],
    });
    expect(p.egress[0]!.peers).toEqual([
      { kind: 'ipBlock', ipBlock: { cidr: '10.1.0.0/16', except: ['10.1.0.0/24', '10.1.9.0/24'] } },
      { kind: 'ipBlock', ipBlock: { cidr: 'fd00::/64', except: [] } },
    ]);
  });

  it.each([
    ['INVALID_PORT', { ingress: [{ ports: [{ port: 0 }] }] }, 'not 1-65535'],
    ['INVALID_PORT', { ingress: [{ ports: [{ port: 65536 }] }] }, 'not 1-65535'],
    ['INVALID_PORT', { ingress: [{ ports: [{ port: '80' }] }] }, 'neither 1-65535 nor a port name'],
    ['INVALID_PORT', { ingress: [{ ports: [{ port: 'this-name-is-too-long' }] }] }, 'port name'],
    ['INVALID_PORT', { ingress: [{ ports: [{ port: 80, endPort: 79 }] }] }, 'endPort'],
    ['INVALID_PORT', { ingress: [{ ports: [{ endPort: 80 }] }] }, 'endPort needs a numeric port'],
    ['INVALID_PORT', { ingress: [{ ports: [{ port: 'http', endPort: 90 }] }] }, 'named port'],
    ['INVALID_PROTOCOL', { ingress: [{ ports: [{ protocol: 'ICMP' }] }] }, 'not TCP, UDP or SCTP'],
    ['INVALID_PROTOCOL', { ingress: [{ ports: [{ protocol: 'tcp' }] }] }, 'not TCP, UDP or SCTP'],
    ['INVALID_PEER', { ingress: [{ from: [{}] }] }, 'needs podSelector, namespaceSelector or ipBlock'],
    [
      'INVALID_PEER',
      { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] },
      'cannot be combined',
    ],
    ['INVALID_IP_BLOCK', { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0' } }] }] }, 'CIDR form'],
    [
      'INVALID_IP_BLOCK',
      { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] } }] }] },
      'not strictly inside',
    ],
    [
      'INVALID_IP_BLOCK',
      { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.0.0/8'] } }] }] },
      'not strictly inside',
    ],
    [
      'INVALID_IP_BLOCK',
      { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['fd00::/64'] } }] }] },
      'not strictly inside',
    ],
    [
      'INVALID_SELECTOR',
      { podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } },
      'needs at least one value',
    ],
    ['INVALID_OBJECT', { policyTypes: ['Both'] }, 'not Ingress or Egress'],
    ['INVALID_OBJECT', { ingress: {} }, 'must be a list'],
  ] as const)('refuses %s: %j', (code, spec, why) => {
    refuses(code, () => np({ podSelector: {}, ...spec }), why);
  });

  it('refuses objects that are not NetworkPolicies', () => {
    refuses('INVALID_OBJECT', () => networkPolicyFromK8s('x'), 'must be an object');
    refuses(
      'INVALID_OBJECT',
      () => networkPolicyFromK8s({ kind: 'Pod', metadata: { name: 'a', namespace: 'x' }, spec: {} }),
      'got kind',
    );
    refuses('INVALID_OBJECT', () => networkPolicyFromK8s({ metadata: { name: 'a' }, spec: {} }), 'namespace');
    refuses(
      'INVALID_OBJECT',
      () => networkPolicyFromK8s({ metadata: { name: 'a', namespace: 'x' } }),
      'spec is missing',
    );
    refuses('INVALID_OBJECT', () => np({}, { name: 'Bad_Name' }), 'not a valid name');
  });
});

describe('podFromK8s and namespaceFromK8s', () => {
  const pod = (over: Record<string, unknown> = {}, status: Record<string, unknown> = {}) =>
    podFromK8s({
      kind: 'Pod',
      metadata: {
        namespace: 'x',
        name: 'a',
        labels: { app: 'web' },
        uid: 'u',
        annotations: { big: 'ignored' },
      },
      spec: {
        nodeName: 'n1',
        containers: [
          {
            name: 'c',
            ports: [
              { name: 'http', containerPort: 8080 },
              { containerPort: 9000 },
              { name: 'dns', containerPort: 53, protocol: 'UDP' },
            ],
          },
        ],
        ...over,
      },
      status: {
        phase: 'Running',
        podIP: '10.244.0.5',
        podIPs: [{ ip: '10.244.0.5' }, { ip: 'FD00::0005' }],
        ...status,
      },
    });

  it('keeps only what policy needs, with canonical addresses and named ports', () => {
    expect(pod()).toEqual({
      namespace: 'x',
      name: 'a',
      labels: { app: 'web' },
      ips: ['10.244.0.5', 'fd00::5'],
      node: 'n1',
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'http', port: 8080, protocol: 'TCP' },
      ],
    });
  });

  it('falls back to status.podIP; no IP before scheduling', () => {
    expect(pod({}, { podIPs: undefined }).ips).toEqual(['10.244.0.5']);
    expect(pod({ nodeName: undefined }, { podIP: undefined, podIPs: undefined })).toMatchObject({
      ips: [],
      node: '',
    });
  });

  it('an ended pod has no address (it may already be another pod’s)', () => {
    expect(pod({}, { phase: 'Succeeded' }).ips).toEqual([]);
    expect(pod({}, { phase: 'Failed' }).ips).toEqual([]);
  });

  it('host-network pods are marked and keep no address', () => {
    expect(pod({ hostNetwork: true })).toMatchObject({ hostNetwork: true, ips: [] });
  });

  it('refuses malformed pods', () => {
    refuses('INVALID_ADDRESS', () => pod({}, { podIPs: [{ ip: '10.244.0.999' }] }), 'octet');
    refuses(
      'INVALID_PORT',
      () => pod({ containers: [{ ports: [{ name: 'http', containerPort: 0 }] }] }),
      'containerPort',
    );
    refuses(
      'INVALID_PROTOCOL',
      () => pod({ containers: [{ ports: [{ name: 'http', containerPort: 80, protocol: 'ICMP' }] }] }),
      'not TCP',
    );
    refuses(
      'INVALID_OBJECT',
      () => podFromK8s({ metadata: { namespace: 'x', name: 'a', labels: { 'a b': 'c' } } }),
      'label key',
    );
    refuses('INVALID_OBJECT', () => podFromK8s({ metadata: { name: 'a' } }), 'namespace');
  });

  it('namespaces: name and labels', () => {
    expect(
      namespaceFromK8s({
        kind: 'Namespace',
        metadata: { name: 'y', labels: { 'kubernetes.io/metadata.name': 'y' } },
      }),
    ).toEqual({
      name: 'y',
      labels: { 'kubernetes.io/metadata.name': 'y' },
    });
    expect(namespaceFromK8s({ metadata: { name: 'y' } })).toEqual({ name: 'y', labels: {} });
    refuses('INVALID_OBJECT', () => namespaceFromK8s({ metadata: {} }), 'not a valid name');
  });
});
