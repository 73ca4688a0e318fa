import { defaultSocket, servePlugin, type PluginServer } from '@minicni/fastpath';
import { bridgePlugin, SUPPORTED_VERSIONS, type BridgePluginOptions } from './plugin.js';

/** Where `/opt/cni/bin/minicni` (the fast-path shim) looks for the served plugin by default. */
export const DEFAULT_SOCKET = defaultSocket('minicni');

export interface PluginServerOptions {
  /** Unix socket path (default DEFAULT_SOCKET); its directory is made 0700. */
  socketPath?: string;
  /** How the served plugin reaches the node (default: this process's own netns). */
  plugin?: BridgePluginOptions;
  /** A client that has not sent its whole request after this long is dropped (default 30 s). */
  requestTimeoutMs?: number;
  /** One line per problem that is not a CNI call's own error (default: none). */
  log?: (line: string) => void;
}

/** Serves the bridge plugin behind the fast-path shim (@minicni/fastpath) until closed. */
export function serveBridgePlugin(opts: PluginServerOptions = {}): Promise<PluginServer> {
  const { plugin, socketPath = DEFAULT_SOCKET, ...rest } = opts;
  return servePlugin({
    ...rest,
    socketPath,
    handlers: bridgePlugin(plugin),
    run: { supportedVersions: SUPPORTED_VERSIONS },
  });
}
