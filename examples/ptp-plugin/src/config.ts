import { CniError, ErrorCode } from '@minicni/spec';
import { parseIpamChoice, type IpamChoice } from '@minicni/kit';

/** The ptp plugin's settings after defaults and validation. */
export interface PtpConfig {
  mtu: number;
  ipam: IpamChoice;
  /** The policy agent's hand-off socket (@minicni/fastpath): ADD announces the pod there. */
  policySocket: string | undefined;
}

export type { IpamChoice };

export const DEFAULT_MTU = 1500;

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
  const policySocket = raw.policySocket ?? undefined;
  if (policySocket !== undefined && (typeof policySocket !== 'string' || !policySocket.startsWith('/'))) {
    throw invalid(`"policySocket" must be an absolute path, got ${JSON.stringify(policySocket)}`);
  }
  return { mtu, ipam: parseIpamChoice(raw.ipam), policySocket };
}

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}
