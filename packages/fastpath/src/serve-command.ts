import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { PluginHandlers, RunPluginOptions } from '@minicni/spec';
import { defaultSocket } from './names.js';
import { servePlugin, type PluginServer } from './server.js';

/** The libuv threadpool size `serve` asks for unless UV_THREADPOOL_SIZE is already set. */
export const SERVE_THREADPOOL_SIZE = 16;

/** How long a retiring server still answers the shims that connected before it unlinked its socket. */
const RETIRE_GRACE_MS = 300;
/** The longest `--idle-exit` accepted (a day): an on-demand server is never meant to stay. */
const MAX_IDLE_SECONDS = 86_400;

export interface ServeCommandOptions {
  /** The name the shim is installed as: the default socket is /run/<name>/plugin.sock. */
  name: string;
  handlers: PluginHandlers;
  run: Omit<RunPluginOptions, 'io'>;
  /** This executable's build id, stamped into the shim of the same build (default ''). */
  buildId?: string;
}

interface ServeArgs {
  socket: string;
  idleExitSeconds?: number;
  expectBuild?: string;
  pidFile?: string;
}

function parseServeArgs(args: readonly string[], name: string): ServeArgs {
  const out: ServeArgs = { socket: defaultSocket(name) };
  for (let i = 0; i < args.length; i += 2) {
    const flag = args[i]!;
    const value = args[i + 1];
    if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
    if (flag === '--socket') out.socket = value;
    else if (flag === '--pid-file') out.pidFile = value;
    else if (flag === '--build-id') out.expectBuild = value;
    else if (flag === '--idle-exit') {
      const n = Number(value);
      if (!/^\d+$/.test(value) || n < 1 || n > MAX_IDLE_SECONDS)
        throw new Error(`--idle-exit must be a whole number of seconds from 1 to ${MAX_IDLE_SECONDS}`);
      out.idleExitSeconds = n;
    } else
      throw new Error(
        `unknown serve option ${flag} (expected --socket, --idle-exit, --build-id, --pid-file)`,
      );
  }
  return out;
}

/**
 * `<name> serve [--socket PATH] [--idle-exit SECONDS] [--build-id ID] [--pid-file PATH]` for a
 * plugin's entry point: serves the plugin until SIGTERM or SIGINT (calls in flight finish, the
 * socket is removed, the process exits 0). Logs to stderr, and says `listening on PATH` once the
 * shim can connect. The one part of the fast path that touches the process, so a plugin's main
 * stays a few lines.
 *
 * The shim starts an on-demand server with all four: it exits after SECONDS without a call, or
 * after refusing a shim of another build; it refuses to start when its build is not ID; it keeps
 * its pid in the pid file while it runs.
 */
export async function serveCommand(
  args: readonly string[],
  opts: ServeCommandOptions,
): Promise<PluginServer> {
  // Served calls' netlink I/O runs on libuv's threadpool (4 threads by default), and a veth
  // deletion holds its thread while the kernel waits: more threads let concurrent DELs overlap.
  // libuv reads this once, when the pool first starts, which nothing has made it do yet here.
  process.env.UV_THREADPOOL_SIZE ??= String(SERVE_THREADPOOL_SIZE);
  const a = parseServeArgs(args, opts.name);
  const buildId = opts.buildId ?? '';
  if (a.expectBuild !== undefined && a.expectBuild !== buildId)
    throw new Error(
      `this executable is build ${buildId || '(none)'}, the shim that started it is build ` +
        `${a.expectBuild}: install the shim and ${opts.name}-standalone from one build`,
    );
  const say = (line: string) =>
    process.stderr.write(`${new Date().toISOString()} ${opts.name} serve[${process.pid}]: ${line}\n`);
  let exiting = false;
  const exit = (why: string, stop: (s: PluginServer) => Promise<void>): void => {
    if (exiting) return;
    exiting = true;
    say(why);
    void stop(server).then(() => {
      if (a.pidFile) removePidFile(a.pidFile);
      process.exit(0);
    });
  };
  const onDemand = a.idleExitSeconds !== undefined;
  const server = await servePlugin({
    socketPath: a.socket,
    handlers: opts.handlers,
    run: opts.run,
    log: say,
    buildId,
    onBuildMismatch: onDemand
      ? (shim) => exit(`a shim of build ${shim} called: exiting`, (s) => s.retire(RETIRE_GRACE_MS))
      : undefined,
  });
  if (a.pidFile) writePidFile(a.pidFile);
  say(`listening on ${server.socketPath}${onDemand ? ` (exits after ${a.idleExitSeconds} s idle)` : ''}`);
  if (onDemand) {
    const idleMs = a.idleExitSeconds! * 1000;
    const timer = setInterval(
      () => {
        if (server.inFlight === 0 && performance.now() - server.lastActivity >= idleMs)
          exit(`no call for ${a.idleExitSeconds} s: exiting`, (s) => s.retire(RETIRE_GRACE_MS));
      },
      Math.min(1000, idleMs / 4),
    );
    timer.unref();
  }
  const stop = (): void => exit('stopping', (s) => s.close());
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return server;
}

function writePidFile(path: string): void {
  const tmp = `${path}.${process.pid}`;
  writeFileSync(tmp, `${process.pid}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Removed only while it still names this process: a newer server may have written its own. */
function removePidFile(path: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
  } catch {
    // gone already
  }
}
