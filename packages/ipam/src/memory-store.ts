import { Mutex } from './mutex.js';
import { ownerMatches, type Owner } from './owner.js';
import type { GetOptions, Reservation, ReserveRequest, Store, StoreStats } from './store.js';

export interface MemoryStoreOptions {
  /** Clock for release times (reuse cooldown); injected so tests control time. */
  now?: () => number;
}

/** A Store in a Map: for tests and for tools that plan without touching disk. Same contract as FileStore. */
export class MemoryStore implements Store {
  private readonly held = new Map<string, Owner>();
  // Owner index, so the "already holds an address?" check on every ADD does not scan the pool.
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly cursors = new Map<string, string>();
  private readonly released = new Map<string, number>();
  private readonly mutex = new Mutex();
  private readonly now: () => number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  async reserve(req: ReserveRequest): Promise<boolean> {
    if (this.held.has(req.ip)) return false;
    const owner = { containerId: req.owner.containerId.trim(), ifname: req.owner.ifname };
    this.held.set(req.ip, owner);
    const k = key(owner);
    const set = this.byOwner.get(k) ?? new Set<string>();
    set.add(req.ip);
    this.byOwner.set(k, set);
    this.released.delete(req.ip);
    return true;
  }

  async release(ip: string, owner: Owner): Promise<boolean> {
    const cur = this.held.get(ip);
    if (!cur || !ownerMatches(cur, owner)) return false;
    this.held.delete(ip);
    const k = key(cur);
    const set = this.byOwner.get(k);
    set?.delete(ip);
    if (set?.size === 0) this.byOwner.delete(k);
    this.released.set(ip, this.now());
    return true;
  }

  async releaseByOwner(owner: Owner): Promise<string[]> {
    const out: string[] = [];
    for (const ip of await this.getByOwner(owner)) if (await this.release(ip, owner)) out.push(ip);
    return out;
  }

  async getByOwner(owner: Owner, _opts?: GetOptions): Promise<string[]> {
    return [...(this.byOwner.get(key(owner)) ?? [])];
  }

  async list(): Promise<Reservation[]> {
    return [...this.held].map(([ip, owner]) => ({ ip, owner }));
  }

  async getCursor(rangeId: string): Promise<string | undefined> {
    return this.cursors.get(rangeId);
  }

  async setCursor(rangeId: string, ip: string): Promise<void> {
    this.cursors.set(rangeId, ip);
  }

  async releasedAt(ip: string): Promise<number | undefined> {
    return this.released.get(ip);
  }

  async gc(keep: (owner: Owner) => boolean): Promise<string[]> {
    const out: string[] = [];
    for (const [ip, o] of [...this.held]) if (!keep(o) && (await this.release(ip, o))) out.push(ip);
    return out;
  }

  async stats(): Promise<StoreStats> {
    return { reservations: this.held.size, unowned: 0 };
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  async close(): Promise<void> {}
}

function key(o: Owner): string {
  return `${o.containerId.trim()}\0${o.ifname}`;
}
