import { CniError, ErrorCode } from '@minicni/spec';
import { isIpamError } from '@minicni/ipam';
import { NetlinkError } from '@minicni/netlink';

/**
 * The one place library errors become CNI errors. Each library error has a stable `code`; the
 * message already says what to fix, so it is kept as the CNI `msg`.
 */
export function asCniError(err: unknown): unknown {
  if (err instanceof CniError) return err;
  if (isIpamError(err)) {
    switch (err.code) {
      case 'POOL_EXHAUSTED':
      case 'ATTEMPTS_EXHAUSTED':
      case 'ADDRESS_IN_USE':
        return new CniError(ErrorCode.TryAgainLater, err.message, err.code);
      case 'STORE_IO':
      case 'STORE_CORRUPT':
      case 'STORE_CLOSED':
        return new CniError(ErrorCode.IoFailure, err.message, err.code);
      default:
        return new CniError(ErrorCode.InvalidNetworkConfig, err.message, err.code);
    }
  }
  if (err instanceof NetlinkError) return new CniError(ErrorCode.IoFailure, err.message, err.code);
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof Error && code === 'LOCK_TIMEOUT')
    return new CniError(ErrorCode.TryAgainLater, err.message, code);
  if (err instanceof Error && (code === 'NODE_RULES_FAILED' || code === 'RESERVATION_MISMATCH')) {
    return new CniError(ErrorCode.IoFailure, err.message, code);
  }
  return err;
}
