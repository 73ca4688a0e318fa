/** Stable codes of every error the library throws; tell errors apart by `code`, never by text. */
export type IpamErrorCode =
  | 'INVALID_ADDRESS'
  | 'INVALID_SUBNET'
  | 'HOST_BITS_SET'
  | 'SUBNET_TOO_SMALL'
  | 'INVALID_RANGE'
  | 'RANGES_OVERLAP'
  | 'INVALID_CONFIG'
  | 'INVALID_OWNER'
  | 'UNSAFE_PATH'
  | 'POOL_EXHAUSTED'
  | 'ATTEMPTS_EXHAUSTED'
  | 'ADDRESS_IN_USE'
  | 'ADDRESS_NOT_IN_RANGE'
  | 'ADDRESS_EXCLUDED'
  | 'STORE_IO'
  | 'STORE_CORRUPT'
  | 'STORE_CLOSED';

/** The one error class of @minicni/ipam: a stable `code`, a message a person can act on, an optional cause. */
export class IpamError extends Error {
  override readonly name = 'IpamError';
  readonly code: IpamErrorCode;

  constructor(code: IpamErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isIpamError(e: unknown, code?: IpamErrorCode): e is IpamError {
  return e instanceof IpamError && (code === undefined || e.code === code);
}
