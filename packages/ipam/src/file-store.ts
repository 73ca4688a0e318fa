import { randomBytes } from 'node:crypto';
import {
  link,
  lstat,
  mkdir,
  readFile,
  readdir,
  rename,
  rmdir,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { IpamError } from './errors.js';
import { decodeOwner, encodeOwner } from './file-format.js';
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
 * minicni's own bookkeeping lives in `<network>/.minicni/` (owner index, temp files, release log).
 */
export class FileStore implements Store {
  readonly dir: string;
  private readonly meta: string;
  private readonly tmpDir: string;
  private readonly ownersDir: string;
  private readonly releasedDir: string;
  private readonly lock: LockProvider | undefined;
  private readonly recordReleases: boolean;
  private readonly graceMs: number;
  private readonly now: () => number;
  private readonly mutex = new Mutex();
  private readyP: Promise<void> | undefined;
  private seq = 0;
  private readonly tag = `${process.pid}.${randomBytes(4).toString('hex')}`;

  constructor(opts: FileStoreOptions) {
    this.dir = networkDir(opts.dataDir ?? DEFAULT_DATA_DIR, opts.network);
    this.meta = join(this.dir, '.minicni');
    this.tmpDir = join(this.meta, 'tmp');
    this.ownersDir = join(this.meta, 'owners');
    this.releasedDir = join(this.meta, 'released');
    this.lock = opts.lock;
    this.recordReleases = opts.recordReleases ?? false;
    this.graceMs = opts.graceMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  private ready(): Promise<void> {
    this.readyP ??= (async () => {
      try {
        await mkdir(this.tmpDir, { recursive: true, mode: 0o755 });
        await mkdir(this.ownersDir, { recursive: true, mode: 0o755 });
        if (this.recordReleases) await mkdir(this.releasedDir, { recursive: true, mode: 0o755 });
      } catch (cause) {
        throw io(`cannot create ${this.dir}`, cause);
      }
    })();
    return this.readyP;
  }

  private tmpPath(kind: string): string {
    return join(this.tmpDir, `${kind}.${this.tag}.${this.seq++}`);
  }

  private ipPath(ip: string): string {
    return join(this.dir, canonicalIp(ip));
  }

  async reserve(req: ReserveRequest): Promise<boolean> {
    await this.ready();
    const target = this.ipPath(req.ip);
    if (await exists(target)) return false;
    const indexDir = join(this.ownersDir, ownerKey(req.owner));
    const indexEntry = join(indexDir, req.ip);
    const tmp = this.tmpPath('new');
    let taken = false;
    try {
      // Index entry first: the index is then always a superset of what an owner holds, and a
      // crash between the two steps leaves only a stale entry that readers verify away.
      await mkdir(indexDir, { recursive: true });
      await writeFile(indexEntry, '');
      await writeFile(tmp, encodeOwner(req.owner), { mode: 0o644 });
      try {
        await link(tmp, target);
        taken = true;
      } catch (e) {
        if (errno(e) !== 'EEXIST') throw e;
      }
    } catch (cause) {
      throw io(`cannot reserve ${req.ip} in ${this.dir}`, cause);
    } finally {
      await unlink(tmp).catch(() => undefined);
      if (!taken) await unlink(indexEntry).catch(() => undefined);
    }
    if (taken && this.recordReleases) await unlink(join(this.releasedDir, req.ip)).catch(() => undefined);
    return taken;
  }

  /** Reads an address file: undefined when absent, `{owner: undefined}` when held without an owner. */
  private async holder(path: string): Promise<{ owner: Owner | undefined } | undefined> {
    try {
      return { owner: decodeOwner(await readFile(path, 'utf8')) };
    } catch (e) {
      if (errno(e) === 'ENOENT') return undefined;
      throw io(`cannot read ${path}`, e);
    }
  }

  async release(ip: string, owner: Owner): Promise<boolean> {
    await this.ready();
    return this.releaseIf(ip, (o) => o !== undefined && ownerMatches(o, owner), owner);
  }

  /**
   * Removes an address file only if it still holds what `check` accepts. The file is first
   * renamed away (atomic), then checked again: a file another writer put there between our
   * read and the rename is linked back, never deleted.
   */
  private async releaseIf(
    ip: string,
    check: (o: Owner | undefined) => boolean,
    owner?: Owner,
  ): Promise<boolean> {
    const path = this.ipPath(ip);
    const before = await this.holder(path);
    if (!before || !check(before.owner)) return false;
    const moved = this.tmpPath('rel');
    try {
      await rename(path, moved);
    } catch (e) {
      if (errno(e) === 'ENOENT') return false;
      throw io(`cannot release ${ip}`, e);
    }
    const after = await this.holder(moved);
    if (after && check(after.owner)) {
      await unlink(moved).catch(() => undefined);
      const o = after.owner ?? owner;
      if (o && o.ifname !== '') await unlink(join(this.ownersDir, ownerKey(o), ip)).catch(() => undefined);
      if (this.recordReleases)
        await writeFile(join(this.releasedDir, ip), String(this.now())).catch(() => undefined);
      return true;
    }
    try {
      await link(moved, path);
    } catch (e) {
      throw new IpamError(
        'STORE_CORRUPT',
        `${ip} changed owner while being released and was taken again meanwhile; kept at ${moved} for inspection`,
        { cause: e },
      );
    }
    await unlink(moved).catch(() => undefined);
    return false;
  }

  async releaseByOwner(owner: Owner): Promise<string[]> {
    const out: string[] = [];
    for (const ip of await this.getByOwner(owner, { scan: true })) {
      if (await this.release(ip, owner)) out.push(ip);
    }
    await rmdir(join(this.ownersDir, ownerKey(owner))).catch(() => undefined);
    return out;
  }

  async getByOwner(owner: Owner, opts: GetOptions = {}): Promise<string[]> {
    await this.ready();
    const indexDir = join(this.ownersDir, ownerKey(owner));
    const out: string[] = [];
    for (const ip of await readdirOrEmpty(indexDir)) {
      const h = await this.holder(join(this.dir, ip));
      if (h?.owner && ownerMatches(h.owner, owner)) out.push(ip);
      else await unlink(join(indexDir, ip)).catch(() => undefined);
    }
    if (out.length > 0 || !opts.scan) return out;
    for (const r of await this.list()) if (r.owner && ownerMatches(r.owner, owner)) out.push(r.ip);
    return out;
  }

  async list(): Promise<Reservation[]> {
    const names = (await readdirOrEmpty(this.dir)).filter(isCanonicalIp);
    const out: Reservation[] = [];
    for (let i = 0; i < names.length; i += 64) {
      const batch = await Promise.all(
        names.slice(i, i + 64).map(async (ip) => {
          const h = await this.holder(join(this.dir, ip));
          return h ? { ip, owner: h.owner } : undefined;
        }),
      );
      for (const r of batch) if (r) out.push(r);
    }
    return out;
  }

  async getCursor(rangeId: string): Promise<string | undefined> {
    checkRangeId(rangeId);
    try {
      const text = (await readFile(join(this.dir, CURSOR_PREFIX + rangeId), 'utf8')).trim();
      return isCanonicalIp(text) ? text : undefined;
    } catch {
      // The cursor is only a hint; host-local rewrites it in place, so a torn read is normal.
      return undefined;
    }
  }

  async setCursor(rangeId: string, ip: string): Promise<void> {
    checkRangeId(rangeId);
    await this.ready();
    const tmp = this.tmpPath('cur');
    try {
      await writeFile(tmp, canonicalIp(ip), { mode: 0o644 });
      await rename(tmp, join(this.dir, CURSOR_PREFIX + rangeId));
    } catch (cause) {
      await unlink(tmp).catch(() => undefined);
      throw io(`cannot write the cursor of range set ${rangeId}`, cause);
    }
  }

  async releasedAt(ip: string): Promise<number | undefined> {
    if (!this.recordReleases) return undefined;
    try {
      const n = Number((await readFile(join(this.releasedDir, canonicalIp(ip)), 'utf8')).trim());
      return Number.isFinite(n) ? n : undefined;
    } catch {
      return undefined;
    }
  }

  async gc(keep: (owner: Owner) => boolean): Promise<string[]> {
    await this.ready();
    const out: string[] = [];
    const now = this.now();
    for (const r of await this.list()) {
      if (r.owner) {
        if (!keep(r.owner) && (await this.release(r.ip, r.owner))) out.push(r.ip);
        continue;
      }
      const st = await stat(join(this.dir, r.ip)).catch(() => undefined);
      if (st && now - st.mtimeMs > this.graceMs && (await this.releaseIf(r.ip, (o) => o === undefined))) {
        out.push(r.ip);
      }
    }
    await this.sweep(now);
    return out;
  }

  /** Removes temp files of crashed writers and index entries that no longer match their file. */
  private async sweep(now: number): Promise<void> {
    for (const name of await readdirOrEmpty(this.tmpDir)) {
      const p = join(this.tmpDir, name);
      const st = await lstat(p).catch(() => undefined);
      if (st && now - st.mtimeMs > this.graceMs) await unlink(p).catch(() => undefined);
    }
    for (const key of await readdirOrEmpty(this.ownersDir)) {
      const dir = join(this.ownersDir, key);
      for (const ip of await readdirOrEmpty(dir)) {
        const h = await this.holder(join(this.dir, ip)).catch(() => undefined);
        if (!h?.owner || ownerKey(h.owner) !== key) await unlink(join(dir, ip)).catch(() => undefined);
      }
      await rmdir(dir).catch(() => undefined);
    }
  }

  async stats(): Promise<StoreStats> {
    const all = await this.list();
    return { reservations: all.length, unowned: all.filter((r) => !r.owner).length };
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      if (!this.lock) return fn();
      await this.ready();
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

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw io(`cannot stat ${path}`, e);
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if (errno(e) === 'ENOENT') return [];
    throw io(`cannot list ${dir}`, e);
  }
}

function isCanonicalIp(name: string): boolean {
  if (!/^[0-9a-f.:]+$/.test(name)) return false;
  try {
    return canonicalIp(name) === name;
  } catch {
    return false;
  }
}

function checkRangeId(id: string): void {
  if (!RANGE_ID.test(id))
    throw new IpamError('INVALID_CONFIG', `range id ${JSON.stringify(id)} must be a small integer`);
}
