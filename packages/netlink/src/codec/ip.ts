import { NetlinkDecodeError, NetlinkInputError } from '../errors.js';
import { AF_INET, AF_INET6 } from './constants.js';

export type Family = 4 | 6;

export interface ParsedIp {
  family: Family;
  bytes: Buffer;
}

export interface ParsedCidr extends ParsedIp {
  prefixLength: number;
}

export const familyToAf = (f: Family): number => (f === 4 ? AF_INET : AF_INET6);

export function afToFamily(af: number): Family | undefined {
  if (af === AF_INET) return 4;
  if (af === AF_INET6) return 6;
  return undefined;
}

/** Parses a dotted IPv4 or an IPv6 address (`::` compression and a trailing dotted quad allowed). */
export function parseIp(text: string): ParsedIp {
  const v4 = parseV4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseV6(text);
  if (v6) return { family: 6, bytes: v6 };
  throw new NetlinkInputError(`"${text}" is not an IPv4 or IPv6 address`);
}

/** Parses `address/prefix`; a bare address means a host prefix (/32 or /128). */
export function parseCidr(text: string): ParsedCidr {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  const max = ip.family === 4 ? 32 : 128;
  if (slash < 0) return { ...ip, prefixLength: max };
  const p = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p) || Number(p) > max) {
    throw new NetlinkInputError(`"${text}" has a prefix length outside 0-${max}`);
  }
  return { ...ip, prefixLength: Number(p) };
}

function parseV4(text: string): Buffer | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseV6(text: string): Buffer | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseV4(part);
        if (!v4) return undefined;
        out.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        out.push(parseInt(part, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** Formats 4 or 16 address bytes (IPv6 in RFC 5952 form, as iproute2 prints it). */
export function formatIp(bytes: Uint8Array): string {
  // Written straight from the bytes: a route dump of an agent's 10,000 routes formats 20,000
  // addresses every few seconds, so no arrays or buffers are made per address.
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16)
    throw new NetlinkDecodeError(`an address has ${bytes.length} bytes, expected 4 or 16`);
  const group = (i: number) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!;
  let mappedV4 = group(5) === 0xffff;
  for (let i = 0; i < 5 && mappedV4; i++) if (group(i) !== 0) mappedV4 = false;
  if (mappedV4) return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  // Longest run of zero groups (length >= 2) becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (group(i) !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && group(j) === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      out += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    out += group(i).toString(16);
    if (i < 7) out += ':';
  }
  return out;
}

/** Zeroes the host bits, giving the network address of a CIDR. */
export function networkOf(cidr: ParsedCidr): Buffer {
  const out = Buffer.from(cidr.bytes);
  for (let bit = cidr.prefixLength; bit < out.length * 8; bit++) {
    out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  }
  return out;
}

/** Parses `aa:bb:cc:dd:ee:ff` (or `-` separated). */
export function parseMac(text: string): Buffer {
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(text)) {
    throw new NetlinkInputError(`"${text}" is not a MAC address (expected aa:bb:cc:dd:ee:ff)`);
  }
  return Buffer.from(text.replace(/[:-]/g, ''), 'hex');
}

export function formatMac(bytes: Uint8Array): string {
  // No array per address: a dump of thousands of FDB and neighbour entries formats one each.
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += (i ? ':' : '') + HEX2[bytes[i]!];
  return out;
}

const HEX2 = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
