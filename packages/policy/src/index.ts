export { PolicyError, isPolicyError, type PolicyErrorCode } from './errors.js';
export {
  objectKey,
  PROTOCOLS,
  type ClusterState,
  type ContainerPort,
  type IpBlock,
  type Labels,
  type LabelSelector,
  type Namespace,
  type NetworkPolicy,
  type Node,
  type Peer,
  type Pod,
  type PolicyPort,
  type PolicyRule,
  type PolicyType,
  type Protocol,
  type SelectorOperator,
  type SelectorRequirement,
} from './model.js';
export { EVERYTHING, formatSelector, parseSelector, selectorMatches, selectsAll } from './selector.js';
export { namespaceFromK8s, networkPolicyFromK8s, podFromK8s } from './convert.js';
export { ipBlockIntervals } from './addresses.js';
export { PolicyIndex } from './cluster.js';
export { portAllows, resolvePort, type PortRange } from './ports.js';
export { Evaluator, type DirectionVerdict, type Endpoint, type Verdict } from './evaluator.js';
export {
  planNode,
  type AddrPortElement,
  type NodePlan,
  type PlanOptions,
  type PodNetGuard,
  type Profile,
} from './plan.js';
export {
  DEFAULT_PRIORITY,
  DEFAULT_TABLE,
  deltaApplies,
  renderRuleset,
  renderRulesetDelta,
  type RenderOptions,
} from './nft.js';
export {
  NodePlanner,
  type KeyedClusterState,
  type KeyedObjects,
  type PlannerPassStats,
} from './node-planner.js';
export { compileNodeRuleset, type CompileOptions } from './compile.js';
