import { decodeDone, decodeError } from './codec/ack.js';
import type { Attr } from './codec/attributes.js';
import * as C from './codec/constants.js';
import { decodeMessages, encodeMessage, type RawMessage } from './codec/message.js';
import { ERRNO } from './errno.js';
import { NetlinkError, fromSyscallError } from './errors.js';
import type { NativeAddon } from './native.js';

/** How often a dump the kernel marked interrupted (NLM_F_DUMP_INTR) is restarted before giving up. */
export const DUMP_RETRIES = 10;

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
 * kernel's ACK, error or end of dump. Calls are synchronous: a netlink reply is already queued
 * when the kernel has processed the request, and a receive timeout turns a lost reply into an error.
 */
export class NetlinkSocket {
  readonly netns: string | undefined;
  readonly #addon: NativeAddon;
  #fd: number;
  #seq = Math.floor(Math.random() * 0x7fffffff);

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
    return this.#fd < 0;
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.#addon.close(fd);
  }

  /** Sends a request that changes something or gets one object; returns the replies before the ACK. */
  request(req: Request): RawMessage[] {
    return this.#exchange(req, C.NLM_F_REQUEST | C.NLM_F_ACK | (req.flags ?? 0), false).messages;
  }

  /** Dumps a table; restarts when the kernel says the dump was interrupted by a concurrent change. */
  dump(req: Request): RawMessage[] {
    for (let attempt = 0; ; attempt++) {
      const { messages, interrupted } = this.#exchange(
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
    }
  }

  #exchange(req: Request, flags: number, dump: boolean): { messages: RawMessage[]; interrupted: boolean } {
    if (this.#fd < 0) {
      throw new NetlinkError({
        operation: req.operation,
        errno: ERRNO.EBADF,
        extAck: 'handle is closed',
      });
    }
    this.#seq = (this.#seq + 1) >>> 0;
    const seq = this.#seq;
    const bytes = encodeMessage({ type: req.type, flags, seq, pid: 0 }, req.fixed, req.attrs);
    try {
      this.#addon.send(this.#fd, bytes);
    } catch (err) {
      throw fromSyscallError(req.operation, err);
    }
    const messages: RawMessage[] = [];
    let interrupted = false;
    for (;;) {
      const datagram = this.#receive(req.operation);
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

  #receive(operation: string): Buffer {
    try {
      return this.#addon.recv(this.#fd);
    } catch (err) {
      const e = err as { errno?: number };
      if (e?.errno === ERRNO.EAGAIN) {
        throw new NetlinkError({
          operation,
          errno: ERRNO.ETIMEDOUT,
          extAck: 'no reply from the kernel',
          syscall: 'recv',
          cause: err,
        });
      }
      throw fromSyscallError(operation, err);
    }
  }
}
