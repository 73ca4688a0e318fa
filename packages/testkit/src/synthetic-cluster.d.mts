// Types of synthetic-cluster.mjs: structurally @minicni/policy's model (the test kit does not
// depend on the policy package).
type Labels = Record<string, string>;
type Protocol = 'TCP' | 'UDP' | 'SCTP';
interface Selector {
  matchLabels: Labels;
  matchExpressions: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values: string[] }[];
}
type Peer =
  | { kind: 'pods'; pods: Selector; namespaces?: Selector }
  | { kind: 'ipBlock'; ipBlock: { cidr: string; except: string[] } };
interface Rule {
  peers?: Peer[];
  ports?: { protocol: Protocol; port?: number | string; endPort?: number }[];
}

export interface SyntheticPod {
  namespace: string;
  name: string;
  labels: Labels;
  ips: string[];
  node: string;
  ports: { name: string; port: number; protocol: Protocol }[];
}

export interface SyntheticPolicy {
  namespace: string;
  name: string;
  podSelector: Selector;
  policyTypes: ('Ingress' | 'Egress')[];
  ingress: Rule[];
  egress: Rule[];
}

export interface SyntheticNode {
  name: string;
  ips: string[];
  podCIDRs: string[];
}

export interface SyntheticCluster {
  namespaces: { name: string; labels: Labels }[];
  pods: SyntheticPod[];
  policies: SyntheticPolicy[];
  nodes: { name: string; ips: string[] }[];
  nodeCount: number;
}

export function syntheticNode(k: number): SyntheticNode;

export function syntheticCluster(opts?: {
  namespaces?: number;
  podsPerNamespace?: number;
  podsPerNode?: number;
  scatter?: boolean;
}): SyntheticCluster;
