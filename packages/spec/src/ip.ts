// Address syntax checks written out here instead of importing node:net, which would add
// several milliseconds to every plugin start (see bench/import-cost.mjs).

const V4_OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => V4_OCTET.test(p));
}

export function isIPv6(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (half: string): string[] | undefined => (half === '' ? [] : half.split(':'));
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!head || !tail) return false;
  const all = [...head, ...tail];
  let count = 0;
  for (let i = 0; i < all.length; i++) {
    const g = all[i] ?? '';
    if (i === all.length - 1 && g.includes('.')) {
      if (!isIPv4(g)) return false;
      count += 2;
    } else if (HEX_GROUP.test(g)) {
      count += 1;
    } else {
      return false;
    }
  }
  return halves.length === 2 ? count < 8 : count === 8;
}

export function isIP(s: string): boolean {
  return isIPv4(s) || isIPv6(s);
}

/**
 * The address family the way Go's `To4()` sees it: IPv4-mapped IPv6 (`::ffff:a.b.c.d`) counts
 * as IPv4, so results convert exactly as the Go libraries convert them.
 */
export function ipFamily(s: string): 4 | 6 | undefined {
  const addr = s.includes('/') ? s.slice(0, s.indexOf('/')) : s;
  if (isIPv4(addr)) return 4;
  if (!isIPv6(addr)) return undefined;
  return /^(0{0,4}:){0,5}:?(0{0,4}:)*ffff:\d+\.\d+\.\d+\.\d+$/i.test(addr) ? 4 : 6;
}

/** `address/prefix` with a prefix valid for the address's family. */
export function isCidr(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const addr = s.slice(0, slash);
  const prefix = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix)) return false;
  const n = Number(prefix);
  if (isIPv4(addr)) return n <= 32;
  return isIPv6(addr) && n <= 128;
}

const MAC = /^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/;

/** A 48-bit MAC address written with `:` or `-` (what Go's ParseMAC accepts for Ethernet). */
export function isMac(s: string): boolean {
  return MAC.test(s) && (s.includes(':') ? !s.includes('-') : true);
}
