import { randomBytes } from 'node:crypto';
import {
  closeSync,
  ftruncateSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { IpamError } from './errors.js';
import { decodeOwner, encodeOwner, isCanonicalIp } from './file-format.js';
import { canonicalIp } from './ip.js';
import { Mutex } from './mutex.js';
import { ownerKey, ownerMatches, type Owner } from './owner.js';
import { networkDir, RANGE_ID } from './paths.js';
import type { GetOptions, Reservation, ReserveRequest, Store, StoreStats } from './store.js';

/**
 * Takes the host-local `lock` file. The function receives the lock file's path and resolves to
 * its unlock. Node has no flock(2), so none is built in: inject one (e.g. from the plugin's
 * native addon) to serialise with a running host-local. Correctness does not depend on it.
 */
export type LockProvider = (lockPath: string) => Promise<() => Promise<void>>;

export interface FileStoreOptions {
  /** Root of all networks, host-local's `dataDir` (default /var/lib/cni/networks). */
  dataDir?: string;
  network: string;
  lock?: LockProvider;
  /** Record release times (for reuse cooldown) under `.minicni/released/`. */
  recordReleases?: boolean;
  /** Age after which an empty (unowned) address file or a stray temp file may be collected. */
  graceMs?: number;
  now?: () => number;
}

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';
const CURSOR_PREFIX = 'last_reserved_ip.';

/**
 * host-local's on-disk store, byte for byte: `<dataDir>/<network>/<ip>` holding
 * `containerID\r\nifname`, `last_reserved_ip.<N>`, `lock`. The atomic primitive is link(2) of a
 * fully written temp file onto the address name: it fails with EEXIST like host-local's O_EXCL
 * create, but the name never exists without its content, so a crash leaves no ownerless file.
 * minicni's own bookkeeping lives in `<network>/.minicni/`: `owners/<key>/<ip>` is a second hard
 * link to the address file (the owner index: same inode = same reservation), `tmp/` holds temp
 * files, `released/<ip>` release times when a reuse cooldown is on.
 *
 * File calls are synchronous on purpose: each is a syscall on a small local file, cheaper than a
 * thread-pool round trip (docs/ipam.md has the figures). The price is that they block the calling
 * thread: in a process that serves other work on its event loop (the plugin served behind the
 * fast path runs concurrent CNI calls) every store call holds the rest up meanwhile, briefly for
 * reserve/release (a handful of syscalls), for a whole directory scan in list(), gc() and
 * getByOwner({ scan: true }).
 */
export class FileStore implements Store {
  readonly dir: string;
  private readonly tmpDir: string;
  private readonly ownersDir: string;
  private readonly releasedDir: string;
  private readonly lock: LockProvider | undefined;
  private readonly recordReleases: boolean;
  private readonly graceMs: number;
  private readonly now: () => number;
  private readonly mutex = new Mutex();
  private isReady = false;
  private seq = 0;
  private readonly tag = `${process.pid}.${randomBytes(4).toString('hex')}`;

  constructor(opts: FileStoreOptions) {
    this.dir = networkDir(opts.dataDir ?? DEFAULT_DATA_DIR, opts.network);
    const meta = join(this.dir, '.minicni');
    this.tmpDir = join(meta, 'tmp');
    this.ownersDir = join(meta, 'owners');
    this.releasedDir = join(meta, 'released');
    this.lock = opts.lock;
    this.recordReleases = opts.recordReleases ?? false;
    this.graceMs = opts.graceMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  private ready(): void {
    if (this.isReady) return;
    try {
      mkdirSync(this.tmpDir, { recursive: true, mode: 0o755 });
      mkdirSync(this.ownersDir, { recursive: true, mode: 0o755 });
      if (this.recordReleases) mkdirSync(this.releasedDir, { recursive: true, mode: 0o755 });
    } catch (cause) {
      throw io(`cannot create ${this.dir}`, cause);
    }
    this.isReady = true;
  }

  private tmpPath(kind: string): string {
    return join(this.tmpDir, `${kind}.${this.tag}.${this.seq++}`);
  }

  private ipPath(ip: string): string {
    return join(this.dir, canonicalIp(ip));
  }

  async reserve(req: ReserveRequest): Promise<boolean> {
    this.ready();
    const ip = canonicalIp(req.ip);
    const target = join(this.dir, ip);
    if (exists(target)) return false;
    const indexDir = join(this.ownersDir, ownerKey(req.owner));
    const indexEntry = join(indexDir, ip);
    const tmp = this.tmpPath('new');
    let taken = false;
    try {
      writeFileSync(tmp, encodeOwner(req.owner), { mode: 0o644 });
      // Index entry first: the index is then always a superset of what an owner holds, and a
      // crash between the two links leaves only a stale entry that readers verify away.
      mkdirSync(indexDir, { recursive: true });
      try {
        linkSync(tmp, indexEntry);
      } catch (e) {
        if (errno(e) !== 'EEXIST') throw e;
        // A live entry (same inode as the address file) means the owner holds it already.
        if (inode(indexEntry) === inode(target)) return false;
        unlinkSync(indexEntry); // stale, from a crash
        linkSync(tmp, indexEntry);
      }
      try {
        linkSync(tmp, target);
        taken = true;
      } catch (e) {
        if (errno(e) !== 'EEXIST') throw e;
      }
    } catch (cause) {
      throw io(`cannot reserve ${ip} in ${this.dir}`, cause);
    } finally {
      // Only our own entry (the temp file's inode) is withdrawn on failure.
      if (!taken && inode(indexEntry) === inode(tmp)) quietly(() => unlinkSync(indexEntry));
      quietly(() => unlinkSync(tmp));
    }
    if (this.recordReleases) quietly(() => unlinkSync(join(this.releasedDir, ip)));
    return taken;
  }

  /** Reads an address file: undefined when absent, `{owner: undefined}` when held without an owner. */
  private holder(path: string): { owner: Owner | undefined } | undefined {
    try {
      return { owner: decodeOwner(readFileSync(path, 'utf8')) };
    } catch (e) {
      if (errno(e) === 'ENOENT') return undefined;
      throw io(`cannot read ${path}`, e);
    }
  }

  async release(ip: string, owner: Owner): Promise<boolean> {
    return this.releaseIf(canonicalIp(ip), (o) => o !== undefined && ownerMatches(o, owner));
  }

  /**
   * Removes an address file only if it still holds what `check` accepts. The file is first
   * renamed away (atomic), then checked again: a file another writer put there between our
   * read and the rename is linked back, never deleted.
   */
  private releaseIf(ip: string, check: (o: Owner | undefined) => boolean): boolean {
    const path = join(this.dir, ip);
    const before = this.holder(path);
    if (!before || !check(before.owner)) return false;
    // Only now is there something to change (a directory host-local made has no .minicni yet).
    this.ready();
    const moved = this.tmpPath('rel');
    try {
      renameSync(path, moved);
    } catch (e) {
      if (errno(e) === 'ENOENT') return false;
      throw io(`cannot release ${ip}`, e);
    }
    const after = this.holder(moved);
    if (after && check(after.owner)) {
      const o = after.owner;
      const entry = o && o.ifname !== '' ? join(this.ownersDir, ownerKey(o), ip) : undefined;
      // The index entry goes only if it is a link of this very file, not a newer reservation.
      if (entry && inode(entry) === inode(moved)) quietly(() => unlinkSync(entry));
      quietly(() => unlinkSync(moved));
      if (this.recordReleases) quietly(() => writeFileSync(join(this.releasedDir, ip), String(this.now())));
      return true;
    }
    try {
      linkSync(moved, path);
    } catch (e) {
      throw new IpamError(
        'STORE_CORRUPT',
        `${ip} changed owner while being released and was taken again meanwhile; kept at ${moved} for inspection`,
        { cause: e },
      );
    }
    quietly(() => unlinkSync(moved));
    return false;
  }

  async releaseByOwner(owner: Owner): Promise<string[]> {
    const out: string[] = [];
    for (const ip of await this.getByOwner(owner, { scan: true })) {
      if (await this.release(ip, owner)) out.push(ip);
    }
    quietly(() => rmdirSync(join(this.ownersDir, ownerKey(owner))));
    return out;
  }

  async getByOwner(owner: Owner, opts: GetOptions = {}): Promise<string[]> {
    // Reads create nothing: a request refused before any reservation leaves no directory behind.
    const indexDir = join(this.ownersDir, ownerKey(owner));
    const out: string[] = [];
    for (const ip of readdirOrEmpty(indexDir)) {
      // Same inode: the entry and the address file are links of one reservation.
      const entry = inode(join(indexDir, ip));
      if (entry !== undefined && entry === inode(join(this.dir, ip))) out.push(ip);
      else quietly(() => unlinkSync(join(indexDir, ip)));
    }
    if (out.length > 0 || !opts.scan) return out;
    for (const r of await this.list()) if (r.owner && ownerMatches(r.owner, owner)) out.push(r.ip);
    return out;
  }

  async list(): Promise<Reservation[]> {
    const out: Reservation[] = [];
    for (const ip of readdirOrEmpty(this.dir)) {
      if (!isCanonicalIp(ip)) continue;
      const h = this.holder(join(this.dir, ip));
      if (h) out.push({ ip, owner: h.owner });
    }
    return out;
  }

  async getCursor(rangeId: string): Promise<string | undefined> {
    checkRangeId(rangeId);
    try {
      const text = readFileSync(join(this.dir, CURSOR_PREFIX + rangeId), 'utf8').trim();
      return isCanonicalIp(text) ? text : undefined;
    } catch {
      // The cursor is only a hint; host-local rewrites it in place, so a torn read is normal.
      return undefined;
    }
  }

  /**
   * Rewrites the cursor in place (write at 0, then truncate to length): no new inode and no
   * O_TRUNC, which on ext4 forces a flush on close and costs milliseconds. A torn read only
   * makes a reader start elsewhere; reservations stay exclusive either way.
   */
  async setCursor(rangeId: string, ip: string): Promise<void> {
    checkRangeId(rangeId);
    this.ready();
    const text = Buffer.from(canonicalIp(ip));
    try {
      const path = join(this.dir, CURSOR_PREFIX + rangeId);
      let fd: number;
      try {
        fd = openSync(path, 'r+'); // not 'a+': Linux pwrite on O_APPEND ignores the offset
      } catch (e) {
        if (errno(e) !== 'ENOENT') throw e;
        fd = openSync(path, 'w', 0o644);
      }
      try {
        writeSync(fd, text, 0, text.length, 0);
        ftruncateSync(fd, text.length);
      } finally {
        closeSync(fd);
      }
    } catch (cause) {
      throw io(`cannot write the cursor of range set ${rangeId}`, cause);
    }
  }

  async releasedAt(ip: string): Promise<number | undefined> {
    if (!this.recordReleases) return undefined;
    try {
      const n = Number(readFileSync(join(this.releasedDir, canonicalIp(ip)), 'utf8').trim());
      return Number.isFinite(n) ? n : undefined;
    } catch {
      return undefined;
    }
  }

  async gc(keep: (owner: Owner) => boolean): Promise<string[]> {
    const out: string[] = [];
    const now = this.now();
    for (const r of await this.list()) {
      if (r.owner) {
        if (!keep(r.owner) && (await this.release(r.ip, r.owner))) out.push(r.ip);
        continue;
      }
      const age = now - (mtime(join(this.dir, r.ip)) ?? now);
      if (age > this.graceMs && this.releaseIf(r.ip, (o) => o === undefined)) out.push(r.ip);
    }
    this.sweep(now);
    return out;
  }

  /** Removes temp files of crashed writers and index entries that no longer match their file. */
  private sweep(now: number): void {
    for (const name of readdirOrEmpty(this.tmpDir)) {
      const p = join(this.tmpDir, name);
      if (now - (mtime(p) ?? now) > this.graceMs) quietly(() => unlinkSync(p));
    }
    for (const key of readdirOrEmpty(this.ownersDir)) {
      const dir = join(this.ownersDir, key);
      for (const ip of readdirOrEmpty(dir)) {
        const entry = inode(join(dir, ip));
        if (entry === undefined || entry !== inode(join(this.dir, ip)))
          quietly(() => unlinkSync(join(dir, ip)));
      }
      quietly(() => rmdirSync(dir));
    }
  }

  async stats(): Promise<StoreStats> {
    const all = await this.list();
    return { reservations: all.length, unowned: all.filter((r) => !r.owner).length };
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      if (!this.lock) return fn();
      this.ready();
      const unlock = await this.lock(join(this.dir, 'lock'));
      try {
        return await fn();
      } finally {
        await unlock();
      }
    });
  }

  async close(): Promise<void> {}
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function io(what: string, cause: unknown): IpamError {
  if (cause instanceof IpamError) return cause;
  return new IpamError('STORE_IO', `${what}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}

/** Best-effort clean-up: the caller's outcome does not depend on it. */
function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // ignored on purpose
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw io(`cannot stat ${path}`, e);
  }
}

function inode(path: string): number | undefined {
  try {
    return lstatSync(path).ino;
  } catch {
    return undefined;
  }
}

function mtime(path: string): number | undefined {
  try {
    return lstatSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if (errno(e) === 'ENOENT') return [];
    throw io(`cannot list ${dir}`, e);
  }
}

function checkRangeId(id: string): void {
  if (!RANGE_ID.test(id))
    throw new IpamError('INVALID_CONFIG', `range id ${JSON.stringify(id)} must be a small integer`);
}
