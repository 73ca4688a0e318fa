import type { Owner } from './owner.js';

/** One held address. `owner` is undefined while a writer is mid-way (host-local's empty file). */
export interface Reservation {
  /** Canonical address text (the key). */
  readonly ip: string;
  readonly owner: Owner | undefined;
}

export interface ReserveRequest {
  /** Canonical address text. */
  readonly ip: string;
  readonly owner: Owner;
  /** Range set index as text: the cursor it advances (host-local's `last_reserved_ip.<N>`). */
  readonly rangeId: string;
}

export interface GetOptions {
  /**
   * Also find reservations made by other writers (host-local) that the store's owner index
   * does not know, at the cost of reading every reservation. Default false.
   */
  scan?: boolean;
}

export interface StoreStats {
  reservations: number;
  /** Held but without a parseable owner (a writer mid-way or a crashed foreign writer). */
  unowned: number;
}

/**
 * Where reservations live. Every method is atomic on its own; `exclusive` serialises a sequence
 * of calls against other users of the same store where the backend can (a lock), and is a plain
 * call where per-address atomicity is all there is.
 */
export interface Store {
  /** Reserve-if-absent: true when this call took the address, false when someone holds it. */
  reserve(req: ReserveRequest): Promise<boolean>;
  /** Releases one address if (and only if) `owner` holds it. */
  release(ip: string, owner: Owner): Promise<boolean>;
  /** Releases everything `owner` holds; returns the addresses released. Idempotent. */
  releaseByOwner(owner: Owner): Promise<string[]>;
  getByOwner(owner: Owner, opts?: GetOptions): Promise<string[]>;
  /** Every reservation of this network (reservations only: never the free addresses). */
  list(): Promise<Reservation[]>;
  getCursor(rangeId: string): Promise<string | undefined>;
  setCursor(rangeId: string, ip: string): Promise<void>;
  /** When `ip` was last released (ms since epoch), if the store records releases. */
  releasedAt(ip: string): Promise<number | undefined>;
  /** Releases every reservation whose owner `keep` rejects; returns the addresses released. */
  gc(keep: (owner: Owner) => boolean): Promise<string[]>;
  stats(): Promise<StoreStats>;
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
