// @minicni/fastpath: any plugin written on runPlugin, served behind the native shim.
export { servePlugin, ServerStartError, type PluginServer, type PluginServerOptions } from './server.js';
export { serveCommand, SERVE_THREADPOOL_SIZE, type ServeCommandOptions } from './serve-command.js';
export { builtShimPath, defaultSocket, standaloneName } from './names.js';
export {
  DEFAULT_ON_DEMAND_IDLE_SECONDS,
  onDemandPaths,
  stopOnDemandServer,
  type OnDemandPaths,
} from './on-demand.js';
export { shimBuildId, stampShimBuildId } from './build-id.js';
export { PROTOCOL_VERSION } from './wire.js';
export {
  announcePod,
  handOverPod,
  serveHandoff,
  HandoffError,
  HANDOFF_VERSION,
  DEFAULT_POLICY_SOCKET,
  DEFAULT_HANDOFF_TIMEOUT_MS,
  type AnnouncePodOptions,
  type HandoffErrorCode,
  type HandoffServer,
  type HandoffServerOptions,
  type HandOverResult,
  type PodAnnouncement,
} from './handoff.js';
