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
  servePlugin,
  parseRequest,
  requestLengthSoFar,
  encodeResponse,
  DEFAULT_SOCKET,
  ServerStartError,
  type PluginServer,
  type PluginServerOptions,
} from './server.js';
