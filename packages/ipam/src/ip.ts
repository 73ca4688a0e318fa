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
    // IPV4_STRICT leaves four runs of 1-3 digits between dots: read the octets off the characters.
    let value = 0;
    let octet = 0;
    for (let i = 0; i <= text.length; i++) {
      const c = i < text.length ? text.charCodeAt(i) : 46;
      if (c !== 46) {
        octet = octet * 10 + c - 48;
        continue;
      }
      if (octet > 255) throw new IpamError('INVALID_ADDRESS', `"${text}" has an octet above 255`);
      value = value * 256 + octet;
      octet = 0;
    }
    return { family: 4, value: BigInt(value) };
  }
  const plain = parsePlainIpv6(text);
  if (plain !== undefined) return { family: 6, value: plain };
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

// Fast path: a policy compile parses up to 300,000 pod addresses, and Address6 takes microseconds each.
// Plain hex groups with at most one `::` only; anything else (zone, IPv4 tail, malformed) gives undefined
// and goes through Address6, so results and error messages are as before.
const groups6 = new Uint16Array(8);
const bytes6 = new DataView(new ArrayBuffer(16));
// By ASCII code: the hex digit's value, or -1.
const HEX_DIGIT = Int8Array.from({ length: 128 }, (_, c) =>
  '0123456789abcdef'.indexOf(String.fromCharCode(c).toLowerCase()),
);

function parsePlainIpv6(text: string): bigint | undefined {
  const n = text.length;
  if (n > 39) return undefined; // longer than eight 4-digit groups
  let i = 0;
  let count = 0;
  let gap = -1; // groups before the `::`, or -1 without one
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return undefined;
    gap = 0;
    i = 2;
    if (n === 2) return 0n;
  }
  for (;;) {
    const start = i;
    let group = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      const digit = c < 128 ? HEX_DIGIT[c]! : -1;
      if (digit < 0) break;
      group = group * 16 + digit;
      i++;
    }
    if (i === start || i - start > 4 || count === 8) return undefined;
    groups6[count++] = group;
    if (i === n) break;
    if (text.charCodeAt(i) !== 58) return undefined;
    i++; // a trailing single colon leaves an empty group, refused above
    if (text.charCodeAt(i) === 58) {
      if (gap >= 0) return undefined;
      gap = count;
      i++;
      if (i === n) break;
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return undefined;
  const elided = 8 - count;
  for (let k = 0, g = 0; k < 8; k++) {
    bytes6.setUint16(2 * k, gap >= 0 && k >= gap && k < gap + elided ? 0 : groups6[g++]!);
  }
  return (bytes6.getBigUint64(0) << 64n) | bytes6.getBigUint64(8);
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
  const { family, value } = ip;
  // Fast paths, as for parsing: a policy ruleset writes hundreds of thousands of addresses, and
  // Address4/Address6 build several strings for each. Values out of range keep the library's answer.
  if (family === 4) {
    if (value < 0n || value > 0xffffffffn) return Address4.fromBigInt(value).correctForm();
    const v = Number(value);
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const text = value < 0n || value > MAX_V6 ? Address6.fromBigInt(value).correctForm() : formatIpv6(value);
  return ip.zone === undefined ? text : `${text}%${ip.zone}`;
}

const MAX_V6 = (1n << 128n) - 1n;
const MASK64 = (1n << 64n) - 1n;

/** RFC 5952: lowercase hex groups without leading zeros, the longest run of two or more zero groups (the first of equals) as `::`. */
function formatIpv6(value: bigint): string {
  bytes6.setBigUint64(0, value >> 64n);
  bytes6.setBigUint64(8, value & MASK64);
  let runAt = -1;
  let runLength = 1;
  for (let k = 0; k < 8;) {
    if (bytes6.getUint16(2 * k) !== 0) {
      k++;
      continue;
    }
    let end = k;
    while (end < 8 && bytes6.getUint16(2 * end) === 0) end++;
    if (end - k > runLength) {
      runAt = k;
      runLength = end - k;
    }
    k = end;
  }
  let out = '';
  for (let k = 0; k < 8; k++) {
    if (k === runAt) {
      out += k === 0 ? '::' : ':';
      k += runLength - 1;
      continue;
    }
    out += bytes6.getUint16(2 * k).toString(16);
    if (k < 7) out += ':';
  }
  return out;
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
