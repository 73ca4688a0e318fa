import { IpamError } from './errors.js';
import { formatIp, parseIp, type Ip } from './ip.js';
import { assertOwner, type Owner } from './owner.js';
import { describeRange, rangeCapacity, type Range } from './range.js';
import { candidates, rangeIndexFor, type RangeSet } from './range-set.js';
import type { Store } from './store.js';

/** One address handed to an owner, with where it came from. */
export interface Allocation {
  readonly ip: Ip;
  readonly setIndex: number;
  readonly range: Range;
  /** Reserved by the call that returned it (false: the owner held it already). */
  readonly fresh: boolean;
}

export interface AllocatorOptions {
  /** Milliseconds a released address rests before it is handed out again (0 = off). */
  reuseCooldownMs?: number;
  /** Upper bound on addresses tried per range set per ADD (default 65,536). */
  maxAttempts?: number;
  now?: () => number;
}

export interface RangeStats {
  setIndex: number;
  subnet: string;
  rangeStart: string;
  rangeEnd: string;
  /** Addresses the range can hand out (bigint: a /64 is 2^64). */
  size: bigint;
  used: bigint;
  free: bigint;
}

/**
 * Hands out one address per range set, round robin from the store's cursor. The cursor is a
 * hint: every address is claimed by the store's reserve-if-absent, so a stale or torn cursor
 * costs at most a few extra tries and never a duplicate.
 */
export class Allocator {
  private readonly cooldownMs: number;
  private readonly maxAttempts: number;
  private readonly now: () => number;

  constructor(
    readonly store: Store,
    readonly sets: readonly RangeSet[],
    opts: AllocatorOptions = {},
  ) {
    this.cooldownMs = opts.reuseCooldownMs ?? 0;
    this.maxAttempts = opts.maxAttempts ?? 65_536;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Gives `owner` one address from every range set. An owner that already holds an address in a
   * set gets that address back (host-local fails such an ADD instead). `requested` pins addresses
   * (static IPs); each must fall in a set, outside its exclusions and gateway. All or nothing:
   * what this call reserved is released again if a later set fails.
   */
  async allocate(owner: Owner, requested: readonly Ip[] = []): Promise<Allocation[]> {
    assertOwner(owner);
    return this.store.exclusive(async () => {
      const held = (await this.store.getByOwner(owner)).map((t) => parseIp(t));
      const wanted = this.assignRequests(requested);
      const out: Allocation[] = [];
      const taken: Ip[] = [];
      try {
        for (const [setIndex, set] of this.sets.entries()) {
          const mine = held.find((ip) => rangeIndexFor(set, ip) >= 0);
          const want = wanted.get(setIndex);
          if (mine && (!want || want.value === mine.value)) {
            out.push(this.allocation(setIndex, mine, false));
            continue;
          }
          if (mine && want) {
            throw new IpamError(
              'ADDRESS_IN_USE',
              `${owner.containerId}/${owner.ifname} already holds ${formatIp(mine)}; release it before requesting ${formatIp(want)}`,
            );
          }
          const ip = want
            ? await this.reserveStatic(owner, setIndex, want)
            : await this.reserveNext(owner, setIndex);
          taken.push(ip);
          out.push(this.allocation(setIndex, ip, true));
        }
      } catch (e) {
        for (const ip of taken) await this.store.release(formatIp(ip), owner).catch(() => undefined);
        throw e;
      }
      return out;
    });
  }

  private allocation(setIndex: number, ip: Ip, fresh: boolean): Allocation {
    const set = this.sets[setIndex]!;
    return { ip, setIndex, range: set.ranges[rangeIndexFor(set, ip)]!, fresh };
  }

  private assignRequests(requested: readonly Ip[]): Map<number, Ip> {
    const wanted = new Map<number, Ip>();
    for (const ip of requested) {
      const setIndex = this.sets.findIndex((s) => rangeIndexFor(s, ip) >= 0);
      if (setIndex < 0) {
        throw new IpamError(
          'ADDRESS_NOT_IN_RANGE',
          `requested address ${formatIp(ip)} is not in any configured range`,
        );
      }
      if (wanted.has(setIndex)) {
        throw new IpamError(
          'INVALID_CONFIG',
          `requested addresses ${formatIp(wanted.get(setIndex)!)} and ${formatIp(ip)} fall in the same range set (one address per set)`,
        );
      }
      wanted.set(setIndex, ip);
    }
    return wanted;
  }

  private async reserveStatic(owner: Owner, setIndex: number, ip: Ip): Promise<Ip> {
    const set = this.sets[setIndex]!;
    const range = set.ranges[rangeIndexFor(set, ip)]!;
    if (ip.value === range.gateway) {
      throw new IpamError(
        'ADDRESS_EXCLUDED',
        `requested address ${formatIp(ip)} is the gateway of ${describeRange(range)}`,
      );
    }
    if (range.excluded.has(ip.value)) {
      throw new IpamError(
        'ADDRESS_EXCLUDED',
        `requested address ${formatIp(ip)} is excluded in ${describeRange(range)}`,
      );
    }
    const text = formatIp(ip);
    if (!(await this.store.reserve({ ip: text, owner, rangeId: String(setIndex) }))) {
      throw new IpamError('ADDRESS_IN_USE', `requested address ${text} is already allocated`);
    }
    return ip;
  }

  private async reserveNext(owner: Owner, setIndex: number): Promise<Ip> {
    const set = this.sets[setIndex]!;
    const rangeId = String(setIndex);
    const cursorText = await this.store.getCursor(rangeId);
    let cursor: Ip | undefined;
    try {
      cursor = cursorText === undefined ? undefined : parseIp(cursorText);
    } catch {
      cursor = undefined;
    }
    let tries = 0;
    let cooling = 0;
    const now = this.now();
    for (const c of candidates(set, cursor)) {
      if (tries >= this.maxAttempts) break;
      tries++;
      const text = formatIp({ family: set.family, value: c.value });
      if (this.cooldownMs > 0) {
        const at = await this.store.releasedAt(text);
        if (at !== undefined && now - at < this.cooldownMs) {
          cooling++;
          continue;
        }
      }
      if (await this.store.reserve({ ip: text, owner, rangeId })) {
        await this.store.setCursor(rangeId, text);
        return { family: set.family, value: c.value };
      }
    }
    const where = set.ranges.map(describeRange).join(', ');
    if (BigInt(tries) >= set.capacity) {
      const rest = cooling > 0 ? ` (${cooling} of them released less than ${this.cooldownMs} ms ago)` : '';
      throw new IpamError(
        'POOL_EXHAUSTED',
        `pool exhausted: all ${set.capacity} addresses of range set ${setIndex} (${where}) are in use${rest}`,
      );
    }
    throw new IpamError(
      'ATTEMPTS_EXHAUSTED',
      `no free address found in range set ${setIndex} (${where}) after ${tries} attempts; the pool is nearly full`,
    );
  }

  async get(owner: Owner): Promise<Allocation[]> {
    assertOwner(owner);
    const held = (await this.store.getByOwner(owner, { scan: true })).map((t) => parseIp(t));
    const out: Allocation[] = [];
    for (const ip of held) {
      const setIndex = this.sets.findIndex((s) => rangeIndexFor(s, ip) >= 0);
      if (setIndex >= 0) out.push(this.allocation(setIndex, ip, false));
    }
    return out.sort((a, b) => a.setIndex - b.setIndex);
  }

  /** Releases everything `owner` holds (idempotent: a second call releases nothing and succeeds). */
  async release(owner: Owner): Promise<string[]> {
    assertOwner(owner);
    return this.store.exclusive(() => this.store.releaseByOwner(owner));
  }

  /** CNI GC: releases every reservation whose owner is not among `valid`. */
  async gc(valid: readonly Owner[]): Promise<string[]> {
    const exact = new Set(valid.map((o) => `${o.containerId.trim()}\0${o.ifname}`));
    const ids = new Set(valid.map((o) => o.containerId.trim()));
    // An ID-only (old host-local) file names no interface: keep it while its container is valid.
    const keep = (o: Owner) =>
      o.ifname === '' ? ids.has(o.containerId) : exact.has(`${o.containerId}\0${o.ifname}`);
    return this.store.exclusive(() => this.store.gc(keep));
  }

  async stats(): Promise<RangeStats[]> {
    const reservations = await this.store.list();
    const out: RangeStats[] = [];
    for (const [setIndex, set] of this.sets.entries()) {
      for (const r of set.ranges) {
        let used = 0n;
        for (const res of reservations) {
          let ip: Ip;
          try {
            ip = parseIp(res.ip);
          } catch {
            continue;
          }
          if (ip.family === r.family && ip.value >= r.start && ip.value <= r.end && !r.blocked.has(ip.value))
            used++;
        }
        const size = rangeCapacity(r);
        out.push({
          setIndex,
          subnet: `${formatIp({ family: r.family, value: r.subnet.base })}/${r.subnet.prefix}`,
          rangeStart: formatIp({ family: r.family, value: r.start }),
          rangeEnd: formatIp({ family: r.family, value: r.end }),
          size,
          used,
          free: size - used,
        });
      }
    }
    return out;
  }
}
