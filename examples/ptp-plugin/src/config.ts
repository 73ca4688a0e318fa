import { CniError, ErrorCode } from '@minicni/spec';

/** The ptp plugin's settings after defaults and validation. */
export interface PtpConfig {
  mtu: number;
  ipam: IpamChoice;
}

export type IpamChoice =
  /** `ipam.type: "minicni"`: @minicni/ipam in this process; `section` is host-local's fields. */
  | { kind: 'builtin'; section: Record<string, unknown> }
  /** `ipam.type` set: that IPAM plugin from CNI_PATH (e.g. host-local), called the CNI way. */
  | { kind: 'delegate'; type: string };

export const DEFAULT_MTU = 1500;

/** The `ipam.type` that selects the built-in allocator (the same word the minicni bridge plugin uses). */
export const BUILTIN_IPAM = 'minicni';

/**
 * Reads the plugin's own fields from the network config. Absent fields take defaults; a present
 * field of the wrong type or value is a code 7 error that names it.
 */
export function parsePtpConfig(raw: Record<string, unknown>): PtpConfig {
  const mtu = raw.mtu ?? DEFAULT_MTU;
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
    throw invalid(`"mtu" must be an integer from 68 to 65535, got ${JSON.stringify(mtu)}`);
  }
  if (raw.ipMasq !== undefined && raw.ipMasq !== false) {
    // NAT is node policy, not per-pod wiring: this example leaves it to the node (see README).
    throw new CniError(ErrorCode.UnsupportedField, '"ipMasq" is not supported by the ptp example plugin');
  }
  return { mtu, ipam: parseIpam(raw.ipam) };
}

function parseIpam(ipam: unknown): IpamChoice {
  if (typeof ipam !== 'object' || ipam === null || Array.isArray(ipam)) {
    throw invalid(
      `"ipam" must be an object: {"type": "${BUILTIN_IPAM}" or an IPAM plugin, ...host-local fields}`,
    );
  }
  const { type, ...section } = ipam as Record<string, unknown>;
  if (type === BUILTIN_IPAM) return { kind: 'builtin', section };
  if (typeof type !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(type)) {
    throw invalid('"ipam.type" must be a plugin name (letters, digits, ".", "_", "-"; no "/")');
  }
  return { kind: 'delegate', type };
}

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}
