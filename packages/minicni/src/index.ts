// minicni: the bridge plugin as a library (to embed it, test it, or build another binary from it).
export { bridgePlugin, SUPPORTED_VERSIONS, type BridgePluginOptions } from './plugin.js';
export { nodeEnv, type NodeEnv, type NodeEnvOptions } from './node-env.js';
export { parseBridgeConfig, DEFAULTS, type BridgeConfig, type IpamChoice } from './config.js';
export {
  ensureNodeRules,
  removeNodeRules,
  chainNames,
  type NodeRulesSpec,
  type RulesExec,
} from './node-rules.js';
export { hostVethName } from './host-veth.js';
export { CHECK_MISMATCH } from '@minicni/kit';
export {
  serveBridgePlugin,
  // The name the agent (and earlier releases) use for serveBridgePlugin.
  serveBridgePlugin as servePlugin,
  DEFAULT_SOCKET,
  type PluginServerOptions,
} from './serve.js';
