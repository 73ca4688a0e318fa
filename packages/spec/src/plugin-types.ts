import type { CniArgs } from './cni-args.js';
import type { GcAttachment, NetConf } from './config-types.js';
import type { Command, EnvLike } from './env.js';
import type { HandlerResult } from './result-types.js';
import type { CniVersion } from './versions.js';

/** What every handler gets. */
export interface BaseContext {
  command: Command;
  /** The config's version: the version the result will be printed in. */
  cniVersion: CniVersion;
  /** The parsed config; `prevResult` is already in the 1.1.0 shape. */
  config: NetConf;
  /** The config bytes exactly as read from stdin (pass them on when delegating to IPAM). */
  rawConfig: Buffer;
  /** CNI_PATH split on `:`. */
  path: string[];
  /** The environment the plugin was called with (hand it to delegated plugins). */
  env: EnvLike;
  /** Writes a line to the debug log when one is configured; a no-op otherwise. */
  log: (message: string, fields?: Record<string, unknown>) => void;
}

/** ADD, DEL and CHECK act on one attachment: a container's interface in a netns. */
export interface AttachmentContext extends BaseContext {
  command: 'ADD' | 'DEL' | 'CHECK';
  containerId: string;
  ifname: string;
  /** Parsed CNI_ARGS (K8S_* keys, IP=, MAC=, and every pair). */
  args: CniArgs;
  netns: string | undefined;
}

export interface AddContext extends AttachmentContext {
  command: 'ADD';
  netns: string;
}

export interface CheckContext extends AttachmentContext {
  command: 'CHECK';
  netns: string;
}

/** DEL may come without a netns (the runtime already removed it); it must still succeed. */
export interface DelContext extends AttachmentContext {
  command: 'DEL';
}

export interface StatusContext extends BaseContext {
  command: 'STATUS';
}

export interface GcContext extends BaseContext {
  command: 'GC';
  /** Attachments the runtime still uses; release everything else. */
  validAttachments: GcAttachment[];
}

type MaybePromise<T> = T | Promise<T>;

/**
 * A plugin's verbs. ADD returns a result in the 1.1.0 shape; runPlugin converts it to the
 * config's version. Throw a CniError for a spec error code (e.g. 50 from STATUS).
 */
export interface PluginHandlers {
  add(ctx: AddContext): MaybePromise<HandlerResult>;
  del(ctx: DelContext): MaybePromise<void>;
  check(ctx: CheckContext): MaybePromise<void>;
  /** Missing: STATUS answers "ready" (exit 0). */
  status?(ctx: StatusContext): MaybePromise<void>;
  /** Missing: GC succeeds without doing anything. */
  gc?(ctx: GcContext): MaybePromise<void>;
}

/** The process edges runPlugin touches; every one can be replaced (tests, embedding). */
export interface PluginIo {
  env?: EnvLike;
  /** The config bytes, or a function that reads them (default: all of fd 0). */
  stdin?: string | Uint8Array | (() => string | Uint8Array | Promise<string | Uint8Array>);
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Called once with the exit status (default: sets process.exitCode). */
  exit?: (code: number) => void;
  /** Appends to the debug log (default: fs.appendFileSync). */
  appendFile?: (path: string, text: string) => void;
  now?: () => number;
}

export interface RunPluginOptions {
  /** Versions this plugin speaks (answered on VERSION, enforced on every other verb). */
  supportedVersions: readonly string[];
  io?: PluginIo;
  /** CNI_ARGS keys the plugin understands beyond the K8S_*, IP, MAC and IgnoreUnknown ones. */
  knownArgs?: readonly string[];
  /**
   * Debug log file. When unset, a string `logFile` field in the config turns the log on.
   * Off when neither is given.
   */
  logFile?: string;
}
