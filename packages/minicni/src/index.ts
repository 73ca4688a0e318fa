// minicni: the bridge plugin as a library (to embed it, test it, or build another binary from it).
export { bridgePlugin, SUPPORTED_VERSIONS, type BridgePluginOptions } from './plugin.js';
export { nodeEnv, type NodeEnv, type NodeEnvOptions } from './node-env.js';
export { parseBridgeConfig, DEFAULTS, type BridgeConfig, type IpamChoice } from './config.js';
export { hostVethName } from './host-veth.js';
export { CHECK_MISMATCH } from '@minicni/kit';
export { serveBridgePlugin, DEFAULT_SOCKET, type PluginServerOptions } from './serve.js';
