import { DEFAULT_POLICY_SOCKET } from '@minicni/fastpath';
import { decodeJsonObject, parseConfList, SpecError } from '@minicni/spec';
import { parsePodCidr } from './addresses.js';
import { AgentError } from './errors.js';

/**
 * The default network config. It keeps the seed's fields (bridge, mtu, subnet) so the seed's
 * ConfigMap keeps working, but as a conflist: plain .conf files are deprecated since CNI 1.0.
 * `readinessFile` is the file the agent writes once routes are programmed; the plugin's STATUS
 * reports not ready while it is missing. `clusterCIDRs` are the destinations never masqueraded:
 * pod to pod across nodes keeps its source address (Kubernetes' network model, and what
 * NetworkPolicy peers are matched by). `policySocket` is where the plugin hands each new pod to
 * the agent at ADD, so its policy holds from the first packet.
 */
export const DEFAULT_TEMPLATE = `{
  "cniVersion": "1.0.0",
  "name": "minicni",
  "plugins": [
    {
      "type": "minicni",
      "bridge": "minicni0",
      "mtu": __POD_MTU__,
      "subnet": __NODE_SUBNET__,
      "clusterCIDRs": __CLUSTER_CIDRS__,
      "readinessFile": "/run/minicni/ready",
      "policySocket": __POLICY_SOCKET__
    }
  ]
}
`;

export interface TemplateValues {
  nodeName: string;
  /** Validated pod CIDRs; the first is the primary (the seed's single subnet). */
  podCIDRs: string[];
  /** `__POD_MTU__`: the pods' MTU (see pod-mtu.ts); 1500 when not given. */
  podMtu?: number;
  /** `__CLUSTER_CIDRS__`: the whole cluster's pod network; this node's pod CIDRs when not given. */
  clusterCIDRs?: string[];
  /**
   * `__POLICY_SOCKET__`: the agent's policy hand-off socket (`--policy-socket`); null (no
   * hand-off) when policy is off; `DEFAULT_POLICY_SOCKET` when not given.
   */
  policySocket?: string | null;
}

/**
 * Fills the placeholders and returns the conflist text. Each placeholder becomes a JSON value,
 * whether the template quotes it or not (the seed's template wrote it bare and relied on jq
 * printing the quotes): `__NODE_SUBNET__` (first pod CIDR), `__NODE_SUBNET_V4__`,
 * `__NODE_SUBNET_V6__`, `__NODE_SUBNETS__` (a list of all), `__NODE_NAME__`, `__POD_MTU__`,
 * `__CLUSTER_CIDRS__` (a list: the cluster's pod network, e.g. kubeadm's --pod-network-cidr),
 * `__POLICY_SOCKET__` (the agent's policy hand-off socket, or null).
 */
export function renderConflist(template: string, values: TemplateValues): string {
  const byFamily = (f: 4 | 6) => values.podCIDRs.find((c) => parsePodCidr(c).family === f);
  const table: Record<string, unknown> = {
    NODE_SUBNET: values.podCIDRs[0],
    NODE_SUBNET_V4: byFamily(4),
    NODE_SUBNET_V6: byFamily(6),
    NODE_SUBNETS: values.podCIDRs,
    NODE_NAME: values.nodeName,
    POD_MTU: values.podMtu ?? 1500,
    CLUSTER_CIDRS: values.clusterCIDRs ?? values.podCIDRs,
    POLICY_SOCKET: values.policySocket === undefined ? DEFAULT_POLICY_SOCKET : values.policySocket,
  };
  const text = template.replace(
    /"__([A-Z0-9_]+)__"|__([A-Z0-9_]+)__/g,
    (whole, quoted?: string, bare?: string) => {
      const key = (quoted ?? bare)!;
      if (!(key in table))
        throw new AgentError('INVALID_TEMPLATE', `unknown placeholder ${whole} in the CNI config template`);
      const value = table[key];
      if (value === undefined) {
        throw new AgentError(
          'INVALID_TEMPLATE',
          `placeholder ${whole} has no value: this node has no such pod CIDR`,
        );
      }
      return JSON.stringify(value);
    },
  );
  if (text.trim() === '') throw new AgentError('INVALID_TEMPLATE', 'the CNI config template is empty');
  const doc = specChecked(() => decodeJsonObject(text, 'the rendered CNI config'));
  const out = `${JSON.stringify(toConflist(doc), null, 2)}\n`;
  // The plugin and the runtime read the file by the spec's rules; the installer checks it by the
  // same ones (@minicni/spec), so a config they would refuse is never installed.
  specChecked(() => parseConfList(out), 'the rendered CNI config is not a valid conflist');
  return out;
}

/** Runs a @minicni/spec check; its refusal becomes the installer's INVALID_TEMPLATE. */
function specChecked<T>(fn: () => T, context?: string): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    const message = context ? `${context}: ${e.message}` : e.message;
    throw new AgentError('INVALID_TEMPLATE', message, { cause: e });
  }
}

/**
 * A single-plugin .conf becomes a one-entry conflist (its cniVersion and name move up, the rest
 * is the plugin); a conflist is kept as written. Which fields a conflist needs is the spec's.
 */
function toConflist(doc: Record<string, unknown>): Record<string, unknown> {
  if (doc.plugins !== undefined) return doc;
  if (typeof doc.type !== 'string') {
    throw new AgentError(
      'INVALID_TEMPLATE',
      'the CNI config needs "plugins" (a conflist) or a "type" (a single plugin)',
    );
  }
  const { cniVersion, name, ...plugin } = doc;
  return { cniVersion, name, plugins: [plugin] };
}
