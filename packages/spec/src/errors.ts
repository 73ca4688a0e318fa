/**
 * The spec's numeric error codes (0-99 reserved by the spec, 100+ plugin specific). Go's
 * libraries add 0 (unknown), 8 (invalid netns) and 999 (internal); they are kept here so errors
 * from Go plugins round-trip.
 */
export const ErrorCode = {
  Unknown: 0,
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetns: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  LimitedConnectivity: 51,
  Internal: 999,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The error object a plugin prints on stdout (every spec version has this shape). */
export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** An error that leaves a plugin as CNI error JSON: a spec code, a message and optional details. */
export class CniError extends Error {
  override readonly name = 'CniError';
  readonly code: number;
  readonly details: string | undefined;

  constructor(code: number, msg: string, details?: string, options?: { cause?: unknown }) {
    super(msg, options);
    this.code = code;
    this.details = details === '' ? undefined : details;
  }

  /** The spec's `msg` field. */
  get msg(): string {
    return this.message;
  }

  /**
   * The error object in the given version. `JSON.stringify` calls this with a property key,
   * so anything that is not an `x.y.z` version falls back to the newest spec version.
   */
  toJSON(cniVersion?: string): CniErrorJson {
    const v = cniVersion !== undefined && /^\d+\.\d+\.\d+$/.test(cniVersion) ? cniVersion : '1.1.0';
    const out: CniErrorJson = { cniVersion: v, code: this.code, msg: this.message };
    if (this.details !== undefined) out.details = this.details;
    return out;
  }
}

/** Stable string codes of the library's own errors (tell them apart by `code`, never by text). */
export type SpecErrorCode =
  | 'ENV_MISSING'
  | 'ENV_INVALID'
  | 'UNKNOWN_COMMAND'
  | 'CNI_ARGS_INVALID'
  | 'CONTAINER_ID_INVALID'
  | 'IFNAME_INVALID'
  | 'NETNS_INVALID'
  | 'CONFIG_DECODE'
  | 'CONFIG_INVALID'
  | 'NETWORK_NAME_INVALID'
  | 'RUNTIME_CONFIG_INVALID'
  | 'PREV_RESULT_INVALID'
  | 'RESULT_INVALID'
  | 'VERSION_UNSUPPORTED'
  | 'VERSION_TOO_OLD'
  | 'RESULT_NOT_CONVERTIBLE'
  | 'RESULT_VERSION_MISMATCH'
  | 'PLUGIN_NAME_INVALID'
  | 'PLUGIN_NOT_FOUND'
  | 'PLUGIN_EXEC_FAILED'
  | 'PLUGIN_OUTPUT_INVALID'
  | 'CACHE_INVALID';

/** A library error: a stable string `code`, a message a person can act on, and an optional cause. */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  readonly code: SpecErrorCode;
  readonly details: string | undefined;

  constructor(code: SpecErrorCode, message: string, options?: { cause?: unknown; details?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }
}

/** The one place library codes become spec codes (see docs/spec.md for the reasoning). */
export const SPEC_ERROR_TO_CNI: Readonly<Record<SpecErrorCode, number>> = {
  ENV_MISSING: ErrorCode.InvalidEnvironment,
  ENV_INVALID: ErrorCode.InvalidEnvironment,
  UNKNOWN_COMMAND: ErrorCode.InvalidEnvironment,
  CNI_ARGS_INVALID: ErrorCode.InvalidEnvironment,
  CONTAINER_ID_INVALID: ErrorCode.InvalidEnvironment,
  IFNAME_INVALID: ErrorCode.InvalidEnvironment,
  NETNS_INVALID: ErrorCode.InvalidEnvironment,
  CONFIG_DECODE: ErrorCode.DecodingFailure,
  CONFIG_INVALID: ErrorCode.InvalidNetworkConfig,
  NETWORK_NAME_INVALID: ErrorCode.InvalidNetworkConfig,
  RUNTIME_CONFIG_INVALID: ErrorCode.InvalidNetworkConfig,
  PREV_RESULT_INVALID: ErrorCode.InvalidNetworkConfig,
  RESULT_INVALID: ErrorCode.Internal,
  VERSION_UNSUPPORTED: ErrorCode.IncompatibleVersion,
  VERSION_TOO_OLD: ErrorCode.IncompatibleVersion,
  RESULT_NOT_CONVERTIBLE: ErrorCode.IncompatibleVersion,
  RESULT_VERSION_MISMATCH: ErrorCode.IncompatibleVersion,
  PLUGIN_NAME_INVALID: ErrorCode.InvalidNetworkConfig,
  PLUGIN_NOT_FOUND: ErrorCode.InvalidNetworkConfig,
  PLUGIN_EXEC_FAILED: ErrorCode.Internal,
  PLUGIN_OUTPUT_INVALID: ErrorCode.DecodingFailure,
  CACHE_INVALID: ErrorCode.IoFailure,
};

/**
 * Maps anything thrown to a CniError. CniErrors pass through, SpecErrors map by code, anything
 * else is an internal error (999) carrying only its message: the stack never reaches a runtime.
 */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof SpecError) {
    return new CniError(SPEC_ERROR_TO_CNI[err.code], err.message, err.details, { cause: err });
  }
  if (err instanceof Error) {
    return new CniError(ErrorCode.Internal, err.message || err.name || 'internal error', undefined, {
      cause: err,
    });
  }
  return new CniError(ErrorCode.Internal, `internal error: ${describe(err)}`);
}

function describe(v: unknown): string {
  try {
    return typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  } catch {
    return Object.prototype.toString.call(v);
  }
}
