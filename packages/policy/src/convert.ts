import { canonicalAddress, parseIpBlock } from './addresses.js';
import { PolicyError, type PolicyErrorCode } from './errors.js';
import {
  PROTOCOLS,
  type ContainerPort,
  type Namespace,
  type NetworkPolicy,
  type Peer,
  type Pod,
  type PolicyPort,
  type PolicyRule,
  type PolicyType,
  type Protocol,
} from './model.js';
import { parseLabels, parseSelector } from './selector.js';

/**
 * Converters from Kubernetes objects as the API server returns them (JSON, already defaulted
 * server-side or not) to the model. They apply the API server's defaulting themselves so a
 * hand-written object means what it would mean in a cluster, and refuse what it would refuse.
 */

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(code: PolicyErrorCode, where: string, why: string): never {
  throw new PolicyError(code, `${where}: ${why}`);
}

function list(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) bad('INVALID_OBJECT', where, 'must be a list');
  return v;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// IANA_SVC_NAME: at most 15 of [a-z0-9-], at least one letter, no hyphen at either end or twice in a row.
const SVC_NAME = /^(?=.*[a-z])(?!-)(?!.*--)[a-z0-9-]{1,15}(?<!-)$/;

function metadata(
  raw: unknown,
  kind: string,
  namespaced: boolean,
): { namespace: string; name: string; meta: Obj } {
  if (!isObj(raw)) bad('INVALID_OBJECT', kind, 'must be an object');
  if (raw.kind !== undefined && raw.kind !== kind)
    bad('INVALID_OBJECT', kind, `got kind ${JSON.stringify(raw.kind)}`);
  const meta = raw.metadata;
  if (!isObj(meta)) bad('INVALID_OBJECT', kind, 'metadata is missing');
  const { name, namespace } = meta;
  if (typeof name !== 'string' || name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    bad('INVALID_OBJECT', `${kind}.metadata.name`, `${JSON.stringify(name)} is not a valid name`);
  }
  if (!namespaced) return { namespace: '', name, meta };
  if (typeof namespace !== 'string' || !DNS_LABEL.test(namespace)) {
    bad(
      'INVALID_OBJECT',
      `${kind} ${name}: metadata.namespace`,
      `${JSON.stringify(namespace)} is not a valid namespace`,
    );
  }
  return { namespace, name, meta };
}

function protocolOf(raw: unknown, where: string): Protocol {
  if (raw === undefined || raw === null) return 'TCP';
  if (typeof raw !== 'string' || !PROTOCOLS.includes(raw as Protocol)) {
    throw new PolicyError('INVALID_PROTOCOL', `${where}: ${JSON.stringify(raw)} is not TCP, UDP or SCTP`);
  }
  return raw as Protocol;
}

function isPortNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

/** A v1 Namespace: its name and labels. */
export function namespaceFromK8s(raw: unknown): Namespace {
  const { name, meta } = metadata(raw, 'Namespace', false);
  return { name, labels: parseLabels(meta.labels, `Namespace ${name}: metadata.labels`, 'INVALID_OBJECT') };
}

/**
 * A v1 Pod: labels, node, IPs (none once the pod has Succeeded or Failed: its address may
 * already belong to another pod) and the named container ports.
 */
export function podFromK8s(raw: unknown): Pod {
  const { namespace, name, meta } = metadata(raw, 'Pod', true);
  const where = `Pod ${namespace}/${name}`;
  const spec = isObj((raw as Obj).spec) ? ((raw as Obj).spec as Obj) : {};
  const status = isObj((raw as Obj).status) ? ((raw as Obj).status as Obj) : {};
  const labels = parseLabels(meta.labels, `${where}: metadata.labels`, 'INVALID_OBJECT');
  const node = spec.nodeName ?? '';
  if (typeof node !== 'string') bad('INVALID_OBJECT', `${where}: spec.nodeName`, 'must be a string');
  const ports: ContainerPort[] = [];
  list(spec.containers, `${where}: spec.containers`).forEach((c, ci) => {
    if (!isObj(c)) bad('INVALID_OBJECT', `${where}: spec.containers[${ci}]`, 'must be an object');
    list(c.ports, `${where}: spec.containers[${ci}].ports`).forEach((p, pi) => {
      const at = `${where}: spec.containers[${ci}].ports[${pi}]`;
      if (!isObj(p)) bad('INVALID_OBJECT', at, 'must be an object');
      if (p.name === undefined || p.name === null || p.name === '') return;
      if (typeof p.name !== 'string' || !SVC_NAME.test(p.name))
        bad('INVALID_PORT', at, `name ${JSON.stringify(p.name)} is not a port name`);
      if (!isPortNumber(p.containerPort))
        bad('INVALID_PORT', at, `containerPort ${JSON.stringify(p.containerPort)} is not 1-65535`);
      ports.push({ name: p.name, port: p.containerPort, protocol: protocolOf(p.protocol, `${at}.protocol`) });
    });
  });
  const hostNetwork = spec.hostNetwork === true;
  const ended = status.phase === 'Succeeded' || status.phase === 'Failed';
  const texts = list(status.podIPs, `${where}: status.podIPs`).map((e, i) =>
    isObj(e) ? e.ip : bad('INVALID_OBJECT', `${where}: status.podIPs[${i}]`, 'must be an object with ip'),
  );
  if (texts.length === 0 && status.podIP !== undefined && status.podIP !== null && status.podIP !== '')
    texts.push(status.podIP);
  const ips =
    ended || hostNetwork
      ? []
      : [...new Set(texts.map((t, i) => canonicalAddress(t, `${where}: status.podIPs[${i}]`)))];
  ports.sort((a, b) =>
    a.name < b.name
      ? -1
      : a.name > b.name
        ? 1
        : a.protocol < b.protocol
          ? -1
          : a.protocol > b.protocol
            ? 1
            : a.port - b.port,
  );
  const pod: Pod = { namespace, name, labels, ips, node, ports };
  return hostNetwork ? { ...pod, hostNetwork } : pod;
}

function parsePort(raw: unknown, where: string): PolicyPort {
  if (!isObj(raw)) bad('INVALID_PORT', where, 'must be an object');
  const protocol = protocolOf(raw.protocol, `${where}.protocol`);
  const { port, endPort } = raw;
  if (port === undefined || port === null) {
    if (endPort !== undefined && endPort !== null) bad('INVALID_PORT', where, 'endPort needs a numeric port');
    return { protocol };
  }
  if (typeof port === 'string') {
    if (!SVC_NAME.test(port))
      bad('INVALID_PORT', where, `port ${JSON.stringify(port)} is neither 1-65535 nor a port name`);
    if (endPort !== undefined && endPort !== null)
      bad('INVALID_PORT', where, 'endPort cannot be used with a named port');
    return { protocol, port };
  }
  if (!isPortNumber(port)) bad('INVALID_PORT', where, `port ${JSON.stringify(port)} is not 1-65535`);
  if (endPort === undefined || endPort === null) return { protocol, port };
  if (!isPortNumber(endPort) || endPort < port)
    bad('INVALID_PORT', where, `endPort ${JSON.stringify(endPort)} must be ${port}-65535`);
  return { protocol, port, endPort };
}

function parsePeer(raw: unknown, where: string): Peer {
  if (!isObj(raw)) bad('INVALID_PEER', where, 'must be an object');
  const { podSelector, namespaceSelector, ipBlock } = raw;
  const hasPods = podSelector !== undefined && podSelector !== null;
  const hasNamespaces = namespaceSelector !== undefined && namespaceSelector !== null;
  if (ipBlock !== undefined && ipBlock !== null) {
    if (hasPods || hasNamespaces)
      bad('INVALID_PEER', where, 'ipBlock cannot be combined with podSelector or namespaceSelector');
    return { kind: 'ipBlock', ipBlock: parseIpBlock(ipBlock, `${where}.ipBlock`) };
  }
  if (!hasPods && !hasNamespaces)
    bad('INVALID_PEER', where, 'needs podSelector, namespaceSelector or ipBlock');
  // Absent podSelector: every pod of the selected namespaces. Absent namespaceSelector: the
  // policy's own namespace (kept as `namespaces` undefined, which is not the same as `{}`).
  const pods = parseSelector(podSelector, `${where}.podSelector`);
  return hasNamespaces
    ? { kind: 'pods', pods, namespaces: parseSelector(namespaceSelector, `${where}.namespaceSelector`) }
    : { kind: 'pods', pods };
}

function parseRule(raw: unknown, where: string, peersField: 'from' | 'to'): PolicyRule {
  if (!isObj(raw)) bad('INVALID_OBJECT', where, 'must be an object');
  const peers = list(raw[peersField], `${where}.${peersField}`).map((p, i) =>
    parsePeer(p, `${where}.${peersField}[${i}]`),
  );
  const ports = list(raw.ports, `${where}.ports`).map((p, i) => parsePort(p, `${where}.ports[${i}]`));
  // Empty and absent mean the same: every peer, every port.
  const rule: { peers?: Peer[]; ports?: PolicyPort[] } = {};
  if (peers.length) rule.peers = peers;
  if (ports.length) rule.ports = ports;
  return rule;
}

/**
 * A networking.k8s.io/v1 NetworkPolicy, with the API server's defaulting: `policyTypes`
 * absent or empty is `[Ingress]`, plus `Egress` when the policy has egress rules; a port's
 * protocol defaults to TCP.
 */
export function networkPolicyFromK8s(raw: unknown): NetworkPolicy {
  const { namespace, name } = metadata(raw, 'NetworkPolicy', true);
  const where = `NetworkPolicy ${namespace}/${name}`;
  const spec = (raw as Obj).spec;
  if (!isObj(spec)) bad('INVALID_OBJECT', where, 'spec is missing');
  const podSelector = parseSelector(spec.podSelector, `${where}: spec.podSelector`);
  const ingress = list(spec.ingress, `${where}: spec.ingress`).map((r, i) =>
    parseRule(r, `${where}: spec.ingress[${i}]`, 'from'),
  );
  const egress = list(spec.egress, `${where}: spec.egress`).map((r, i) =>
    parseRule(r, `${where}: spec.egress[${i}]`, 'to'),
  );
  const types = list(spec.policyTypes, `${where}: spec.policyTypes`);
  let policyTypes: PolicyType[];
  if (types.length === 0) {
    policyTypes = egress.length ? ['Ingress', 'Egress'] : ['Ingress'];
  } else {
    const set = new Set<PolicyType>();
    types.forEach((t, i) => {
      if (t !== 'Ingress' && t !== 'Egress')
        bad(
          'INVALID_OBJECT',
          `${where}: spec.policyTypes[${i}]`,
          `${JSON.stringify(t)} is not Ingress or Egress`,
        );
      set.add(t);
    });
    policyTypes = (['Ingress', 'Egress'] as const).filter((t) => set.has(t));
  }
  return { namespace, name, podSelector, policyTypes, ingress, egress };
}
