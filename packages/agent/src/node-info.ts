import { canonicalIp, formatIp, formatSubnet, tryParseIp } from '@minicni/ipam';
import { parsePodCidrs } from './addresses.js';
import { AgentError } from './errors.js';

/** What the agent needs to know about one node; the same shape for every node source. */
export interface NodeInfo {
  name: string;
  /** InternalIP addresses, canonical text, in the order the source gave them. */
  internalIPs: string[];
  /** Pod CIDRs, canonical network/prefix text; dual stack has one per family. */
  podCIDRs: string[];
}

/** The slice of a Kubernetes core/v1 Node object the agent reads. */
export interface KubeNode {
  metadata?: { name?: string; resourceVersion?: string };
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: { type?: string; address?: string }[] };
}

/**
 * Converts a Node object. `spec.podCIDRs` is the dual-stack list (since 1.16); `spec.podCIDR`
 * is its first entry and the only field older clusters fill, so it is the fallback.
 */
export function nodeInfoFromKube(node: KubeNode): NodeInfo {
  const name = node.metadata?.name;
  if (!name) throw new AgentError('INVALID_NODE', 'a Node object has no metadata.name');
  const rawCidrs = node.spec?.podCIDRs?.length
    ? node.spec.podCIDRs
    : node.spec?.podCIDR
      ? [node.spec.podCIDR]
      : [];
  const internalIPs = (node.status?.addresses ?? [])
    .filter((a) => a.type === 'InternalIP' && typeof a.address === 'string' && tryParseIp(a.address))
    .map((a) => canonicalIp(a.address!));
  return checkNodeInfo({ name, internalIPs, podCIDRs: rawCidrs });
}

/** Validates and canonicalises a node record from any source. */
export function checkNodeInfo(raw: { name: unknown; internalIPs?: unknown; podCIDRs?: unknown }): NodeInfo {
  if (typeof raw.name !== 'string' || raw.name === '') {
    throw new AgentError('INVALID_NODE', 'a node needs a non-empty "name"');
  }
  const name = raw.name;
  const list = (v: unknown, field: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      throw new AgentError('INVALID_NODE', `node "${name}": "${field}" must be a list of strings`);
    }
    return v as string[];
  };
  const internalIPs = list(raw.internalIPs, 'internalIPs').map((ip) => {
    const parsed = tryParseIp(ip);
    if (!parsed) throw new AgentError('INVALID_NODE', `node "${name}": "${ip}" is not an IP address`);
    return formatIp(parsed);
  });
  const cidrs = list(raw.podCIDRs, 'podCIDRs');
  let podCIDRs: string[];
  try {
    podCIDRs = parsePodCidrs(cidrs).map(formatSubnet);
  } catch (e) {
    throw new AgentError('INVALID_NODE', `node "${name}": ${(e as Error).message}`, { cause: e });
  }
  return { name, internalIPs, podCIDRs };
}

export function sameNodeInfo(a: NodeInfo, b: NodeInfo): boolean {
  return (
    a.name === b.name &&
    a.internalIPs.join(',') === b.internalIPs.join(',') &&
    a.podCIDRs.join(',') === b.podCIDRs.join(',')
  );
}
