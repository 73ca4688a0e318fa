import { ERRNO, errnoName } from './errno.js';

export { errnoName };

export interface NetlinkErrorDetails {
  /** What was being done, e.g. `link add veth mct1234`. */
  operation: string;
  /** Positive errno value. */
  errno: number;
  /** The kernel's extended-ACK message, when it sent one. */
  extAck?: string;
  /** The syscall that failed, when the error came from one rather than from a netlink reply. */
  syscall?: string;
  cause?: unknown;
}

/**
 * A failure reported by the kernel (a netlink error reply) or by a syscall. `code` is the errno
 * name (`EEXIST`, `ENODEV`, ...), or `ETIMEDOUT` when no reply came in time.
 */
export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  readonly code: string;
  readonly errno: number;
  readonly operation: string;
  readonly extAck: string | undefined;
  readonly syscall: string | undefined;

  constructor(details: NetlinkErrorDetails) {
    const code = errnoName(details.errno);
    const why = details.extAck ? `${code}: ${details.extAck}` : code;
    const where = details.syscall ? ` (${details.syscall})` : '';
    super(
      `${details.operation}: ${why}${where}`,
      details.cause === undefined ? {} : { cause: details.cause },
    );
    this.code = code;
    this.errno = details.errno;
    this.operation = details.operation;
    this.extAck = details.extAck;
    this.syscall = details.syscall;
  }
}

/** Wraps an error thrown by the addon (which carries `errno` and `syscall`) into a NetlinkError. */
export function fromSyscallError(operation: string, err: unknown): NetlinkError {
  if (err instanceof NetlinkError) return err;
  const e = err as { errno?: unknown; syscall?: unknown };
  // Node's fs errors carry negative errno values, the addon's positive ones.
  const errno = typeof e?.errno === 'number' ? Math.abs(e.errno) : ERRNO.EIO;
  const syscall = typeof e?.syscall === 'string' ? e.syscall : undefined;
  return new NetlinkError({
    operation,
    errno,
    ...(syscall ? { syscall } : {}),
    cause: err,
  });
}

/** A message that does not follow the netlink wire format. Decoding never throws anything else. */
export class NetlinkDecodeError extends Error {
  override readonly name = 'NetlinkDecodeError';
  readonly code = 'ERR_NETLINK_DECODE';
}

/** Bad input from the caller (a malformed CIDR, MAC, interface name ...), found before any syscall. */
export class NetlinkInputError extends Error {
  override readonly name = 'NetlinkInputError';
  readonly code = 'ERR_NETLINK_INPUT';
}

/** The addon could not be loaded (not built, or the override points at a missing file). */
export class NetlinkAddonError extends Error {
  override readonly name = 'NetlinkAddonError';
  readonly code = 'ERR_NETLINK_ADDON';
}
