import type { PluginHandlers, RunPluginOptions } from '@minicni/spec';
import { defaultSocket } from './names.js';
import { servePlugin, type PluginServer } from './server.js';

/** The libuv threadpool size `serve` asks for unless UV_THREADPOOL_SIZE is already set. */
export const SERVE_THREADPOOL_SIZE = 16;

export interface ServeCommandOptions {
  /** The name the shim is installed as: the default socket is /run/<name>/plugin.sock. */
  name: string;
  handlers: PluginHandlers;
  run: Omit<RunPluginOptions, 'io'>;
}

/**
 * `<name> serve [--socket PATH]` for a plugin's entry point: serves the plugin until SIGTERM or
 * SIGINT (calls in flight finish, the socket is removed, the process exits 0). Logs to stderr,
 * and says `listening on PATH` once the shim can connect. The one part of the fast path that
 * touches the process, so a plugin's main stays a few lines.
 */
export async function serveCommand(
  args: readonly string[],
  opts: ServeCommandOptions,
): Promise<PluginServer> {
  // Served calls' netlink I/O runs on libuv's threadpool (4 threads by default), and a veth
  // deletion holds its thread while the kernel waits: more threads let concurrent DELs overlap.
  // libuv reads this once, when the pool first starts, which nothing has made it do yet here.
  process.env.UV_THREADPOOL_SIZE ??= String(SERVE_THREADPOOL_SIZE);
  const i = args.indexOf('--socket');
  const socketPath = i >= 0 ? args[i + 1] : defaultSocket(opts.name);
  if (!socketPath) throw new Error('--socket needs a path');
  const say = (line: string) => process.stderr.write(`${opts.name} serve: ${line}\n`);
  const server = await servePlugin({ socketPath, handlers: opts.handlers, run: opts.run, log: say });
  say(`listening on ${server.socketPath}`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return server;
}
