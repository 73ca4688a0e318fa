import { Address4, Address6 } from 'ip-address';
import { IpamError } from './errors.js';

export type Family = 4 | 6;

/** An IP address as a family and an unsigned integer; cheap to compare, add and store as a key. */
export interface Ip {
  readonly family: Family;
  readonly value: bigint;
  /** IPv6 zone (`fe80::1%eth0`), only when parsed with `allowZone`. */
  readonly zone?: string;
}

export const BITS: Record<Family, number> = { 4: 32, 6: 128 };

// Dotted quad with decimal octets and no leading zeros: "010.1.1.1" is octal to inet_aton and
// "0x0a.1.1.1" hex, so both are refused rather than guessed at.
const IPV4_STRICT = /^(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}$/;
const IPV6_CHARS = /^[0-9a-fA-F:.]+$/;
const ZONE = /^[A-Za-z0-9_.-]{1,15}$/;

export interface ParseIpOptions {
  /** Accept an IPv6 zone suffix (`%eth0`); refused by default because a pool has no zone. */
  allowZone?: boolean;
}

/** Parses an IPv4 or IPv6 address strictly; throws IpamError INVALID_ADDRESS with the reason. */
export function parseIp(text: string, opts: ParseIpOptions = {}): Ip {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) {
    throw new IpamError('INVALID_ADDRESS', `"${String(text)}" is not an IP address`);
  }
  if (!text.includes(':')) {
    if (!IPV4_STRICT.test(text)) {
      throw new IpamError(
        'INVALID_ADDRESS',
        `"${text}" is not a dotted-decimal IPv4 address (four decimal octets, no leading zeros, no hex)`,
      );
    }
    const octets = text.split('.').map(Number);
    if (octets.some((o) => o > 255)) {
      throw new IpamError('INVALID_ADDRESS', `"${text}" has an octet above 255`);
    }
    return { family: 4, value: new Address4(text).bigInt() };
  }
  let body = text;
  let zone: string | undefined;
  const pct = text.indexOf('%');
  if (pct >= 0) {
    zone = text.slice(pct + 1);
    body = text.slice(0, pct);
    if (!opts.allowZone) {
      throw new IpamError('INVALID_ADDRESS', `"${text}" has a zone (%${zone}); a zone is not allowed here`);
    }
    if (!ZONE.test(zone)) throw new IpamError('INVALID_ADDRESS', `"${text}" has an invalid zone`);
  }
  if (!IPV6_CHARS.test(body)) {
    throw new IpamError('INVALID_ADDRESS', `"${text}" is not an IPv6 address`);
  }
  const tail = body.lastIndexOf(':');
  const embedded = body.slice(tail + 1);
  if (embedded.includes('.') && !IPV4_STRICT.test(embedded)) {
    throw new IpamError('INVALID_ADDRESS', `"${text}" embeds an invalid IPv4 address`);
  }
  let addr: Address6;
  try {
    addr = new Address6(body);
  } catch (cause) {
    throw new IpamError('INVALID_ADDRESS', `"${text}" is not an IPv6 address`, { cause });
  }
  if (addr.subnetMask !== 128) throw new IpamError('INVALID_ADDRESS', `"${text}" is not a single address`);
  return zone === undefined ? { family: 6, value: addr.bigInt() } : { family: 6, value: addr.bigInt(), zone };
}

/** parseIp for text that may not be an address at all: undefined instead of an error. */
export function tryParseIp(text: string, opts: ParseIpOptions = {}): Ip | undefined {
  try {
    return parseIp(text, opts);
  } catch {
    return undefined;
  }
}

/** Canonical text: dotted decimal, or RFC 5952 (lowercase, longest zero run as ::). Used for keys and file names. */
export function formatIp(ip: Ip): string {
  if (ip.family === 4) return Address4.fromBigInt(ip.value).correctForm();
  const text = Address6.fromBigInt(ip.value).correctForm();
  return ip.zone === undefined ? text : `${text}%${ip.zone}`;
}

export function ipOf(family: Family, value: bigint): Ip {
  return { family, value };
}

export function sameIp(a: Ip, b: Ip): boolean {
  return a.family === b.family && a.value === b.value;
}

/** True for ::ffff:0:0/96: an IPv4 address written as IPv6. It never matches an IPv4 range. */
export function isIpv4Mapped(ip: Ip): boolean {
  return ip.family === 6 && ip.value >> 32n === 0xffffn;
}

/** Canonicalises address text; the form every store uses as its key. */
export function canonicalIp(text: string): string {
  return formatIp(parseIp(text));
}
