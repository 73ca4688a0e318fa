import { decodeDone, decodeError } from './codec/ack.js';
import type { Attr } from './codec/attributes.js';
import * as C from './codec/constants.js';
import { decodeMessages, encodeMessage, type RawMessage } from './codec/message.js';
import { ERRNO } from './errno.js';
import { NetlinkError, fromSyscallError } from './errors.js';
import type { NativeAddon } from './native.js';

/**
 * How often a dump the kernel marked interrupted (NLM_F_DUMP_INTR) is restarted before giving up.
 * After the first few, each restart waits up to 2 ms (random): a table another process changes
 * without pause can interrupt dumps in step with its changes.
 */
export const DUMP_RETRIES = 30;

export interface SocketOptions {
  /** Path of the netns to bind to (`/run/netns/x`, `/proc/<pid>/ns/net`); the caller's own netns when absent. */
  netns?: string;
  /** How long to wait for each reply datagram before failing with ETIMEDOUT. */
  timeoutMs?: number;
}

export interface Request {
  /** Named in errors: `link add veth0`. */
  operation: string;
  type: number;
  /** Extra NLM_F_* flags (REQUEST and ACK, or DUMP, are added). */
  flags?: number;
  /** The family struct (ifinfomsg, rtmsg ...). */
  fixed: Uint8Array;
  attrs?: readonly Attr[];
}

/**
 * An rtnetlink socket that lives in one netns (the one it was created in) and speaks
 * request/reply: each request gets a sequence number and its replies are collected until the
 * kernel's ACK, error or end of dump. The send and every receive run on libuv's threadpool, so the
 * event loop never waits for the kernel; a receive timeout turns a lost reply into ETIMEDOUT.
 * Requests on one socket run one at a time, in call order: a second dump cannot start while one
 * is in progress on the same socket, and one exchange at a time means every datagram read belongs
 * to the request that is waiting (concurrency comes from separate handles, one per operation).
 */
export class NetlinkSocket {
  readonly netns: string | undefined;
  readonly #addon: NativeAddon;
  #fd: number;
  #closing = false;
  #seq = Math.floor(Math.random() * 0x7fffffff);
  /** Settles when every request queued so far has finished. */
  #tail: Promise<unknown> = Promise.resolve();
  /** Whether a native send/recv is on the threadpool (it owns the fd until it returns). */
  #ioInFlight = false;
  /** Rejects the exchange waiting on that native call, when the handle is closed under it. */
  #abandon: (() => void) | undefined;

  private constructor(addon: NativeAddon, fd: number, netns: string | undefined) {
    this.#addon = addon;
    this.#fd = fd;
    this.netns = netns;
  }

  static open(addon: NativeAddon, opts: SocketOptions = {}): NetlinkSocket {
    const where = opts.netns ?? 'the current netns';
    let fd: number;
    try {
      fd = addon.socket(opts.netns ?? null, C.NETLINK_ROUTE, opts.timeoutMs ?? 10_000);
    } catch (err) {
      throw fromSyscallError(`open netlink socket in ${where}`, err);
    }
    try {
      addon.setsockoptInt(fd, C.SOL_NETLINK, C.NETLINK_EXT_ACK, 1);
      addon.setsockoptInt(fd, C.SOL_NETLINK, C.NETLINK_GET_STRICT_CHK, 1);
    } catch (err) {
      addon.close(fd);
      throw fromSyscallError(`set netlink socket options in ${where}`, err);
    }
    return new NetlinkSocket(addon, fd, opts.netns);
  }

  get closed(): boolean {
    return this.#closing;
  }

  /**
   * Refuses further requests at once (queued ones reject with EBADF, as does one waiting for its
   * reply). The fd itself is closed now, or when the native call that still uses it returns:
   * closing it under a threadpool thread would let a reused fd number reach another socket.
   */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#abandon?.();
    if (!this.#ioInFlight) this.#release();
  }

  #release(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    this.#addon.close(fd);
  }

  /** Sends a request that changes something or gets one object; resolves to the replies before the ACK. */
  request(req: Request): Promise<RawMessage[]> {
    return this.#queue(async () => {
      const flags = C.NLM_F_REQUEST | C.NLM_F_ACK | (req.flags ?? 0);
      return (await this.#exchange(req, flags, false)).messages;
    });
  }

  /** Dumps a table; restarts when the kernel says the dump was interrupted by a concurrent change. */
  dump(req: Request): Promise<RawMessage[]> {
    return this.#queue(async () => {
      for (let attempt = 0; ; attempt++) {
        const { messages, interrupted } = await this.#exchange(
          req,
          C.NLM_F_REQUEST | C.NLM_F_DUMP | (req.flags ?? 0),
          true,
        );
        if (!interrupted) return messages;
        if (attempt >= DUMP_RETRIES) {
          throw new NetlinkError({
            operation: req.operation,
            errno: ERRNO.EINTR,
            extAck: `dump still interrupted after ${DUMP_RETRIES} retries`,
          });
        }
        if (attempt >= 3) await new Promise((r) => setTimeout(r, Math.random() * 2));
      }
    });
  }

  /** Runs `work` after every earlier request on this socket has finished, whatever their outcome. */
  #queue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(work);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #exchange(
    req: Request,
    flags: number,
    dump: boolean,
  ): Promise<{ messages: RawMessage[]; interrupted: boolean }> {
    this.#seq = (this.#seq + 1) >>> 0;
    const seq = this.#seq;
    const bytes = encodeMessage({ type: req.type, flags, seq, pid: 0 }, req.fixed, req.attrs);
    const exchange = this.#addon.exchange?.bind(this.#addon);
    let first: Buffer | undefined;
    try {
      if (exchange) first = await this.#io(req.operation, (fd) => exchange(fd, bytes));
      else await this.#io(req.operation, (fd) => this.#addon.send(fd, bytes));
    } catch (err) {
      throw (err as { syscall?: string })?.syscall === 'recv'
        ? receiveError(req.operation, err)
        : fromSyscallError(req.operation, err);
    }
    const messages: RawMessage[] = [];
    let interrupted = false;
    for (;;) {
      const datagram = first ?? (await this.#receive(req.operation));
      first = undefined;
      for (const m of decodeMessages(datagram)) {
        // Replies to an earlier request that timed out are still in the queue: skip them.
        if (m.seq !== seq) continue;
        if (m.flags & C.NLM_F_DUMP_INTR) interrupted = true;
        if (m.type === C.NLMSG_ERROR || m.type === C.NLMSG_DONE) {
          const ack = m.type === C.NLMSG_ERROR ? decodeError(m) : decodeDone(m);
          if (ack.errno !== 0) {
            throw new NetlinkError({
              operation: req.operation,
              errno: ack.errno,
              ...(ack.extAck ? { extAck: ack.extAck } : {}),
            });
          }
          if (m.type === C.NLMSG_DONE || !dump) return { messages, interrupted };
          continue;
        }
        if (m.type === C.NLMSG_NOOP) continue;
        if (m.type === C.NLMSG_OVERRUN) {
          throw new NetlinkError({ operation: req.operation, errno: ERRNO.ENOBUFS });
        }
        messages.push(m);
      }
    }
  }

  async #receive(operation: string): Promise<Buffer> {
    try {
      return await this.#io(operation, (fd) => this.#addon.recv(fd));
    } catch (err) {
      throw receiveError(operation, err);
    }
  }

  /**
   * One native call on the fd. It resolves with the call, or rejects with EBADF as soon as the
   * handle is closed; the fd is released only when the native call has returned.
   */
  async #io<T>(operation: string, call: (fd: number) => Promise<T>): Promise<T> {
    if (this.#closing) throw closedError(operation, 'handle is closed');
    this.#ioInFlight = true;
    let native: Promise<T>;
    try {
      native = call(this.#fd);
    } catch (err) {
      this.#ioInFlight = false;
      throw err;
    }
    return new Promise<T>((resolve, reject) => {
      this.#abandon = () =>
        reject(
          closedError(
            operation,
            'handle closed while waiting for the kernel; the request may have been applied',
          ),
        );
      native
        .finally(() => {
          this.#ioInFlight = false;
          this.#abandon = undefined;
          if (this.#closing) this.#release();
        })
        .then(resolve, reject);
    });
  }
}

function closedError(operation: string, why: string): NetlinkError {
  return new NetlinkError({ operation, errno: ERRNO.EBADF, extAck: why });
}

/** A failed receive: a receive timeout (EAGAIN) is a lost reply, ETIMEDOUT. */
function receiveError(operation: string, err: unknown): Error {
  const e = err as { errno?: number };
  if (e?.errno === ERRNO.EAGAIN) {
    return new NetlinkError({
      operation,
      errno: ERRNO.ETIMEDOUT,
      extAck: 'no reply from the kernel',
      syscall: 'recv',
      cause: err,
    });
  }
  return fromSyscallError(operation, err);
}
