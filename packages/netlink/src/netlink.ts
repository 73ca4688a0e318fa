import { Addresses } from './api/addresses.js';
import { Links } from './api/links.js';
import { Fdb, Neighbours } from './api/neighbours.js';
import { Routes } from './api/routes.js';
import { nativeAddon, type NativeAddon } from './native.js';
import { netnsPath } from './netns.js';
import { NetlinkSocket } from './socket.js';

export interface OpenOptions {
  /**
   * The netns to work in: a path (`/run/netns/x`, `/proc/<pid>/ns/net`) or the name of one in
   * /run/netns (`x`); the caller's own when absent.
   */
  netns?: string;
  /** How long to wait for the kernel's reply before failing with ETIMEDOUT (default 10 s). */
  timeoutMs?: number;
  /** The syscall layer (tests pass a fake). */
  addon?: NativeAddon;
}

/**
 * A netlink handle bound to one network namespace for its whole life: its socket is created
 * inside that netns, so every operation acts there while the calling thread never leaves its
 * own. Close it (or `using nl = Netlink.open(...)`) when done.
 */
export class Netlink implements Disposable {
  readonly #sock: NetlinkSocket;
  // Made on first use: a plugin start compiles only the parts it touches.
  #links?: Links;
  #addresses?: Addresses;
  #routes?: Routes;
  #neighbours?: Neighbours;
  #fdb?: Fdb;

  private constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  get links(): Links {
    return (this.#links ??= new Links(this.#sock));
  }

  get addresses(): Addresses {
    return (this.#addresses ??= new Addresses(this.#sock, this.links));
  }

  get routes(): Routes {
    return (this.#routes ??= new Routes(this.#sock, this.links));
  }

  get neighbours(): Neighbours {
    return (this.#neighbours ??= new Neighbours(this.#sock, this.links));
  }

  get fdb(): Fdb {
    return (this.#fdb ??= new Fdb(this.#sock, this.links));
  }

  /** Opens a handle; throws NetlinkError (ENOENT, EINVAL for a file that is not a netns, EPERM ...). */
  static open(opts: OpenOptions = {}): Netlink {
    const sockOpts = {
      ...(opts.netns === undefined ? {} : { netns: netnsPath(opts.netns) }),
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    };
    return new Netlink(NetlinkSocket.open(opts.addon ?? nativeAddon(), sockOpts));
  }

  /** The netns path this handle was opened in (undefined: the opener's own). */
  get netns(): string | undefined {
    return this.#sock.netns;
  }

  get closed(): boolean {
    return this.#sock.closed;
  }

  close(): void {
    this.#sock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
