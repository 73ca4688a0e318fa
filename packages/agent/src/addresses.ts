import { formatIp, formatSubnet, isIpamError, parseSubnet, type Subnet } from '@minicni/ipam';
import { AgentError } from './errors.js';

// The agent's address math is @minicni/ipam's. This file only turns ipam's errors into the
// agent's codes, so the installer and the node sources keep printing `[INVALID_CIDR]`.

/**
 * Parses a pod CIDR strictly: host bits must be zero (a node's podCIDR is a network, and a typo
 * such as 10.244.1.5/24 should stop the installer, not be silently widened). Blanks around the
 * text are forgiven, as they always were; anything else ipam refuses is refused.
 */
export function parsePodCidr(text: string): Subnet {
  const trimmed = text.trim();
  try {
    return parseSubnet(trimmed);
  } catch (e) {
    if (isIpamError(e, 'HOST_BITS_SET')) {
      const network = formatSubnet(parseSubnet(trimmed, { allowHostBits: true }));
      throw new AgentError('INVALID_CIDR', `"${text}" has host bits set; did you mean ${network}?`, {
        cause: e,
      });
    }
    throw new AgentError('INVALID_CIDR', (e as Error).message, { cause: e });
  }
}

/** A node's pod CIDRs, parsed: at most one per address family (dual stack has one of each). */
export function parsePodCidrs(cidrs: readonly string[]): Subnet[] {
  const subnets = cidrs.map(parsePodCidr);
  if (new Set(subnets.map((s) => s.family)).size !== subnets.length) {
    throw new AgentError('INVALID_CIDR', `at most one pod CIDR per address family, got ${cidrs.join(', ')}`);
  }
  return subnets;
}

/** A subnet's network address as text (`10.244.1.0` for 10.244.1.0/24). */
export function networkAddress(s: Subnet): string {
  return formatIp({ family: s.family, value: s.base });
}
