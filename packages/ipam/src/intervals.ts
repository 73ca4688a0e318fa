/** A closed interval of address integers. */
export interface Interval {
  readonly lo: bigint;
  readonly hi: bigint;
}

/**
 * Sorted, merged, non-overlapping intervals. Exclusions live here instead of as address lists,
 * so excluding a /96 out of a /64 costs one entry and skipping it costs one binary search.
 */
export class IntervalSet {
  readonly intervals: readonly Interval[];

  constructor(input: Iterable<Interval>) {
    const sorted = [...input]
      .filter((i) => i.lo <= i.hi)
      .sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
    const merged: Interval[] = [];
    for (const cur of sorted) {
      const last = merged[merged.length - 1];
      if (last && cur.lo <= last.hi + 1n) {
        if (cur.hi > last.hi) merged[merged.length - 1] = { lo: last.lo, hi: cur.hi };
      } else {
        merged.push(cur);
      }
    }
    this.intervals = merged;
  }

  get isEmpty(): boolean {
    return this.intervals.length === 0;
  }

  /** The interval holding `x`, if any (binary search). */
  find(x: bigint): Interval | undefined {
    let lo = 0;
    let hi = this.intervals.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const iv = this.intervals[mid]!;
      if (x < iv.lo) hi = mid - 1;
      else if (x > iv.hi) lo = mid + 1;
      else return iv;
    }
    return undefined;
  }

  has(x: bigint): boolean {
    return this.find(x) !== undefined;
  }

  /** How many integers of [lo, hi] the set covers. */
  countWithin(lo: bigint, hi: bigint): bigint {
    let n = 0n;
    for (const iv of this.intervals) {
      const a = iv.lo > lo ? iv.lo : lo;
      const b = iv.hi < hi ? iv.hi : hi;
      if (a <= b) n += b - a + 1n;
    }
    return n;
  }
}
