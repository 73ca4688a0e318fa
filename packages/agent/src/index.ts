// @minicni/agent: the node agent the DaemonSet runs. Public API only; the CLI is `minicni-agent`.
export { Agent, DEFAULT_METRICS_ADDRESS, type AgentOptions } from './agent.js';
export { AgentError, isAgentError, type AgentErrorCode } from './errors.js';
export type { NodeInfo, KubeNode } from './node-info.js';
export { nodeInfoFromKube } from './node-info.js';
export type { NodeSource, Logger } from './node-source.js';
export { FileNodeSource, parseNodesFile, type FileNodeSourceOptions } from './file-node-source.js';
export { KubeNodeSource, getKubeNode, type KubeNodeSourceOptions } from './kube-node-source.js';
export { Informer, objectKeyOf, type InformerOptions, type InformerStats } from './informer.js';
export {
  PolicyController,
  type AnnouncedPod,
  type PolicyControllerOptions,
  type PolicyResource,
  type PolicyStatus,
} from './policy-controller.js';
export {
  policyInformers,
  kubePodGetter,
  isolateNamespace,
  POLICY_PATHS,
  type PolicyCache,
  type PolicyCaches,
  type PolicyInformerOptions,
} from './policy-sources.js';
export {
  readPolicySnapshot,
  explainConnection,
  formatExplanation,
  parsePortSpec,
  type PolicySnapshot,
  type ExplainQuery,
  type Explanation,
  type ExplainedEndpoint,
  type ExplainedDirection,
} from './policy-explain.js';
export {
  bridgeNetfilterProblem,
  NftSession,
  oneLine,
  removePolicyTable,
  spawnNft,
  spawnNftVia,
  type NftRunner,
} from './policy-nft.js';
export {
  KubeClient,
  KubeApiError,
  flagCredentials,
  inClusterCredentials,
  SERVICE_ACCOUNT_DIR,
  type KubeCredentials,
  type WatchEvent,
} from './kube-client.js';
export { kubeconfigCredentials } from './kubeconfig.js';
export {
  install,
  uninstall,
  validatePodCidrs,
  DEFAULT_BIN_DIR,
  DEFAULT_CONF_DIR,
  DEFAULT_CONF_NAME,
  DEFAULT_READY_FILE,
  type InstallOptions,
  type InstallResult,
  type PluginBinary,
  type UninstallOptions,
} from './installer.js';
export { renderConflist, DEFAULT_TEMPLATE, type TemplateValues } from './conflist-template.js';
export { writeFileAtomic, copyFileAtomic } from './atomic-file.js';
export {
  desiredState,
  DEFAULT_VXLAN,
  MODES,
  type DesiredState,
  type Mode,
  type PeerPath,
  type VxlanSettings,
} from './desired-state.js';
export { planChanges } from './plan.js';
export { Reconciler, type ReconcilerOptions, type ReconcileStatus } from './reconciler.js';
export {
  ROUTE_PROTOCOL,
  type ActualState,
  type Dataplane,
  type DataplaneOp,
  type FdbEntry,
  type NeighbourEntry,
  type RouteEntry,
  type VxlanDevice,
} from './dataplane.js';
export { Iproute2Dataplane, type CommandRunner } from './iproute2-dataplane.js';
export { NetlinkDataplane } from './netlink-dataplane.js';
export { vtepIp, vtepMac } from './vtep.js';
export { ipamUsage, DEFAULT_IPAM_DATA_DIR, type RangeUsage } from './ipam-usage.js';
export { renderMetrics } from './metrics.js';
