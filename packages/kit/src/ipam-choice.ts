import { CniError, ErrorCode } from '@minicni/spec';

/** The `ipam.type` that selects the built-in allocator (@minicni/ipam in the plugin's process). */
export const BUILTIN_IPAM = 'minicni';

export type IpamChoice =
  /** Built in (@minicni/ipam), host-local compatible; `section` is the ipam object without `type`. */
  | { kind: 'builtin'; section: Record<string, unknown> }
  /** An IPAM plugin from CNI_PATH (host-local, dhcp, ...), called the CNI way. */
  | { kind: 'delegate'; type: string };

export interface IpamChoiceOptions {
  /** An ipam object without `type` means the built-in allocator (default: it is an error). */
  untypedIsBuiltin?: boolean;
}

/**
 * Reads a network config's `ipam` object: `type: "minicni"` is the built-in allocator, any other
 * plugin name is delegated to. A type that is not a plain name (a path, say) is refused, since
 * it picks an executable to run as root. Errors are code 7 and name the field.
 */
export function parseIpamChoice(ipam: unknown, opts: IpamChoiceOptions = {}): IpamChoice {
  if (typeof ipam !== 'object' || ipam === null || Array.isArray(ipam)) {
    throw invalid(
      `"ipam" must be an object: {"type": "${BUILTIN_IPAM}" or an IPAM plugin, ...host-local fields}`,
    );
  }
  const { type, ...section } = ipam as Record<string, unknown>;
  if (type === BUILTIN_IPAM || (type === undefined && opts.untypedIsBuiltin))
    return { kind: 'builtin', section };
  if (typeof type !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(type)) {
    throw invalid('"ipam.type" must be a plugin name (letters, digits, ".", "_", "-"; no "/")');
  }
  return { kind: 'delegate', type };
}

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}
