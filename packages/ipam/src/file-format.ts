import { formatIp, tryParseIp } from './ip.js';
import type { Owner } from './owner.js';

/** host-local's line break between container ID and ifname. */
export const LINE_BREAK = '\r\n';

export function encodeOwner(owner: Owner): string {
  return `${owner.containerId.trim()}${LINE_BREAK}${owner.ifname}`;
}

/**
 * Reads every form host-local ever wrote: `id\r\nifname`, `id\nifname`, and the ID alone
 * (ifname ''), each possibly with surrounding whitespace. Empty or unreadable content gives
 * undefined: the address is held, owner unknown (host-local writes after its exclusive create).
 */
export function decodeOwner(content: string): Owner | undefined {
  const text = content.trim();
  if (text === '') return undefined;
  const lines = text.split(/\r?\n/);
  if (lines.length > 2) return undefined;
  const containerId = lines[0]!.trim();
  const ifname = (lines[1] ?? '').trim();
  if (containerId === '') return undefined;
  return { containerId, ifname };
}

/** Whether a file name in a network directory is an address file: canonical address text only. */
export function isCanonicalIp(name: string): boolean {
  if (!/^[0-9a-f.:]+$/.test(name)) return false;
  const ip = tryParseIp(name);
  return ip !== undefined && formatIp(ip) === name;
}
