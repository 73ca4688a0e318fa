import { Backoff, sleep } from './backoff.js';
import { isAgentError } from './errors.js';
import { KubeApiError, type KubeClient, type WatchEvent } from './kube-client.js';
import { silentLogger, type Logger } from './node-source.js';

/** The metadata every listed object carries, as far as a cache needs it. */
interface Meta {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

interface List {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: unknown[];
}

interface Status {
  code?: number;
  message?: string;
}

/** List/watch counters, for tests and /metrics. */
export interface InformerStats {
  /** Complete lists (every page). */
  lists: number;
  /** List pages fetched. */
  pages: number;
  watches: number;
  gone: number;
  failures: number;
}

export interface InformerOptions<T> {
  /** Collection path, e.g. `/api/v1/nodes` or `/apis/networking.k8s.io/v1/networkpolicies`. */
  path: string;
  /** Turns an API object into the cached value; `undefined` drops the key. `before` is the cached one. */
  convert: (raw: unknown, before: T | undefined) => T | undefined;
  /** Whether a new value changes nothing (no handler call); default: never equal. */
  same?: (a: T, b: T) => boolean;
  /** Full relist period: repairs anything a watch could have missed. Default 5 min. */
  resyncMs?: number;
  /** Server-side watch timeout; the watch is then resumed from the last resourceVersion. */
  watchTimeoutSeconds?: number;
  /**
   * Objects per list page (`limit`, then `continue` until the server has no more). Default 500,
   * as client-go: a 150,000-pod list is never one JSON string in memory. 0 lists in one request.
   */
  pageSize?: number;
  backoff?: Backoff;
  logger?: Logger;
}

/** `namespace/name`, or `name` for cluster-scoped objects: the cache key. */
export function objectKeyOf(raw: unknown): string | undefined {
  const m = (raw as Meta | null)?.metadata;
  if (!m?.name) return undefined;
  return m.namespace ? `${m.namespace}/${m.name}` : m.name;
}

/**
 * One resource's objects from the Kubernetes API, kept in a cache keyed by namespace/name:
 * list, then watch from the list's resourceVersion with bookmarks; resume a broken watch from
 * the last version seen, relist on 410 Gone (the version was compacted away) and on every
 * resync period, back off on failures. The handler is called after the first list and after
 * each event that changed the cache; it should only enqueue work, never block.
 */
export class Informer<T> {
  readonly #client: KubeClient;
  readonly #o: InformerOptions<T>;
  readonly #backoff: Backoff;
  readonly #log: Logger;
  readonly #stop = new AbortController();
  #watchAbort: AbortController | undefined;
  #items = new Map<string, T>();
  #rv = '';
  #needList = true;
  #synced = false;
  #loop: Promise<void> | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  readonly stats: InformerStats = { lists: 0, pages: 0, watches: 0, gone: 0, failures: 0 };

  constructor(client: KubeClient, opts: InformerOptions<T>) {
    this.#client = client;
    this.#o = opts;
    this.#backoff = opts.backoff ?? new Backoff();
    this.#log = opts.logger ?? silentLogger;
  }

  /** The live cache (events update it in place): copy what must outlive the current tick. */
  get items(): ReadonlyMap<string, T> {
    return this.#items;
  }

  /** Whether one full list has landed: before that the cache is not the cluster's state. */
  /** The resourceVersion the cache has caught up with (list or last event, bookmarks included). */
  get resourceVersion(): string {
    return this.#rv;
  }

  get synced(): boolean {
    return this.#synced;
  }

  start(onChange: (items: ReadonlyMap<string, T>) => void): void {
    if (this.#loop) throw new Error(`informer for ${this.#o.path} already started`);
    this.#resyncTimer = setInterval(() => {
      this.#needList = true;
      this.#watchAbort?.abort();
    }, this.#o.resyncMs ?? 300_000);
    this.#resyncTimer.unref();
    this.#loop = this.#run(() => onChange(this.#items));
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#watchAbort?.abort();
    clearInterval(this.#resyncTimer);
    await this.#loop;
  }

  async #run(emit: () => void): Promise<void> {
    const path = this.#o.path;
    const timeout = this.#o.watchTimeoutSeconds ?? 300;
    while (!this.#stop.signal.aborted) {
      try {
        if (this.#needList) {
          await this.#list();
          this.#needList = false;
          this.#synced = true;
          emit();
        }
        this.#watchAbort = new AbortController();
        const signal = AbortSignal.any([this.#stop.signal, this.#watchAbort.signal]);
        this.stats.watches++;
        const query = `watch=1&allowWatchBookmarks=true&timeoutSeconds=${timeout}`;
        const opened = Date.now();
        let events = 0;
        await this.#client.watch(
          `${path}?${query}&resourceVersion=${encodeURIComponent(this.#rv)}`,
          (ev) => {
            events++;
            this.#backoff.reset();
            if (this.#apply(ev)) emit();
          },
          signal,
        );
        // A watch that a proxy closes at once, empty, must not turn into a busy loop.
        if (events === 0 && Date.now() - opened < 1000) await sleep(this.#backoff.next(), this.#stop.signal);
      } catch (e) {
        if (this.#stop.signal.aborted) break;
        if (this.#watchAbort?.signal.aborted) continue; // resync asked for a relist
        if (e instanceof KubeApiError && e.status === 410) {
          this.stats.gone++;
          this.#log('info', 'resourceVersion expired (410 Gone); relisting', { path, rv: this.#rv });
          // A list whose continue token expired starts over, after a pause: a server that keeps
          // compacting faster than we page must not turn into a busy loop.
          if (this.#needList) await sleep(this.#backoff.next(), this.#stop.signal);
          this.#needList = true;
          continue;
        }
        this.stats.failures++;
        const delay = this.#backoff.next();
        this.#log('warn', 'list/watch failed; retrying', {
          path,
          error: (e as Error).message,
          code: isAgentError(e) ? e.code : undefined,
          retryInMs: delay,
        });
        await sleep(delay, this.#stop.signal);
      }
    }
  }

  /**
   * Lists page by page, each item converted as it arrives off the socket (the page is never one
   * string), so only the converted cache and one raw item live at a time. The pages are one snapshot: the
   * server pins it to the first page's resourceVersion, and a continue token it no longer holds
   * (410) restarts the list after a backoff (the loop in #run).
   */
  async #list(): Promise<void> {
    const limit = this.#o.pageSize ?? 500;
    const next = new Map<string, T>();
    let token = '';
    let rv = '';
    do {
      const query = [
        ...(limit > 0 ? [`limit=${limit}`] : []),
        ...(token ? [`continue=${encodeURIComponent(token)}`] : []),
      ].join('&');
      // Items are converted as they arrive and the raw objects dropped at once.
      const page = await this.#client.getList<List>(
        query ? `${this.#o.path}?${query}` : this.#o.path,
        (item) => {
          const key = objectKeyOf(item);
          if (!key) return;
          const before = this.#items.get(key);
          const value = this.#o.convert(item, before);
          if (value === undefined) return;
          // An unchanged object keeps its cached value: a relist does not double the cache.
          next.set(key, before !== undefined && this.#o.same?.(before, value) ? before : value);
        },
        this.#stop.signal,
      );
      rv = page.metadata?.resourceVersion ?? rv;
      token = limit > 0 ? (page.metadata?.continue ?? '') : '';
      this.stats.pages++;
    } while (token);
    this.stats.lists++;
    this.#backoff.reset();
    this.#items = next;
    this.#rv = rv;
  }

  /** Applies one event; returns whether the cache changed. */
  #apply(ev: WatchEvent): boolean {
    if (ev.type === 'ERROR') {
      const status = ev.object as Status;
      throw new KubeApiError(status.code ?? 500, `watch error: ${status.message ?? 'unknown'}`);
    }
    const rv = (ev.object as Meta | null)?.metadata?.resourceVersion;
    if (rv) this.#rv = rv;
    if (ev.type === 'BOOKMARK') return false;
    const key = objectKeyOf(ev.object);
    if (!key) return false;
    const before = this.#items.get(key);
    if (ev.type === 'DELETED') return this.#items.delete(key);
    const value = this.#o.convert(ev.object, before);
    if (value === undefined) return this.#items.delete(key);
    if (before !== undefined && this.#o.same?.(before, value)) return false;
    this.#items.set(key, value);
    return true;
  }
}
