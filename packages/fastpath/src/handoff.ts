// The policy hand-off: at ADD a plugin tells the node's policy agent which pod now holds which
// addresses, before the API server knows them, and waits (bounded) until the agent's ruleset
// includes the pod. Both ends live here so any plugin, and any agent, can speak it.
// Every frame starts with the same 6 bytes in every version: "MCNP" and a u16 version.
// Integers are unsigned big-endian.
//   announcement: header, u32 body length, body (UTF-8 JSON: {namespace, name, ips, containerId?})
//   reply:        header, u8 status (0 applied, 1 refused), u32 message length, message (UTF-8)
// A server that does not speak the announcement's version replies refused with its own header.
import { chmodSync, lstatSync } from 'node:fs';
import type * as Net from 'node:net';
import type { Server, Socket } from 'node:net';
import type { AddContext } from '@minicni/spec';
import { prepareSocketPath, removeStaleSocket } from './socket-path.js';

export const HANDOFF_VERSION = 1;
/** The largest announcement body: a namespace, a name, a few addresses fit many times over. */
export const MAX_HANDOFF_BODY = 4096;
const MAX_REPLY_MESSAGE = 4096;
/** Where the agent listens and the plugin's `policySocket` points by default. */
export const DEFAULT_POLICY_SOCKET = '/run/minicni/policy.sock';
/** How long `announcePod` waits for the agent's answer by default. */
export const DEFAULT_HANDOFF_TIMEOUT_MS = 2000;

const MAGIC = Buffer.from('MCNP');
const HEADER_LEN = MAGIC.length + 2;
const MAX_IPS = 8;

/** A pod and the addresses the plugin gave it. */
export interface PodAnnouncement {
  namespace: string;
  name: string;
  ips: string[];
  containerId?: string;
}

export type HandoffErrorCode =
  /** Bytes that are not a hand-off frame. */
  | 'BAD_FRAME'
  /** The peer hung up before a whole frame. */
  | 'TRUNCATED'
  /** A length field over the limit. */
  | 'TOO_LARGE'
  /** The peer speaks another protocol version. */
  | 'VERSION'
  /** A frame whose content is not a valid announcement. */
  | 'INVALID'
  /** No agent listens on the socket (no file, nobody accepting). */
  | 'UNREACHABLE'
  /** The socket is not root-only (owned by another user, or open to others). */
  | 'UNTRUSTED'
  /** No answer in time. */
  | 'TIMEOUT'
  /** The agent answered that it could not apply a ruleset with the pod. */
  | 'REFUSED';

export class HandoffError extends Error {
  override readonly name = 'HandoffError';
  constructor(
    readonly code: HandoffErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function header(version = HANDOFF_VERSION): Buffer {
  const h = Buffer.alloc(HEADER_LEN);
  MAGIC.copy(h);
  h.writeUInt16BE(version, MAGIC.length);
  return h;
}

/** The version of the frame starting `buf`, undefined while fewer than 6 bytes are in. */
function versionOf(buf: Buffer): number | undefined {
  const head = Math.min(buf.length, MAGIC.length);
  if (!MAGIC.subarray(0, head).equals(buf.subarray(0, head)))
    throw new HandoffError('BAD_FRAME', 'not a minicni policy hand-off frame');
  return buf.length < HEADER_LEN ? undefined : buf.readUInt16BE(MAGIC.length);
}

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Checks an announcement's fields as Kubernetes names them; throws `INVALID`. */
export function checkAnnouncement(a: unknown): PodAnnouncement {
  const bad = (why: string): never => {
    throw new HandoffError('INVALID', `pod announcement: ${why}`);
  };
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return bad('not an object');
  const o = a as Record<string, unknown>;
  const { namespace, name, ips, containerId } = o;
  if (typeof namespace !== 'string' || namespace.length > 63 || !LABEL.test(namespace))
    bad(`namespace ${JSON.stringify(namespace)} is not a DNS label`);
  if (typeof name !== 'string' || name.length > 253 || !SUBDOMAIN.test(name))
    bad(`name ${JSON.stringify(name)} is not a DNS subdomain`);
  if (!Array.isArray(ips) || ips.length === 0 || ips.length > MAX_IPS)
    bad(`ips must list 1 to ${MAX_IPS} addresses`);
  const net: typeof Net = process.getBuiltinModule('node:net');
  for (const ip of ips as unknown[]) {
    if (typeof ip !== 'string' || net.isIP(ip) === 0) bad(`${JSON.stringify(ip)} is not an IP address`);
  }
  if (containerId !== undefined && (typeof containerId !== 'string' || containerId.length > 256))
    bad('containerId must be a string of at most 256 characters');
  return {
    namespace: namespace as string,
    name: name as string,
    ips: [...(ips as string[])],
    ...(containerId === undefined ? {} : { containerId: containerId as string }),
  };
}

export function encodeAnnouncement(a: PodAnnouncement): Buffer {
  const body = Buffer.from(JSON.stringify(checkAnnouncement(a)));
  if (body.length > MAX_HANDOFF_BODY)
    throw new HandoffError('TOO_LARGE', `announcement of ${body.length} bytes is over ${MAX_HANDOFF_BODY}`);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([header(), len, body]);
}

/**
 * The length the announcement starting `buf` has at least, from what has arrived (the whole
 * length once the length field is in). Throws as soon as the bytes cannot start one: wrong
 * magic (`BAD_FRAME`), another version (`VERSION`), a body over the limit (`TOO_LARGE`).
 */
export function announcementLength(buf: Buffer): number {
  const version = versionOf(buf);
  if (version === undefined) return HEADER_LEN + 4;
  if (version !== HANDOFF_VERSION)
    throw new HandoffError(
      'VERSION',
      `announcement of hand-off version ${version}; this end speaks ${HANDOFF_VERSION}`,
    );
  if (buf.length < HEADER_LEN + 4) return HEADER_LEN + 4;
  const len = buf.readUInt32BE(HEADER_LEN);
  if (len > MAX_HANDOFF_BODY)
    throw new HandoffError('TOO_LARGE', `announcement of ${len} bytes is over ${MAX_HANDOFF_BODY}`);
  return HEADER_LEN + 4 + len;
}

/** Decodes one whole announcement frame: `TRUNCATED` if bytes are missing, `BAD_FRAME` if extra. */
export function decodeAnnouncement(buf: Buffer): PodAnnouncement {
  const need = announcementLength(buf);
  if (buf.length < need)
    throw new HandoffError('TRUNCATED', `announcement cut at ${buf.length} of ${need} bytes`);
  if (buf.length > need) throw new HandoffError('BAD_FRAME', 'bytes after the end of the announcement');
  let body: unknown;
  try {
    body = JSON.parse(buf.toString('utf8', HEADER_LEN + 4, need));
  } catch {
    throw new HandoffError('INVALID', 'announcement body is not JSON');
  }
  return checkAnnouncement(body);
}

export interface HandoffReply {
  ok: boolean;
  message: string;
}

export function encodeReply(r: HandoffReply, version = HANDOFF_VERSION): Buffer {
  const msg = Buffer.from(r.message).subarray(0, MAX_REPLY_MESSAGE);
  const mid = Buffer.alloc(5);
  mid.writeUInt8(r.ok ? 0 : 1, 0);
  mid.writeUInt32BE(msg.length, 1);
  return Buffer.concat([header(version), mid, msg]);
}

/** Decodes a whole reply (the server closes after it). */
export function decodeReply(buf: Buffer): HandoffReply {
  const version = versionOf(buf);
  if (version === undefined) throw new HandoffError('TRUNCATED', `reply cut at ${buf.length} bytes`);
  if (version !== HANDOFF_VERSION)
    throw new HandoffError(
      'VERSION',
      `the agent speaks hand-off version ${version}, this plugin ${HANDOFF_VERSION}`,
    );
  if (buf.length < HEADER_LEN + 5) throw new HandoffError('TRUNCATED', `reply cut at ${buf.length} bytes`);
  const status = buf.readUInt8(HEADER_LEN);
  const len = buf.readUInt32BE(HEADER_LEN + 1);
  if (status > 1) throw new HandoffError('BAD_FRAME', `reply status ${status} is not 0 or 1`);
  if (len > MAX_REPLY_MESSAGE) throw new HandoffError('TOO_LARGE', `reply message of ${len} bytes`);
  const end = HEADER_LEN + 5 + len;
  if (buf.length < end) throw new HandoffError('TRUNCATED', `reply cut at ${buf.length} of ${end} bytes`);
  if (buf.length > end) throw new HandoffError('BAD_FRAME', 'bytes after the end of the reply');
  return { ok: status === 0, message: buf.toString('utf8', HEADER_LEN + 5, end) };
}

export interface AnnouncePodOptions extends PodAnnouncement {
  /** The agent's socket (`DEFAULT_POLICY_SOCKET` on a minicni node). */
  socket: string;
  /** Bound on the whole exchange (default `DEFAULT_HANDOFF_TIMEOUT_MS`). */
  timeoutMs?: number;
}

/**
 * Tells the policy agent listening on `socket` about a pod and resolves once the agent has
 * applied a ruleset that includes it. Rejects with a `HandoffError`: `UNREACHABLE` (no socket,
 * nobody accepting: no agent on this node), `UNTRUSTED` (the socket or its directory is not
 * root-only: nothing is sent), `TIMEOUT`, `REFUSED` (the agent's reason), `VERSION`, or a frame
 * error. What a plugin does then is its decision (minicni: see docs/minicni.md).
 */
export async function announcePod(opts: AnnouncePodOptions): Promise<void> {
  const { socket, timeoutMs = DEFAULT_HANDOFF_TIMEOUT_MS, ...pod } = opts;
  const frame = encodeAnnouncement(pod);
  trustSocket(socket);
  // Fetched at run time, as the plugin server does: a standalone plugin's startup snapshot is
  // built from this module graph, and most calls never need the module.
  const net: typeof Net = process.getBuiltinModule('node:net');
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let connected = false;
    const c = net.createConnection(socket);
    const timer = setTimeout(() => {
      c.destroy();
      reject(new HandoffError('TIMEOUT', `the policy agent on ${socket} gave no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    c.on('connect', () => {
      connected = true;
      c.end(frame);
    });
    c.on('data', (d: Buffer) => {
      chunks.push(d);
      size += d.length;
      if (size > HEADER_LEN + 5 + MAX_REPLY_MESSAGE) {
        clearTimeout(timer);
        c.destroy();
        reject(new HandoffError('TOO_LARGE', 'reply over the limit'));
      }
    });
    c.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks, size));
    });
    c.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // Before the connection: nobody to talk to (ENOENT, ECONNREFUSED, ...); after: cut short.
      reject(
        connected
          ? new HandoffError('TRUNCATED', `hand-off on ${socket} broke: ${e.message}`)
          : new HandoffError('UNREACHABLE', `no policy agent listens on ${socket} (${e.code ?? e.message})`),
      );
    });
  });
  const r = decodeReply(reply);
  if (!r.ok)
    throw new HandoffError('REFUSED', `the policy agent refused ${pod.namespace}/${pod.name}: ${r.message}`);
}

export interface HandOverResult {
  /** `applied`: the agent's ruleset includes the pod; `skipped`: nothing to hand over; `failed`: see `reason`. */
  outcome: 'applied' | 'skipped' | 'failed';
  reason?: string;
  code?: HandoffErrorCode;
}

/**
 * The hand-off as a plugin's ADD makes it: the pod's namespace and name from CNI_ARGS
 * (`K8S_POD_NAMESPACE`, `K8S_POD_NAME`, which kubelet's runtimes send), its addresses (prefix
 * lengths dropped), announced to the agent on `socket`. It never throws, so ADD never fails
 * because of it: without a socket configured or without the K8S_* keys it is `skipped`; when no
 * agent answers, answers late or refuses it is `failed`, and the pod is then governed by the
 * ruleset as it is: a node whose table fails closed drops the pod's traffic until the agent
 * learns of it from the API; a node without a table (no agent, policy off) is open as before.
 * The outcome is written to the call's debug log.
 */
export async function handOverPod(
  ctx: Pick<AddContext, 'args' | 'containerId' | 'log'>,
  opts: { socket: string | undefined; ips: readonly string[]; timeoutMs?: number },
): Promise<HandOverResult> {
  const done = (r: HandOverResult): HandOverResult => {
    ctx.log(`policy hand-off ${r.outcome}`, { ...r, socket: opts.socket });
    return r;
  };
  if (!opts.socket) return done({ outcome: 'skipped', reason: 'no policy socket configured' });
  const namespace = ctx.args.k8sPodNamespace;
  const name = ctx.args.k8sPodName;
  if (!namespace || !name)
    return done({ outcome: 'skipped', reason: 'CNI_ARGS has no K8S_POD_NAMESPACE and K8S_POD_NAME' });
  try {
    await announcePod({
      socket: opts.socket,
      namespace,
      name,
      ips: opts.ips.map((ip) => ip.split('/')[0]!),
      containerId: ctx.containerId,
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    });
    return done({ outcome: 'applied' });
  } catch (e) {
    const code = e instanceof HandoffError ? e.code : undefined;
    return done({ outcome: 'failed', reason: (e as Error).message, ...(code ? { code } : {}) });
  }
}

/** The socket must be root-only, as the server makes it: pod names go to no one else. */
function trustSocket(socket: string): void {
  let st;
  try {
    st = lstatSync(socket);
  } catch {
    throw new HandoffError('UNREACHABLE', `no policy agent listens on ${socket} (no such socket)`);
  }
  const uid = process.getuid?.();
  if (!st.isSocket()) throw new HandoffError('UNTRUSTED', `${socket} is not a socket`);
  if (st.uid !== uid || (st.mode & 0o077) !== 0)
    throw new HandoffError(
      'UNTRUSTED',
      `${socket} is not ${uid === 0 ? 'root' : `uid ${uid}`}-only (owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`,
    );
}

export interface HandoffServerOptions {
  /** Unix socket path (`DEFAULT_POLICY_SOCKET`); its directory is made 0700, the socket 0600. */
  socketPath: string;
  /**
   * Called once per valid announcement; resolves once a ruleset including the pod is applied
   * (the reply is then "applied"), rejects with the reason to refuse.
   */
  onAnnounce: (a: PodAnnouncement) => Promise<void>;
  /** An announcement not answered by `onAnnounce` after this long is refused (default 5 s). */
  answerTimeoutMs?: number;
  /** A client that has not sent a whole announcement after this long is dropped (default 5 s). */
  requestTimeoutMs?: number;
  /** One line per problem (default: none). */
  log?: (line: string) => void;
}

export interface HandoffServer extends AsyncDisposable {
  readonly socketPath: string;
  /** Announcements answered so far (applied or refused). */
  readonly answered: number;
  /** Stops accepting, waits for the announcements in flight, removes the socket. */
  close(): Promise<void>;
}

/** Serves the hand-off on a root-only unix socket until closed: the agent's end. */
export async function serveHandoff(opts: HandoffServerOptions): Promise<HandoffServer> {
  const { socketPath, onAnnounce } = opts;
  const log = opts.log ?? (() => {});
  const answerMs = opts.answerTimeoutMs ?? 5000;
  const requestMs = opts.requestTimeoutMs ?? 5000;
  const net: typeof Net = process.getBuiltinModule('node:net');
  const fail = (m: string) => new HandoffError('UNREACHABLE', `cannot serve the policy hand-off: ${m}`);
  prepareSocketPath(socketPath, fail);
  await removeStaleSocket(net, socketPath, fail);
  let answered = 0;
  const inFlight = new Set<Promise<void>>();
  const open = new Set<Socket>();

  const answer = async (sock: Socket, a: PodAnnouncement): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    let reply: HandoffReply;
    try {
      await Promise.race([
        onAnnounce(a),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no ruleset applied within ${answerMs} ms`)), answerMs);
        }),
      ]);
      reply = { ok: true, message: 'applied' };
    } catch (e) {
      reply = { ok: false, message: (e as Error).message };
      log(`refused ${a.namespace}/${a.name}: ${reply.message}`);
    } finally {
      clearTimeout(timer);
    }
    answered++;
    if (!sock.destroyed) sock.end(encodeReply(reply));
  };

  const server: Server = net.createServer({ allowHalfOpen: true }, (sock) => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    sock.on('error', () => {});
    sock.setTimeout(requestMs, () => {
      log(`dropping a client that sent no complete announcement in ${requestMs} ms`);
      sock.destroy();
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let started = false;
    const refuse = (e: unknown): void => {
      started = true;
      const version = e instanceof HandoffError && e.code === 'VERSION';
      log(`bad announcement: ${(e as Error).message}`);
      // Another version gets our header, so its client can say which versions disagree.
      sock.end(
        encodeReply({ ok: false, message: (e as Error).message }, version ? HANDOFF_VERSION : undefined),
      );
    };
    sock.on('data', (chunk: Buffer) => {
      if (started) return;
      chunks.push(chunk);
      size += chunk.length;
      const buf = Buffer.concat(chunks, size);
      let a: PodAnnouncement;
      try {
        const need = announcementLength(buf);
        if (buf.length < need) return;
        a = decodeAnnouncement(buf.subarray(0, need));
        if (buf.length > need) throw new HandoffError('BAD_FRAME', 'bytes after the end of the announcement');
      } catch (e) {
        refuse(e);
        return;
      }
      started = true;
      sock.setTimeout(0);
      const p = answer(sock, a).finally(() => inFlight.delete(p));
      inFlight.add(p);
    });
    sock.on('end', () => {
      if (!started) refuse(new HandoffError('TRUNCATED', `announcement cut at ${size} bytes`));
    });
  });

  await new Promise<void>((resolve, reject) => {
    // Only root may connect: announcements decide what the node's firewall lets through.
    const oldMask = process.umask(0o177);
    server.once('error', (err) => {
      process.umask(oldMask);
      reject(fail(`cannot listen on ${socketPath}: ${err.message}`));
    });
    server.listen(socketPath, () => {
      process.umask(oldMask);
      resolve();
    });
  });
  chmodSync(socketPath, 0o600);
  server.on('error', (err) => log(`hand-off server error: ${err.message}`));

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...inFlight]);
      for (const s of open) s.destroy();
      await closed;
    })());
  return {
    socketPath,
    get answered() {
      return answered;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
