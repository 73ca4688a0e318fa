export {
  SPEC_VERSIONS,
  LATEST_VERSION,
  compareVersions,
  isCniVersion,
  parseVersion,
  pickHighestVersion,
  versionAtLeast,
  type CniVersion,
  type LegacyVersion,
  type V04Version,
  type V1Version,
} from './versions.js';
export {
  CniError,
  ErrorCode,
  SpecError,
  SPEC_ERROR_TO_CNI,
  toCniError,
  type CniErrorJson,
  type ErrorCodeValue,
  type SpecErrorCode,
} from './errors.js';
export type {
  AnyResult,
  Dns,
  HandlerResult,
  Interface,
  Interface040,
  Interface100,
  IpConfig,
  IpConfig020,
  IpConfig040,
  Result,
  Result020,
  Result040,
  Result100,
  ResultOf,
  Route,
  RouteBasic,
  VersionResult,
} from './result-types.js';
export type {
  Bandwidth,
  GcAttachment,
  IpamConfig,
  IpRange,
  NetConf,
  NetConfList,
  PluginConf,
  PortMapping,
  RuntimeConfig,
  RuntimeDns,
} from './config-types.js';
export { parseResult, type ParseResultOptions } from './result-parse.js';
export { convertResult, toLatest } from './result-convert.js';
export { isCidr, isIP, isIPv4, isIPv6, isMac, ipFamily } from './ip.js';
export {
  NAME_PATTERN,
  validateContainerId,
  validateIfName,
  validateNetnsPath,
  validateNetworkName,
} from './names.js';
export { KNOWN_CNI_ARGS, formatCniArgs, parseCniArgs, type CniArgs } from './cni-args.js';
export { COMMANDS, REQUIRED_ENV, parseEnv, type CniEnv, type Command, type EnvLike } from './env.js';
export {
  confListFromConf,
  decodeJsonObject,
  parseConfList,
  parseNetConf,
  parsePrevResult,
  readCniVersion,
  readValidAttachments,
} from './config.js';
export { parseRuntimeConfig } from './runtime-config.js';
export { runPlugin } from './run-plugin.js';
export type {
  AddContext,
  AttachmentContext,
  BaseContext,
  CheckContext,
  DelContext,
  GcContext,
  PluginHandlers,
  PluginIo,
  RunPluginOptions,
  StatusContext,
} from './plugin-types.js';
