// The only module that loads the native addon (eslint enforces it). Everything else receives a
// `NativeAddon` so that logic can be tested with a fake and the addon stays a thin syscall layer.
import { fs } from './builtins.js';

import { NetlinkAddonError } from './errors.js';

/**
 * The syscalls the addon offers. Every failure throws (or, for the promises, rejects with) an Error
 * with `errno`, `code` and `syscall`. `send` and `recv` run on libuv's threadpool: the kernel does
 * an rtnetlink request's work inside the send, and a receive may wait, so neither may block the
 * event loop. The fd must stay open until their promise settles.
 */
export interface NativeAddon {
  /** A bound netlink socket created inside the netns at `nsPath` (the caller's own netns when null). */
  socket(nsPath: string | null, protocol: number, recvTimeoutMs: number): number;
  setsockoptInt(fd: number, level: number, name: number, value: number): void;
  /** Resolves to the number of bytes sent, once the kernel has processed the request. */
  send(fd: number, bytes: Uint8Array): Promise<number>;
  /**
   * One whole datagram, and when it is part of a dump with more parts already queued, those too,
   * each starting at a 4-byte boundary (one stream of netlink messages); rejects with EAGAIN when
   * nothing arrived within the socket's receive timeout.
   */
  recv(fd: number): Promise<Buffer>;
  /**
   * `send`, then what `recv` would give, in one threadpool trip: the reply (or a dump's first
   * parts) is read as soon as the kernel has queued it, so no concurrent change can interrupt a
   * dump in the gap a trip back to JavaScript would leave. Optional: a handle falls back to
   * `send` + `recv` without it (test doubles).
   */
  exchange?(fd: number, bytes: Uint8Array): Promise<Buffer>;
  close(fd: number): void;
  /** open(2) of `filePath` performed from inside the netns at `nsPath`. */
  openInNetns(nsPath: string, filePath: string, flags: number, mode: number): number;
  netnsCreate(dir: string, path: string): void;
  netnsDelete(path: string): void;
}

/** The addon's file name, in `dist/` of the built package and `native/build/Release/` of a checkout. */
export const ADDON_FILE = 'minicni_netlink.node';

/** Environment variable that points at the addon file (used by single-executable packaging). */
export const ADDON_ENV = 'MINICNI_NETLINK_ADDON';

let override: string | undefined;
let loaded: NativeAddon | undefined;

/**
 * Makes the next load use this file (e.g. the verified copy a single executable extracted).
 * Must be called before the first netlink operation.
 */
export function setAddonPath(path: string): void {
  if (loaded)
    throw new NetlinkAddonError('the netlink addon is already loaded; set its path before the first use');
  override = path;
}

/** The addon file that will be (or was) loaded. */
export function addonPath(env: NodeJS.ProcessEnv = process.env): string {
  if (override) return override;
  const fromEnv = env[ADDON_ENV];
  if (fromEnv) return fromEnv;
  // A CommonJS bundle has no import.meta: there the path must come from the env or setAddonPath.
  // String joins, not node:path/node:url: their first calls cost ~1.5 ms of every plugin start.
  const here: unknown = import.meta.dirname;
  if (typeof here !== 'string') {
    throw new NetlinkAddonError(`cannot locate the netlink addon: set ${ADDON_ENV} or call setAddonPath()`);
  }
  // dist/ of the built package; native/build/Release/ or dist/ seen from src/ in a checkout.
  const parent = here.slice(0, here.lastIndexOf('/'));
  const candidates = [
    `${here}/${ADDON_FILE}`,
    `${parent}/native/build/Release/${ADDON_FILE}`,
    `${parent}/dist/${ADDON_FILE}`,
  ];
  return candidates.find((p) => fs.existsSync(p)) ?? candidates[0]!;
}

/**
 * The syscall layer, loaded once on first use (importing the package never touches it). Exported
 * so tools can wrap it (tracing, recording replies) and pass the wrapper to `Netlink.open({ addon })`.
 */
export function nativeAddon(): NativeAddon {
  if (!loaded) {
    const path = addonPath();
    try {
      // process.dlopen works from ESM, from a CommonJS bundle and inside a single executable
      // (where require() only knows built-in modules).
      const mod = { exports: {} as NativeAddon };
      process.dlopen(mod, path);
      loaded = mod.exports;
    } catch (cause) {
      throw new NetlinkAddonError(
        `cannot load the @minicni/netlink addon from ${path}: build it with \`pnpm --filter @minicni/netlink build\`` +
          ` or point ${ADDON_ENV} at it`,
        { cause },
      );
    }
  }
  return loaded;
}
