/** Stable codes of every error @minicni/policy throws; tell errors apart by `code`, never by text. */
export type PolicyErrorCode =
  /** Not an object of the expected kind, or a required field missing or of the wrong type. */
  | 'INVALID_OBJECT'
  /** A label selector the API server would refuse (bad operator, values where none belong, ...). */
  | 'INVALID_SELECTOR'
  /** A NetworkPolicy port: number out of range, bad name, endPort without a numeric port, ... */
  | 'INVALID_PORT'
  /** A peer with no selector, or an ipBlock mixed with selectors. */
  | 'INVALID_PEER'
  /** An ipBlock whose cidr or except does not parse, or an except outside its cidr. */
  | 'INVALID_IP_BLOCK'
  /** A pod, node or endpoint IP that does not parse. */
  | 'INVALID_ADDRESS'
  /** A protocol other than TCP, UDP and SCTP. */
  | 'INVALID_PROTOCOL'
  /** Two objects with the same namespace/name in one cluster snapshot. */
  | 'DUPLICATE_OBJECT'
  /** An evaluator endpoint naming a pod the snapshot does not hold. */
  | 'UNKNOWN_POD'
  /** A compiler option out of range (table name, priority). */
  | 'INVALID_OPTION';

/** The one error class of @minicni/policy: a stable `code`, a message a person can act on, an optional cause. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly code: PolicyErrorCode;

  constructor(code: PolicyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isPolicyError(e: unknown, code?: PolicyErrorCode): e is PolicyError {
  return e instanceof PolicyError && (code === undefined || e.code === code);
}
