// The server side of the fast path: any plugin written on runPlugin, served from a long-running
// process over a root-only unix socket, so a CNI call costs a ~1 ms native shim start instead of
// a ~40 ms Node start. The shim (native/shim.c) sends the CNI_* environment and the config; each
// call runs the very same handlers a standalone run does, through runPlugin with injected I/O,
// and the answer goes back as stdout, stderr and an exit status (wire.ts).
import { chmodSync, linkSync, lstatSync, unlinkSync } from 'node:fs';
import type * as Net from 'node:net';
import type { Server, Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { runPlugin, type PluginHandlers, type RunPluginOptions } from '@minicni/spec';
import { prepareSocketPath, removeStaleSocket } from './socket-path.js';
import {
  buildMismatchReply,
  encodeResponse,
  HEADER_LEN,
  MAX_BUILD_ID,
  MAX_ENV,
  MAX_STDIN,
  parseRequest,
  requestLengthSoFar,
  versionReply,
  WireVersionError,
  type Request,
} from './wire.js';

export interface PluginServerOptions {
  /** The plugin's verbs, as given to runPlugin. */
  handlers: PluginHandlers;
  /** runPlugin's options for every call: `supportedVersions` at least (`io` is the server's). */
  run: Omit<RunPluginOptions, 'io'>;
  /** Unix socket path (`defaultSocket(name)` for the shim installed as `name`); its directory is made 0700. */
  socketPath: string;
  /** A client that has not sent its whole request after this long is dropped (default 30 s). */
  requestTimeoutMs?: number;
  /** One line per problem that is not a CNI call's own error (default: none). */
  log?: (line: string) => void;
  /**
   * This server's build id (default ''): a shim stamped with another build gets a refusal (nothing
   * runs; it falls back to the standalone plugin). An empty id on either side means unknown and
   * is accepted.
   */
  buildId?: string;
  /** Called with the shim's build id after such a refusal (an on-demand server then retires). */
  onBuildMismatch?: (shimBuild: string) => void;
}

export interface PluginServer extends AsyncDisposable {
  readonly socketPath: string;
  /** Calls answered so far. */
  readonly served: number;
  /** Calls being answered now. */
  readonly inFlight: number;
  /** When the last call started or ended, or the server started (ms, `performance.now()`). */
  readonly lastActivity: number;
  /** Stops accepting, waits for the calls in flight, removes the socket. */
  close(): Promise<void>;
  /**
   * Stops taking new calls without a gap a call could fall into: removes the socket path first
   * (a new shim then finds nobody and falls back or starts another server, which may bind the
   * same path), answers what had already connected for `graceMs`, then closes like `close()`
   * without touching the path again.
   */
  retire(graceMs: number): Promise<void>;
}

export class ServerStartError extends Error {
  readonly code = 'SERVER_START_FAILED';
}

/** Serves a plugin on a unix socket until closed. */
export async function servePlugin(opts: PluginServerOptions): Promise<PluginServer> {
  const { socketPath, handlers } = opts;
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  const buildId = opts.buildId ?? '';
  if (buildId.length > MAX_BUILD_ID || !/^[A-Za-z0-9._-]*$/.test(buildId))
    throw new ServerStartError(`build id "${buildId}" is not a plain name of at most ${MAX_BUILD_ID} bytes`);
  let served = 0;
  let lastActivity = performance.now();
  const inFlight = new Set<Promise<void>>();
  /** Connections that have not sent a whole request yet (nothing to answer on them). */
  const idle = new Set<Socket>();

  // node:net is fetched at run time: the single executable's startup snapshot is built from
  // this module graph, and a plugin call never needs the module.
  const net: typeof Net = process.getBuiltinModule('node:net');
  prepareSocketPath(socketPath, (m) => new ServerStartError(m));
  await removeStaleSocket(net, socketPath, (m) => new ServerStartError(m));

  const answer = async (sock: Socket, req: Request): Promise<void> => {
    if (req.build && buildId && req.build !== buildId) {
      log(`refused a call from a shim of build ${req.build} (this server is build ${buildId})`);
      sock.end(buildMismatchReply(buildId));
      opts.onBuildMismatch?.(req.build);
      return;
    }
    lastActivity = performance.now();
    let stdout = '';
    let stderr = '';
    const status = await runPlugin(handlers, {
      ...opts.run,
      io: {
        env: req.env,
        stdin: req.stdin,
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
        exit: () => {},
      },
    });
    served++;
    lastActivity = performance.now();
    if (!sock.destroyed) sock.end(encodeResponse(status, stdout, stderr));
  };

  const server: Server = net.createServer({ allowHalfOpen: true }, (sock) => {
    idle.add(sock);
    sock.on('close', () => idle.delete(sock));
    sock.on('error', () => {}); // a shim that went away: nothing to answer
    sock.setTimeout(timeoutMs, () => {
      log(`dropping a client that sent no complete request in ${timeoutMs} ms`);
      sock.destroy();
    });
    const chunks: Buffer[] = [];
    let size = 0;
    // Bytes the request has at least: chunks are joined and parsed only once that many are in,
    // so a request arriving in many small chunks is joined a few times, not once per chunk.
    let need = 0;
    let started = false;
    const onData = (chunk: Buffer): void => {
      if (started) return;
      chunks.push(chunk);
      size += chunk.length;
      if (size < need) return;
      let req: Request | undefined;
      try {
        if (size > HEADER_LEN + 10 + MAX_BUILD_ID + MAX_ENV + MAX_STDIN) throw new Error('request too large');
        const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        chunks.length = 0;
        chunks.push(buf);
        need = requestLengthSoFar(buf);
        if (size >= need) req = parseRequest(buf);
      } catch (err) {
        if (err instanceof WireVersionError) {
          // Nothing ran: our header tells the shim to fall back to the standalone plugin.
          log(`${err.message}: told it to run the standalone plugin`);
          started = true;
          idle.delete(sock);
          sock.end(versionReply());
          return;
        }
        log(`bad request: ${(err as Error).message}`);
        sock.destroy();
        return;
      }
      if (!req) return;
      started = true;
      idle.delete(sock);
      sock.setTimeout(0);
      const p = answer(sock, req).finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    sock.on('data', onData);
    // The shim half-closes after its request: an end before a whole request is a broken one.
    sock.on('end', () => {
      if (!started) sock.destroy();
    });
  });

  // The socket is bound under a name of this process's own and linked into place: it appears
  // whole (mode 0600), a second server's link fails instead of stealing the path, and closing
  // (libuv unlinks the bound name at close) never removes a path another server has taken since.
  const bound = join(dirname(socketPath), `.${basename(socketPath)}.${process.pid}`);
  rmIfSocket(bound);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new ServerStartError(`cannot listen on ${socketPath}: ${err.message}`)),
    );
    // Only root may connect: the shim hands over calls that change the node's network.
    const oldMask = process.umask(0o177);
    server.listen(bound, () => {
      process.umask(oldMask);
      resolve();
    });
  });
  try {
    chmodSync(bound, 0o600);
    linkSync(bound, socketPath);
  } catch (err) {
    await new Promise((resolve) => server.close(resolve));
    const e = err as NodeJS.ErrnoException;
    throw new ServerStartError(
      e.code === 'EEXIST'
        ? `another server is listening on ${socketPath}`
        : `cannot listen on ${socketPath}: ${e.message}`,
    );
  } finally {
    rmIfSocket(bound);
  }
  server.on('error', (err) => log(`server error: ${err.message}`));

  let unlinked = false;
  const unlinkPath = (): void => {
    if (unlinked) return;
    unlinked = true;
    rmIfSocket(socketPath);
  };
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      unlinkPath();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of idle) s.destroy();
      await Promise.allSettled([...inFlight]);
      await closed;
    })());
  const retire = async (graceMs: number): Promise<void> => {
    unlinkPath();
    await new Promise((resolve) => setTimeout(resolve, graceMs));
    await close();
  };

  return {
    socketPath,
    get served() {
      return served;
    },
    get inFlight() {
      return inFlight.size;
    },
    get lastActivity() {
      return lastActivity;
    },
    close,
    retire,
    [Symbol.asyncDispose]: close,
  };
}

function rmIfSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // already gone
  }
}
