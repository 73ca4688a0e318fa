import { Etcd3, type IOptions, type Namespace } from 'etcd3';
import { IpamError } from './errors.js';
import { decodeOwner, encodeOwner } from './file-format.js';
import { canonicalIp } from './ip.js';
import { Mutex } from './mutex.js';
import { ownerKey, ownerMatches, type Owner } from './owner.js';
import { assertNetworkName, RANGE_ID } from './paths.js';
import type { GetOptions, Reservation, ReserveRequest, Store, StoreStats } from './store.js';

export interface EtcdStoreOptions {
  network: string;
  /** An etcd3 client to share; otherwise one is made from `hosts` and closed by `close()`. */
  client?: Etcd3;
  /** etcd client URLs, e.g. `http://127.0.0.1:2379`. */
  hosts?: string | string[];
  /** Extra etcd3 client options (auth, TLS) when `hosts` is used. */
  clientOptions?: Omit<IOptions, 'hosts'>;
  /** Key prefix for all networks (default `/minicni/ipam/`). */
  prefix?: string;
  now?: () => number;
}

/**
 * A cluster-wide pool on etcd v3. Keys under `<prefix><network>/`: `ips/<ip>` holds the owner
 * in host-local's text form, `owners/<key>/<ip>` indexes it, `cursor/<N>` and `released/<ip>`.
 * Every change is one transaction guarded by a compare on the address key, so two nodes can
 * never both take an address and a release never deletes somebody else's reservation.
 */
export class EtcdStore implements Store {
  private readonly client: Etcd3;
  private readonly ownsClient: boolean;
  private readonly ns: Namespace;
  private readonly mutex = new Mutex();
  private readonly now: () => number;
  private readonly cursorWritten = new Map<string, string>();

  constructor(opts: EtcdStoreOptions) {
    assertNetworkName(opts.network);
    const prefix = opts.prefix ?? '/minicni/ipam/';
    if (!prefix.endsWith('/'))
      throw new IpamError('INVALID_CONFIG', `etcd prefix ${JSON.stringify(prefix)} must end with "/"`);
    if (opts.client) {
      this.client = opts.client;
      this.ownsClient = false;
    } else {
      if (!opts.hosts) throw new IpamError('INVALID_CONFIG', 'EtcdStore needs `client` or `hosts`');
      this.client = new Etcd3({ ...opts.clientOptions, hosts: opts.hosts });
      this.ownsClient = true;
    }
    this.ns = this.client.namespace(`${prefix}${opts.network}/`);
    this.now = opts.now ?? Date.now;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      if (cause instanceof IpamError) throw cause;
      throw new IpamError('STORE_IO', `etcd: ${what}: ${(cause as Error)?.message ?? String(cause)}`, {
        cause,
      });
    }
  }

  async reserve(req: ReserveRequest): Promise<boolean> {
    checkRangeId(req.rangeId);
    const ip = canonicalIp(req.ip);
    const res = await this.call(`reserve ${ip}`, () =>
      this.ns
        .if(`ips/${ip}`, 'Create', '==', 0)
        .then(
          this.ns.put(`ips/${ip}`).value(encodeOwner(req.owner)),
          this.ns.put(`owners/${ownerKey(req.owner)}/${ip}`).value(''),
          this.ns.delete().key(`released/${ip}`),
          // The cursor rides in the same transaction: one write (one etcd fsync) per allocation.
          this.ns.put(`cursor/${req.rangeId}`).value(ip),
        )
        .commit(),
    );
    if (res.succeeded) this.cursorWritten.set(req.rangeId, ip);
    return res.succeeded;
  }

  async release(ip: string, owner: Owner): Promise<boolean> {
    const key = `ips/${canonicalIp(ip)}`;
    const value = await this.call(`read ${ip}`, () => this.ns.get(key).string());
    if (value === null) return false;
    const held = decodeOwner(value);
    if (!held || !ownerMatches(held, owner)) return false;
    return this.deleteIfUnchanged(ip, value, held);
  }

  private async deleteIfUnchanged(ip: string, value: string, held: Owner | undefined): Promise<boolean> {
    const ops = [this.ns.delete().key(`ips/${ip}`), this.ns.put(`released/${ip}`).value(String(this.now()))];
    if (held) ops.push(this.ns.delete().key(`owners/${ownerKey(held)}/${ip}`));
    const res = await this.call(`release ${ip}`, () =>
      this.ns
        .if(`ips/${ip}`, 'Value', '==', value)
        .then(...ops)
        .commit(),
    );
    return res.succeeded;
  }

  async releaseByOwner(owner: Owner): Promise<string[]> {
    const out: string[] = [];
    for (const ip of await this.getByOwner(owner, { scan: true }))
      if (await this.release(ip, owner)) out.push(ip);
    return out;
  }

  async getByOwner(owner: Owner, opts: GetOptions = {}): Promise<string[]> {
    const prefix = `owners/${ownerKey(owner)}/`;
    const keys = await this.call('read owner index', () => this.ns.getAll().prefix(prefix).keys());
    const out: string[] = [];
    for (const k of keys) {
      const ip = k.slice(prefix.length);
      const v = await this.call(`read ${ip}`, () => this.ns.get(`ips/${ip}`).string());
      const held = v === null ? undefined : decodeOwner(v);
      if (held && ownerMatches(held, owner)) out.push(ip);
    }
    if (out.length > 0 || !opts.scan) return out;
    for (const r of await this.list()) if (r.owner && ownerMatches(r.owner, owner)) out.push(r.ip);
    return out;
  }

  async list(): Promise<Reservation[]> {
    const all = await this.call('list', () => this.ns.getAll().prefix('ips/').strings());
    return Object.entries(all).map(([k, v]) => ({ ip: k.slice('ips/'.length), owner: decodeOwner(v) }));
  }

  async getCursor(rangeId: string): Promise<string | undefined> {
    checkRangeId(rangeId);
    return (await this.call('read cursor', () => this.ns.get(`cursor/${rangeId}`).string())) ?? undefined;
  }

  async setCursor(rangeId: string, ip: string): Promise<void> {
    checkRangeId(rangeId);
    const text = canonicalIp(ip);
    if (this.cursorWritten.get(rangeId) === text) return; // written by reserve()
    await this.call('write cursor', () => this.ns.put(`cursor/${rangeId}`).value(text).exec());
    this.cursorWritten.set(rangeId, text);
  }

  async releasedAt(ip: string): Promise<number | undefined> {
    const v = await this.call('read release time', () => this.ns.get(`released/${canonicalIp(ip)}`).string());
    const n = Number(v);
    return v !== null && Number.isFinite(n) ? n : undefined;
  }

  async gc(keep: (owner: Owner) => boolean): Promise<string[]> {
    const out: string[] = [];
    for (const r of await this.list()) {
      if (r.owner && !keep(r.owner) && (await this.release(r.ip, r.owner))) out.push(r.ip);
    }
    // Index entries whose address is gone or changed hands (possible only after a manual edit).
    const index = await this.call('read owner index', () => this.ns.getAll().prefix('owners/').keys());
    const held = new Map((await this.list()).map((r) => [r.ip, r.owner]));
    for (const k of index) {
      const [, key, ip] = k.split('/');
      const o = ip === undefined ? undefined : held.get(ip);
      if (!o || ownerKey(o) !== key) await this.call('sweep index', () => this.ns.delete().key(k).exec());
    }
    return out;
  }

  async stats(): Promise<StoreStats> {
    const all = await this.list();
    return { reservations: all.length, unowned: all.filter((r) => !r.owner).length };
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.close();
  }
}

function checkRangeId(id: string): void {
  if (!RANGE_ID.test(id))
    throw new IpamError('INVALID_CONFIG', `range id ${JSON.stringify(id)} must be a small integer`);
}
