import { canonicalIp, tryParseIp } from '@minicni/ipam';
import {
  Evaluator,
  formatSelector,
  isPolicyError,
  namespaceFromK8s,
  networkPolicyFromK8s,
  objectKey,
  podFromK8s,
  selectsAll,
  PROTOCOLS,
  type ClusterState,
  type DirectionVerdict,
  type Endpoint,
  type Namespace,
  type NetworkPolicy,
  type Peer,
  type Pod,
  type PolicyPort,
  type Protocol,
  type Verdict,
} from '@minicni/policy';
import { AgentError } from './errors.js';
import { objectKeyOf } from './informer.js';
import type { KubeClient } from './kube-client.js';
import { nodeInfoFromKube, type KubeNode } from './node-info.js';
import { isolateNamespace, POLICY_PATHS } from './policy-sources.js';

/** One list of the cluster, converted as the agent's informers convert it, and what was left out. */
export interface PolicySnapshot {
  state: ClusterState;
  /**
   * Objects that did not convert and how each was treated (as `run` treats it); `namespace` is
   * set for a policy, which only matters to pods of its namespace.
   */
  notes: { text: string; namespace?: string }[];
}

interface List {
  items?: unknown[];
}

/**
 * Lists pods, namespaces, NetworkPolicies and nodes once (the calls `run` makes, plus the
 * node list it already has) and converts them the way `run` does: a policy that does not convert
 * stands for one that isolates its namespace, a pod or namespace that does not convert is left out.
 */
export async function readPolicySnapshot(client: KubeClient, signal?: AbortSignal): Promise<PolicySnapshot> {
  const [pods, namespaces, policies, nodes] = await Promise.all(
    [POLICY_PATHS.pods, POLICY_PATHS.namespaces, POLICY_PATHS.policies, '/api/v1/nodes'].map((p) =>
      client.getJson<List>(p, signal),
    ),
  );
  const notes: PolicySnapshot['notes'] = [];
  function convert<T>(
    list: List | undefined,
    kind: string,
    from: (raw: unknown) => T,
    stand?: (raw: unknown) => T,
  ) {
    const out: T[] = [];
    for (const raw of list?.items ?? []) {
      try {
        out.push(from(raw));
      } catch (e) {
        const s = stand?.(raw);
        if (s !== undefined) out.push(s);
        const fate = s !== undefined ? 'stands for a policy isolating its namespace' : 'left out';
        const key = objectKeyOf(raw) ?? '(unnamed)';
        const text = `${kind} ${key} does not convert (${(e as Error).message}): ${fate}`;
        notes.push(s !== undefined && key.includes('/') ? { text, namespace: key.split('/')[0]! } : { text });
      }
    }
    return out;
  }
  const standFor = (raw: unknown): NetworkPolicy | undefined => {
    const [ns, name] = (objectKeyOf(raw) ?? '').split('/');
    return ns && name ? isolateNamespace(ns, name) : undefined;
  };
  const nodeRecords = convert(nodes, 'node', (raw) => nodeInfoFromKube(raw as KubeNode));
  return {
    state: {
      pods: convert<Pod>(pods, 'pod', podFromK8s),
      namespaces: convert<Namespace>(namespaces, 'namespace', namespaceFromK8s),
      policies: convert(policies, 'networkpolicy', networkPolicyFromK8s, standFor) as NetworkPolicy[],
      nodes: nodeRecords.map((n) => ({ name: n.name, ips: n.internalIPs })),
    },
    notes,
  };
}

/** What `policy explain` is asked: endpoints as `NAMESPACE/POD` or an address, a port as `80/TCP`. */
export interface ExplainQuery {
  from: string;
  to: string;
  /** `80`, `80/TCP`, `serve-80/TCP` (a named container port of the destination pod); TCP by default. */
  port: string;
}

/** One side of the connection as the cluster knows it. */
export interface ExplainedEndpoint {
  /** As given. */
  endpoint: string;
  /** `namespace/name` when this side is a pod (given by name, or an address a pod holds). */
  pod?: string;
  /** The address the verdict used; absent for a pod without one of that family yet. */
  ip?: string;
  /** The pod's node: where this side's direction is enforced. */
  node?: string;
}

export interface ExplainedDirection extends DirectionVerdict {
  /** The allowing rule as a person reads it: `from <peer>, ports <ports>`. */
  rule?: string;
}

export interface Explanation {
  from: ExplainedEndpoint;
  to: ExplainedEndpoint;
  port: number;
  protocol: Protocol;
  /** The port's name when asked by name. */
  portName?: string;
  allowed: boolean;
  family: 4 | 6;
  special?: 'self' | 'node';
  egress: ExplainedDirection;
  ingress: ExplainedDirection;
  /** The evaluator's one-line reason. */
  reason: string;
  notes: string[];
}

const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

/**
 * The verdict of @minicni/policy's evaluator for one connection, with the policies that select
 * each side, the rule that allowed it, and where each side is enforced. Throws `AgentError`:
 * `INVALID_ARGUMENT` for a malformed endpoint or port, `POD_NOT_FOUND` for an unknown pod or a
 * port name the destination pod does not have.
 */
export function explainConnection(snapshot: PolicySnapshot, q: ExplainQuery): Explanation {
  const { state } = snapshot;
  const pods = new Map(state.pods.map((p) => [objectKey(p), p]));
  const from = endpointOf(q.from, '--from', pods, state.pods);
  const to = endpointOf(q.to, '--to', pods, state.pods);
  const spec = parsePortSpec(q.port);
  let port: number;
  let portName: string | undefined;
  if (typeof spec.port === 'number') port = spec.port;
  else {
    portName = spec.port;
    const dest = to.pod;
    if (!dest)
      throw new AgentError(
        'INVALID_ARGUMENT',
        `--port ${q.port} names a port, which only a destination pod has; --to ${q.to} is not a pod: give a number`,
      );
    const found = dest.ports.find((c) => c.name === spec.port && c.protocol === spec.protocol);
    if (!found) {
      const named = dest.ports.map((c) => `${c.name}/${c.protocol}`).join(', ') || 'none';
      throw new AgentError(
        'POD_NOT_FOUND',
        `pod ${objectKey(dest)} has no ${spec.protocol} container port named "${spec.port}" (its named ports: ${named})`,
      );
    }
    port = found.port;
  }
  let verdict: Verdict;
  try {
    verdict = new Evaluator(state).verdict(from.endpoint, to.endpoint, port, spec.protocol);
  } catch (e) {
    if (isPolicyError(e)) throw new AgentError('INVALID_ARGUMENT', e.message, { cause: e });
    throw e;
  }
  const policies = new Map(state.policies.map((p) => [objectKey(p), p]));
  const ipOf = (e: ResolvedEndpoint): string | undefined =>
    e.ip ?? e.pod?.ips.find((a) => (a.includes(':') ? 6 : 4) === verdict.family);
  const side = (given: string, e: ResolvedEndpoint): ExplainedEndpoint => {
    const ip = ipOf(e);
    return {
      endpoint: given,
      ...(e.pod ? { pod: objectKey(e.pod) } : {}),
      ...(ip ? { ip } : {}),
      ...(e.pod?.node ? { node: e.pod.node } : {}),
    };
  };
  // A policy's note only matters when one side is a pod of its namespace.
  const namespaces = new Set([from.pod?.namespace, to.pod?.namespace]);
  const notes = snapshot.notes
    .filter((n) => n.namespace === undefined || namespaces.has(n.namespace))
    .map((n) => n.text);
  for (const [flag, e] of [
    ['--from', from],
    ['--to', to],
  ] as const) {
    if (e.pod && !ipOf(e))
      notes.push(`${flag} pod ${objectKey(e.pod)} has no IPv${verdict.family} address yet`);
    if (e.pod?.hostNetwork)
      notes.push(`${flag} pod ${objectKey(e.pod)} uses the host network: policy ignores it`);
  }
  return {
    from: side(q.from, from),
    to: side(q.to, to),
    port,
    protocol: spec.protocol,
    ...(portName ? { portName } : {}),
    allowed: verdict.allowed,
    family: verdict.family,
    ...(verdict.special ? { special: verdict.special } : {}),
    egress: direction(verdict.egress, 'Egress', policies),
    ingress: direction(verdict.ingress, 'Ingress', policies),
    reason: verdict.reason,
    notes,
  };
}

interface ResolvedEndpoint {
  endpoint: Endpoint;
  pod?: Pod;
  ip?: string;
}

function endpointOf(
  text: string,
  flag: string,
  pods: Map<string, Pod>,
  all: readonly Pod[],
): ResolvedEndpoint {
  if (text.includes('/')) {
    const [ns, name, extra] = text.split('/');
    if (!ns || !name || extra !== undefined)
      throw new AgentError('INVALID_ARGUMENT', `${flag} "${text}" must be NAMESPACE/POD or an IP address`);
    const pod = pods.get(text);
    if (!pod) {
      const inNs = all
        .filter((p) => p.namespace === ns)
        .map((p) => p.name)
        .sort();
      const hint = inNs.length
        ? `pods in ${ns}: ${inNs.slice(0, 5).join(', ')}${inNs.length > 5 ? `, … (${inNs.length})` : ''}`
        : `namespace ${ns} has no pods`;
      throw new AgentError('POD_NOT_FOUND', `${flag}: no pod ${text} in the cluster (${hint})`);
    }
    return { endpoint: { pod: text }, pod };
  }
  if (!tryParseIp(text))
    throw new AgentError('INVALID_ARGUMENT', `${flag} "${text}" must be NAMESPACE/POD or an IP address`);
  const ip = canonicalIp(text);
  const pod = all.find((p) => !p.hostNetwork && p.ips.includes(ip));
  return { endpoint: { ip }, ip, ...(pod ? { pod } : {}) };
}

/** `80`, `80/TCP`, `serve-80/udp`: a port number (1-65535) or an IANA service name, and a protocol. */
export function parsePortSpec(text: string): { port: number | string; protocol: Protocol } {
  const slash = text.lastIndexOf('/');
  const portText = slash >= 0 ? text.slice(0, slash) : text;
  const protoText = slash >= 0 ? text.slice(slash + 1).toUpperCase() : 'TCP';
  const usage = 'e.g. 80/TCP, 53/UDP or a named container port such as http/TCP';
  if (!PROTOCOLS.includes(protoText as Protocol))
    throw new AgentError(
      'INVALID_ARGUMENT',
      `--port "${text}": the protocol must be TCP, UDP or SCTP (${usage})`,
    );
  const protocol = protoText as Protocol;
  if (/^\d+$/.test(portText)) {
    const n = Number(portText);
    if (n < 1 || n > 65535)
      throw new AgentError('INVALID_ARGUMENT', `--port "${text}": the port must be 1-65535 (${usage})`);
    return { port: n, protocol };
  }
  if (!PORT_NAME.test(portText))
    throw new AgentError(
      'INVALID_ARGUMENT',
      `--port "${text}" is neither a port number nor a port name (lowercase letters, digits and "-", at most 15) (${usage})`,
    );
  return { port: portText, protocol };
}

function direction(
  v: DirectionVerdict,
  type: 'Ingress' | 'Egress',
  policies: Map<string, NetworkPolicy>,
): ExplainedDirection {
  if (!v.allowedBy) return { ...v };
  const policy = policies.get(v.allowedBy.policy);
  const rule = policy ? (type === 'Ingress' ? policy.ingress : policy.egress)[v.allowedBy.rule] : undefined;
  if (!policy || !rule) return { ...v };
  const peer = v.allowedBy.peer !== undefined ? rule.peers?.[v.allowedBy.peer] : undefined;
  const word = type === 'Ingress' ? 'from' : 'to';
  const peerText = peer ? describePeer(peer, policy.namespace) : `any peer`;
  const portsText = rule.ports ? rule.ports.map(describePort).join(', ') : 'any port';
  return { ...v, rule: `${word} ${peerText}, ports ${portsText}` };
}

function describePeer(p: Peer, policyNamespace: string): string {
  if (p.kind === 'ipBlock') {
    const except = p.ipBlock.except.length ? ` except ${p.ipBlock.except.join(', ')}` : '';
    return `ipBlock ${p.ipBlock.cidr}${except}`;
  }
  const pods = selectsAll(p.pods) ? 'all pods' : `pods ${formatSelector(p.pods)}`;
  if (!p.namespaces) return `${pods} in namespace ${policyNamespace}`;
  return selectsAll(p.namespaces)
    ? `${pods} in all namespaces`
    : `${pods} in namespaces ${formatSelector(p.namespaces)}`;
}

function describePort(p: PolicyPort): string {
  if (p.port === undefined) return `any ${p.protocol} port`;
  if (p.endPort !== undefined) return `${p.port}-${p.endPort}/${p.protocol}`;
  return `${p.port}/${p.protocol}`;
}

/** The readable form `policy explain` prints. */
export function formatExplanation(e: Explanation): string {
  const where = (s: ExplainedEndpoint) => {
    const what = s.pod && s.pod !== s.endpoint ? `${s.endpoint} (pod ${s.pod})` : s.endpoint;
    const ip = s.ip && s.ip !== s.endpoint ? ` ${s.ip}` : '';
    const node = s.node ? ` on node ${s.node}` : s.pod ? '' : ' (not a pod)';
    return `${what}${ip}${node}`;
  };
  const port = e.portName
    ? `${e.portName}/${e.protocol} (port ${e.port} on ${e.to.pod})`
    : `${e.port}/${e.protocol}`;
  const dir = (name: string, d: ExplainedDirection, s: ExplainedEndpoint): string[] => {
    const head = `${name.padEnd(9)}`;
    const pad = ' '.repeat(9);
    if (!d.pod) {
      const why = s.pod ? `${s.pod} uses the host network` : `${s.endpoint} is not a pod`;
      return [`${head}not enforced: ${why}`];
    }
    const at = s.node ? ` (enforced on node ${s.node})` : '';
    if (!d.isolated) return [`${head}${d.pod}${at}: no ${name} policy selects it: not isolated, allowed`];
    const lines = [`${head}${d.pod}${at}: selected by ${d.policies.join(', ')}`];
    if (d.allowedBy)
      lines.push(
        `${pad}allowed by ${d.allowedBy.policy} ${name} rule ${d.allowedBy.rule}${d.rule ? `: ${d.rule}` : ''}`,
      );
    else lines.push(`${pad}denied: no ${name} rule of these policies allows it`);
    return lines;
  };
  const lines = [
    `from     ${where(e.from)}`,
    `to       ${where(e.to)}`,
    `port     ${port}`,
    ...dir('egress', e.egress, e.from),
    ...dir('ingress', e.ingress, e.to),
  ];
  if (e.special === 'self') lines.push(`special  a pod talking to itself is always allowed`);
  if (e.special === 'node') lines.push(`special  a pod and its own node always talk`);
  lines.push(`verdict  ${e.allowed ? 'ALLOW' : 'DENY'}`, `reason   ${e.reason}`);
  for (const n of e.notes) lines.push(`note     ${n}`);
  return `${lines.join('\n')}\n`;
}
