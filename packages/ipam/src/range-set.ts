import { IpamError } from './errors.js';
import { formatIp, type Family, type Ip } from './ip.js';
import {
  canonicalRange,
  describeRange,
  rangeCapacity,
  rangeContains,
  type Range,
  type RangeConfig,
} from './range.js';

/** A range set gives one address per ADD; several sets give several (dual stack). */
export interface RangeSet {
  readonly family: Family;
  readonly ranges: readonly Range[];
  /** Sum of the ranges' capacities. */
  readonly capacity: bigint;
}

export interface Candidate {
  readonly rangeIndex: number;
  readonly value: bigint;
}

export function canonicalRangeSet(cfgs: RangeConfig[], where: string): RangeSet {
  if (!Array.isArray(cfgs) || cfgs.length === 0) {
    throw new IpamError('INVALID_RANGE', `${where}: a range set needs at least one range`);
  }
  const ranges = cfgs.map((c, i) => canonicalRange(c, `${where}[${i}]`));
  const family = ranges[0]!.family;
  for (const [i, r] of ranges.entries()) {
    if (r.family !== family) {
      throw new IpamError(
        'INVALID_RANGE',
        `${where}: range ${i} mixes IPv${r.family} into an IPv${family} set`,
      );
    }
  }
  assertDisjoint(ranges, where);
  const capacity = ranges.reduce((n, r) => n + rangeCapacity(r), 0n);
  return { family, ranges, capacity };
}

function assertDisjoint(ranges: readonly Range[], where: string): void {
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const a = ranges[i]!;
      const b = ranges[j]!;
      if (a.start <= b.end && b.start <= a.end) {
        throw new IpamError(
          'RANGES_OVERLAP',
          `${where}: ranges ${describeRange(a)} and ${describeRange(b)} overlap`,
        );
      }
    }
  }
}

/** Throws RANGES_OVERLAP when two sets share an address (host-local refuses that too). */
export function assertSetsDisjoint(sets: readonly RangeSet[]): void {
  for (let i = 0; i < sets.length; i++) {
    for (let j = i + 1; j < sets.length; j++) {
      for (const a of sets[i]!.ranges) {
        for (const b of sets[j]!.ranges) {
          if (a.family === b.family && a.start <= b.end && b.start <= a.end) {
            throw new IpamError(
              'RANGES_OVERLAP',
              `range set ${i} overlaps range set ${j} (${describeRange(a)})`,
            );
          }
        }
      }
    }
  }
}

export function rangeIndexFor(set: RangeSet, ip: Ip): number {
  return set.ranges.findIndex((r) => rangeContains(r, ip));
}

export function setContains(set: RangeSet, ip: Ip): boolean {
  return rangeIndexFor(set, ip) >= 0;
}

/**
 * Yields the allocatable addresses of a set lazily, round robin: starting after `cursor` when
 * it lies in the set (else at the first range's start), through every range, wrapping once.
 * Blocked stretches are jumped in one step, so the cost per candidate does not depend on the
 * pool's size or on where the cursor sits.
 */
export function* candidates(set: RangeSet, cursor?: Ip): Generator<Candidate, void, undefined> {
  const n = set.ranges.length;
  let ri = 0;
  let v = set.ranges[0]!.start;
  if (cursor) {
    const at = rangeIndexFor(set, cursor);
    if (at >= 0) {
      ri = at;
      v = cursor.value + 1n;
    }
  }
  let left = set.capacity;
  while (left > 0n) {
    const r = set.ranges[ri]!;
    if (v < r.start) v = r.start;
    const iv = v <= r.end ? r.blocked.find(v) : undefined;
    if (iv) {
      v = iv.hi + 1n;
      continue;
    }
    if (v > r.end) {
      ri = (ri + 1) % n;
      v = set.ranges[ri]!.start;
      continue;
    }
    yield { rangeIndex: ri, value: v };
    left--;
    v++;
  }
}

export function formatCandidate(set: RangeSet, c: Candidate): string {
  return formatIp({ family: set.family, value: c.value });
}
