import { CniError, ErrorCode } from '@minicni/spec';
import { isIpamError } from '@minicni/ipam';
import { NetlinkError } from '@minicni/netlink';

/** Plugin-specific code (100+): CHECK found live state that differs from prevResult. */
export const CHECK_MISMATCH = 100;

/** The one place block errors become CNI errors; each block's message already says what to fix. */
export function asCniError(err: unknown): unknown {
  if (err instanceof CniError) return err;
  if (isIpamError(err)) {
    if (['POOL_EXHAUSTED', 'ATTEMPTS_EXHAUSTED', 'ADDRESS_IN_USE'].includes(err.code))
      return new CniError(ErrorCode.TryAgainLater, err.message, err.code);
    if (err.code.startsWith('STORE_')) return new CniError(ErrorCode.IoFailure, err.message, err.code);
    return new CniError(ErrorCode.InvalidNetworkConfig, err.message, err.code);
  }
  if (err instanceof NetlinkError) return new CniError(ErrorCode.IoFailure, err.message, err.code);
  return err;
}

export function mismatch(msg: string): CniError {
  return new CniError(CHECK_MISMATCH, `CHECK failed: ${msg}`);
}
