// The on-demand server's files, and stopping it (`minicni uninstall`). The shim (native/shim.c)
// starts `X-standalone serve` itself when no server answers and the config asks for it; all of
// that server's files sit beside the socket the shim was told about, so they are found from it.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** An on-demand server exits after this many seconds without a call unless the config says otherwise. */
export const DEFAULT_ON_DEMAND_IDLE_SECONDS = 60;

export interface OnDemandPaths {
  /** The on-demand server's socket: `ondemand.sock` (the agent's server keeps the main socket). */
  socket: string;
  /** Its pid while it runs: `ondemand.pid`. */
  pidFile: string;
  /** Its stdout and stderr: `ondemand.log` (emptied when over 1 MiB at a start). */
  logFile: string;
  /** Taken (flock) by a shim while it starts one, so concurrent first calls start one server. */
  lockFile: string;
}

/** The on-demand files for the shim whose socket is `socketPath`: siblings of it, in its 0700 directory. */
export function onDemandPaths(socketPath: string): OnDemandPaths {
  const dir = dirname(socketPath);
  return {
    socket: join(dir, 'ondemand.sock'),
    pidFile: join(dir, 'ondemand.pid'),
    logFile: join(dir, 'ondemand.log'),
    lockFile: join(dir, 'ondemand.lock'),
  };
}

/**
 * Stops the on-demand server of the shim whose socket is `socketPath`, if one runs: SIGTERM (the
 * calls in flight finish), SIGKILL after `timeoutMs`; then removes its files. A pid file naming a
 * process that is not that server (gone, or the pid reused) stops nothing. Resolves to the pid
 * stopped, or undefined.
 */
export async function stopOnDemandServer(
  socketPath: string,
  opts: { timeoutMs?: number } = {},
): Promise<number | undefined> {
  const paths = onDemandPaths(socketPath);
  let stopped: number | undefined;
  // A server retiring when this starts may have a successor by the time it is gone (a call came
  // in between): that one is stopped too, so nothing is left running without its pid file.
  for (let round = 0; round < 5; round++) {
    const pid = Number(readOr(paths.pidFile, '').trim());
    if (!Number.isInteger(pid) || pid <= 1 || !isOnDemandServer(pid, paths.socket)) break;
    signal(pid, 'SIGTERM');
    const deadline = performance.now() + (opts.timeoutMs ?? 5000);
    while (alive(pid) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (alive(pid)) signal(pid, 'SIGKILL');
    while (alive(pid)) await new Promise((r) => setTimeout(r, 20));
    stopped ??= pid;
  }
  for (const f of [paths.socket, paths.pidFile, paths.lockFile, paths.logFile]) rmSync(f, { force: true });
  return stopped;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** The process is a `serve` on exactly this socket (its command line says so), not a reused pid. */
function isOnDemandServer(pid: number, socket: string): boolean {
  const argv = readOr(`/proc/${pid}/cmdline`, '').split('\0');
  const i = argv.indexOf('--socket');
  return argv.includes('serve') && i >= 0 && argv[i + 1] === socket;
}

function alive(pid: number): boolean {
  const stat = readOr(`/proc/${pid}/stat`, '');
  // "pid (comm) S ...": a zombie has exited already; its parent reaps it.
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}
