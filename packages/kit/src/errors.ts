import { CniError, ErrorCode, type GcContext, type PluginHandlers, type StatusContext } from '@minicni/spec';
import { isIpamError } from '@minicni/ipam';
import { NetlinkError } from '@minicni/netlink';

/** Plugin-specific CNI code (100+): CHECK found live state that differs from prevResult. */
export const CHECK_MISMATCH = 100;

/** A CHECK failure: the code every plugin on the kit uses, so a runtime can tell it apart. */
export function checkFailed(msg: string): CniError {
  return new CniError(CHECK_MISMATCH, `CHECK failed: ${msg}`);
}

/** A plugin's own library codes (`err.code` of an Error) and the CNI code each becomes. */
export type ExtraErrorCodes = Readonly<Record<string, number>>;

/**
 * The one place block errors become CNI errors. Each block's error has a stable `code` and a
 * message that already says what to fix, so the message is kept as the CNI `msg` and the block's
 * code goes in `details`. Anything else is returned as it is: runPlugin turns SpecErrors into
 * their CNI codes and other errors into code 999.
 */
export function asCniError(err: unknown, extra: ExtraErrorCodes = {}): unknown {
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
  if (!(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  if (code === RESERVATION_MISMATCH) return checkFailed(err.message);
  if (typeof code === 'string' && Object.hasOwn(extra, code))
    return new CniError(extra[code]!, err.message, code);
  return err;
}

/** The `code` of the error the pod IPAM throws when CHECK finds another reservation. */
export const RESERVATION_MISMATCH = 'RESERVATION_MISMATCH';

/**
 * Wraps a plugin's verbs so an error from any of them leaves as a CNI error (asCniError), once,
 * at the boundary: the verbs themselves just throw what the blocks throw.
 */
export function withCniErrors(handlers: PluginHandlers, extra: ExtraErrorCodes = {}): PluginHandlers {
  const mapped = async <T>(run: () => T | Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw asCniError(err, extra);
    }
  };
  const status = handlers.status?.bind(handlers);
  const gc = handlers.gc?.bind(handlers);
  return {
    add: (ctx) => mapped(() => handlers.add(ctx)),
    del: (ctx) => mapped(() => handlers.del(ctx)),
    check: (ctx) => mapped(() => handlers.check(ctx)),
    ...(status ? { status: (ctx: StatusContext) => mapped(() => status(ctx)) } : {}),
    ...(gc ? { gc: (ctx: GcContext) => mapped(() => gc(ctx)) } : {}),
  };
}
