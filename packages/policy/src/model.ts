/**
 * The model: only what NetworkPolicy needs, kept small per pod (a cluster snapshot may hold
 * 150,000 of them). Build it with the converters in convert.ts, or by hand in tests.
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

export type Labels = Readonly<Record<string, string>>;

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  /** Sorted, de-duplicated; empty for Exists and DoesNotExist. */
  readonly values: readonly string[];
}

/** A validated metav1.LabelSelector. The empty selector (no labels, no expressions) selects everything. */
export interface LabelSelector {
  readonly matchLabels: Labels;
  readonly matchExpressions: readonly SelectorRequirement[];
}

export interface ContainerPort {
  /** Empty when the port has no name (it can then never match a named policy port). */
  readonly name: string;
  readonly port: number;
  readonly protocol: Protocol;
}

export interface Pod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  /** Canonical text, at most one per family; empty before the pod has an IP and after it ended. */
  readonly ips: readonly string[];
  /** spec.nodeName; empty while unscheduled. */
  readonly node: string;
  /** Only the named ones matter to policy; unnamed ones are kept off to keep pods small. */
  readonly ports: readonly ContainerPort[];
  /** Host-network pods share their node's address: policy neither selects nor matches them. */
  readonly hostNetwork?: boolean;
}

export interface Namespace {
  readonly name: string;
  readonly labels: Labels;
}

export interface Node {
  readonly name: string;
  /** The node's own addresses: traffic between them and the node's pods is always allowed. */
  readonly ips: readonly string[];
}

/**
 * A policy port after defaulting. `port` undefined: every port of `protocol`. A string: a named
 * port, resolved per destination pod. `endPort` only with a numeric `port`.
 */
export interface PolicyPort {
  readonly protocol: Protocol;
  readonly port?: number | string;
  readonly endPort?: number;
}

export interface IpBlock {
  /** Normalised: host bits cleared, canonical text. */
  readonly cidr: string;
  /** Normalised, each strictly inside `cidr`. */
  readonly except: readonly string[];
}

/**
 * A peer after the API's rules for absent fields: `namespaces` undefined means the policy's own
 * namespace (no namespaceSelector); an empty selector means every namespace, or every pod.
 */
export type Peer =
  | { readonly kind: 'pods'; readonly pods: LabelSelector; readonly namespaces?: LabelSelector }
  | { readonly kind: 'ipBlock'; readonly ipBlock: IpBlock };

/** One ingress or egress rule. `peers` undefined: every peer; `ports` undefined: every port. */
export interface PolicyRule {
  readonly peers?: readonly Peer[];
  readonly ports?: readonly PolicyPort[];
}

export type PolicyType = 'Ingress' | 'Egress';

export interface NetworkPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  /** After defaulting: Ingress always unless given, Egress when egress rules exist. */
  readonly policyTypes: readonly PolicyType[];
  readonly ingress: readonly PolicyRule[];
  readonly egress: readonly PolicyRule[];
}

/** Everything a verdict or a node's ruleset depends on. */
export interface ClusterState {
  readonly pods: readonly Pod[];
  readonly namespaces: readonly Namespace[];
  readonly policies: readonly NetworkPolicy[];
  readonly nodes?: readonly Node[];
}

/** `namespace/name`: the key of pods and policies. */
export function objectKey(o: { readonly namespace: string; readonly name: string }): string {
  return `${o.namespace}/${o.name}`;
}
