import type { DropCount, PolicyDrops } from './policy-nft.js';

const ZERO: PolicyDrops = { ingress: { packets: 0, bytes: 0 }, egress: { packets: 0, bytes: 0 } };

const add = (a: DropCount, b: DropCount): DropCount => ({
  packets: a.packets + b.packets,
  bytes: a.bytes + b.bytes,
});

/**
 * Drop totals that survive ruleset replacements. Each apply replaces the table and so resets its
 * counters; what the old table had counted is read just before the apply and carried over, so
 * `/metrics` shows a counter that only goes up while the agent runs. Reads and replacements run
 * one at a time: a scrape never sees a count both carried and still in the kernel.
 */
export class DropTotals {
  readonly #read: () => Promise<PolicyDrops | undefined>;
  #carried: PolicyDrops = ZERO;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(read: () => Promise<PolicyDrops | undefined>) {
    this.#read = read;
  }

  /** Carried plus what the kernel's table holds now (nothing when there is no table yet). */
  totals(): Promise<PolicyDrops> {
    return this.#serial(async () => this.#plus((await this.#read()) ?? ZERO));
  }

  /**
   * Runs `apply` (which replaces the table) after reading the counters it is about to reset; they
   * are carried only when the apply succeeded (a failed one leaves the old table counting). A
   * failed read never blocks an apply: `onReadError` hears of it and those drops are lost.
   */
  replacing<T>(apply: () => Promise<T>, onReadError: (e: unknown) => void): Promise<T> {
    return this.#serial(async () => {
      let before: PolicyDrops = ZERO;
      try {
        before = (await this.#read()) ?? ZERO;
      } catch (e) {
        onReadError(e);
      }
      const result = await apply();
      this.#carried = this.#plus(before);
      return result;
    });
  }

  #plus(d: PolicyDrops): PolicyDrops {
    return { ingress: add(this.#carried.ingress, d.ingress), egress: add(this.#carried.egress, d.egress) };
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }
}
