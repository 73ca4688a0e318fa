// The fast path's wire protocol, server side (the shim's side is native/shim.c). Every frame
// starts with the same 6 bytes in every version: "MCNI" and a u16 protocol version, so each end
// can tell "another version" from "not ours at all". Integers are unsigned big-endian.
//   request:  header, u16 build id bytes, build id, u32 env bytes, env ("KEY=VALUE\0" per CNI_*
//             variable), u32 stdin bytes, stdin
//   response: header, u32 exit status, u32 stdout bytes, stdout, u32 stderr bytes, stderr
//   refusal:  header, u32 BUILD_MISMATCH, u32 build id bytes, the server's build id (nothing ran)

export const PROTOCOL_VERSION = 3;
/** The status word of a refusal: the shim's build is not the server's (no exit status is this large). */
export const BUILD_MISMATCH = 0xffffffff;
/** Build ids are short content hashes: at most this many bytes of [A-Za-z0-9._-]. */
export const MAX_BUILD_ID = 64;
const MAGIC = Buffer.from('MCNI');
export const HEADER_LEN = MAGIC.length + 2;
export const MAX_ENV = 64 << 10;
export const MAX_STDIN = 16 << 20;

export interface Request {
  /** The shim's build id ('' for a shim no build stamped). */
  build: string;
  env: Record<string, string>;
  stdin: Buffer;
}

/** A request of a protocol version this server does not speak: it is answered with `versionReply()`. */
export class WireVersionError extends Error {
  override readonly name = 'WireVersionError';
  constructor(readonly version: number) {
    super(`the shim speaks protocol ${version}, this server ${PROTOCOL_VERSION}`);
  }
}

export function header(): Buffer {
  const h = Buffer.alloc(HEADER_LEN);
  MAGIC.copy(h);
  h.writeUInt16BE(PROTOCOL_VERSION, MAGIC.length);
  return h;
}

/** The whole answer to a request of another version: our header alone (the shim then falls back). */
export function versionReply(): Buffer {
  return header();
}

/** Parses one complete request; undefined while bytes are missing; throws on a malformed one. */
export function parseRequest(buf: Buffer): Request | undefined {
  const need = requestLengthSoFar(buf);
  if (buf.length < need) return undefined;
  if (buf.length > need) throw new Error('bytes after the end of the request');
  const buildEnd = HEADER_LEN + 2 + buf.readUInt16BE(HEADER_LEN);
  const build = buf.toString('latin1', HEADER_LEN + 2, buildEnd);
  if (!/^[A-Za-z0-9._-]*$/.test(build)) throw new Error('the build id is not a plain name');
  const envStart = buildEnd + 4;
  const envEnd = envStart + buf.readUInt32BE(buildEnd);
  const env: Record<string, string> = {};
  for (const entry of buf.toString('utf8', envStart, envEnd).split('\0')) {
    if (!entry) continue;
    const eq = entry.indexOf('=');
    // Only CNI_* variables cross: the served plugin never takes PATH or anything else from a call.
    if (eq > 4 && entry.startsWith('CNI_')) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { build, env, stdin: buf.subarray(envEnd + 4, need) };
}

/**
 * The length the request starting `buf` has at least, from the length fields received so far
 * (the whole length once both are in): the server parses only when that much has come. Throws
 * as soon as the bytes so far cannot start a request (wrong magic, a block over its limit), and
 * a WireVersionError for a request of another protocol version.
 */
export function requestLengthSoFar(buf: Buffer): number {
  const head = Math.min(buf.length, MAGIC.length);
  if (!MAGIC.subarray(0, head).equals(buf.subarray(0, head))) throw new Error('not a minicni shim request');
  if (buf.length < HEADER_LEN) return HEADER_LEN + 2;
  const version = buf.readUInt16BE(MAGIC.length);
  if (version !== PROTOCOL_VERSION) throw new WireVersionError(version);
  let need = HEADER_LEN + 2;
  if (buf.length < need) return need;
  const buildLen = buf.readUInt16BE(HEADER_LEN);
  if (buildLen > MAX_BUILD_ID) throw new Error(`build id of ${buildLen} bytes is over the limit`);
  need += buildLen + 4;
  if (buf.length < need) return need;
  const envLen = buf.readUInt32BE(need - 4);
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
  return Buffer.concat([header(), head, out, errLen, err]);
}

/** The answer to a shim of another build: nothing ran, and the shim runs the standalone plugin. */
export function buildMismatchReply(serverBuild: string): Buffer {
  const id = Buffer.from(serverBuild, 'latin1');
  const tail = Buffer.alloc(8);
  tail.writeUInt32BE(BUILD_MISMATCH, 0);
  tail.writeUInt32BE(id.length, 4);
  return Buffer.concat([header(), tail, id]);
}
