// The agent side of minicni's fast path: the plugin served from a long-running process over a
// root-only unix socket, so a CNI call costs a ~1 ms native shim start instead of a ~40 ms Node
// start. The shim (packages/netlink/native/cni-shim.c) sends the CNI_* environment and the
// config; each call runs the very same handlers a standalone run does, through runPlugin with
// injected I/O, and the answer goes back as stdout, stderr and an exit status.
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import type * as Net from 'node:net';
import type { Server, Socket } from 'node:net';
import { dirname } from 'node:path';
import { runPlugin } from '@minicni/spec';
import { bridgePlugin, SUPPORTED_VERSIONS, type BridgePluginOptions } from './plugin.js';

export const DEFAULT_SOCKET = '/run/minicni/plugin.sock';
const MAGIC = Buffer.from('MCNI1\n');
const MAX_ENV = 64 << 10;
const MAX_STDIN = 16 << 20;

export interface PluginServerOptions {
  /** Unix socket path (default /run/minicni/plugin.sock); its directory is made 0700. */
  socketPath?: string;
  /** How the served plugin reaches the node (default: this process's own netns). */
  plugin?: BridgePluginOptions;
  /** A client that has not sent its whole request after this long is dropped (default 30 s). */
  requestTimeoutMs?: number;
  /** One line per problem that is not a CNI call's own error (default: none). */
  log?: (line: string) => void;
}

export interface PluginServer extends AsyncDisposable {
  readonly socketPath: string;
  /** Calls answered so far. */
  readonly served: number;
  /** Calls being answered now. */
  readonly inFlight: number;
  /** Stops accepting, waits for the calls in flight, removes the socket. */
  close(): Promise<void>;
}

export class ServerStartError extends Error {
  readonly code = 'SERVER_START_FAILED';
}

interface Request {
  env: Record<string, string>;
  stdin: Buffer;
}

/** Parses one complete request; undefined while bytes are missing; throws on a malformed one. */
export function parseRequest(buf: Buffer): Request | undefined {
  const need = requestLengthSoFar(buf);
  if (buf.length < need) return undefined;
  if (buf.length > need) throw new Error('bytes after the end of the request');
  const envStart = MAGIC.length + 4;
  const envEnd = envStart + buf.readUInt32BE(MAGIC.length);
  const env: Record<string, string> = {};
  for (const entry of buf.toString('utf8', envStart, envEnd).split('\0')) {
    if (!entry) continue;
    const eq = entry.indexOf('=');
    // Only CNI_* variables cross: the served plugin never takes PATH or anything else from a call.
    if (eq > 4 && entry.startsWith('CNI_')) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { env, stdin: buf.subarray(envEnd + 4, need) };
}

/**
 * The length the request starting `buf` has at least, from the length fields received so far
 * (the whole length once both are in): the server parses only when that much has come. Throws
 * as soon as the bytes so far cannot start a request (wrong magic, a block over its limit).
 */
export function requestLengthSoFar(buf: Buffer): number {
  const head = Math.min(buf.length, MAGIC.length);
  if (!MAGIC.subarray(0, head).equals(buf.subarray(0, head))) throw new Error('not a minicni shim request');
  let need = MAGIC.length + 4;
  if (buf.length < need) return need;
  const envLen = buf.readUInt32BE(MAGIC.length);
  if (envLen > MAX_ENV) throw new Error(`environment block of ${envLen} bytes is over the limit`);
  need += envLen + 4;
  if (buf.length < need) return need;
  const stdinLen = buf.readUInt32BE(need - 4);
  if (stdinLen > MAX_STDIN) throw new Error(`config of ${stdinLen} bytes is over the limit`);
  return need + stdinLen;
}

export function encodeResponse(status: number, stdout: string, stderr: string): Buffer {
  const out = Buffer.from(stdout);
  const err = Buffer.from(stderr);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(status >>> 0, 0);
  head.writeUInt32BE(out.length, 4);
  const errLen = Buffer.alloc(4);
  errLen.writeUInt32BE(err.length, 0);
  return Buffer.concat([MAGIC, head, out, errLen, err]);
}

/** Serves the bridge plugin on a unix socket until closed. */
export async function servePlugin(opts: PluginServerOptions = {}): Promise<PluginServer> {
  const socketPath = opts.socketPath ?? DEFAULT_SOCKET;
  const log = opts.log ?? (() => {});
  const handlers = bridgePlugin(opts.plugin);
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  let served = 0;
  const inFlight = new Set<Promise<void>>();
  /** Connections that have not sent a whole request yet (nothing to answer on them). */
  const idle = new Set<Socket>();

  // node:net is fetched at run time: the single executable's startup snapshot is built from
  // this module graph, and a plugin call never needs the module.
  const net: typeof Net = process.getBuiltinModule('node:net');
  prepareSocketPath(socketPath);
  await removeStaleSocket(net, socketPath);

  const answer = async (sock: Socket, req: Request): Promise<void> => {
    let stdout = '';
    let stderr = '';
    const status = await runPlugin(handlers, {
      supportedVersions: SUPPORTED_VERSIONS,
      io: {
        env: req.env,
        stdin: req.stdin,
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
        exit: () => {},
      },
    });
    served++;
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
        if (size > MAGIC.length + 8 + MAX_ENV + MAX_STDIN) throw new Error('request too large');
        const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        chunks.length = 0;
        chunks.push(buf);
        need = requestLengthSoFar(buf);
        if (size >= need) req = parseRequest(buf);
      } catch (err) {
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

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new ServerStartError(`cannot listen on ${socketPath}: ${err.message}`)),
    );
    // Only root may connect: the shim hands over calls that change the node's network.
    const oldMask = process.umask(0o177);
    server.listen(socketPath, () => {
      process.umask(oldMask);
      resolve();
    });
  });
  chmodSync(socketPath, 0o600);
  server.on('error', (err) => log(`server error: ${err.message}`));

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of idle) s.destroy();
      await Promise.allSettled([...inFlight]);
      await closed;
    })());

  return {
    socketPath,
    get served() {
      return served;
    },
    get inFlight() {
      return inFlight.size;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function prepareSocketPath(socketPath: string): void {
  const dir = dirname(socketPath);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new ServerStartError(`${dir} is not a directory`);
  if (st.uid !== process.getuid?.()) throw new ServerStartError(`${dir} is not owned by this user`);
  if ((st.mode & 0o022) !== 0)
    throw new ServerStartError(`${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)})`);
}

/** A socket file left by a server that died is removed; one a live server answers is an error. */
async function removeStaleSocket(net: typeof Net, socketPath: string): Promise<void> {
  let st;
  try {
    st = lstatSync(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new ServerStartError(`${socketPath} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const c = net.createConnection(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) throw new ServerStartError(`another server is listening on ${socketPath}`);
  unlinkSync(socketPath);
}
