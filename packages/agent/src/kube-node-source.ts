import { Backoff, sleep } from './backoff.js';
import { AgentError, isAgentError } from './errors.js';
import { KubeApiError, type KubeClient, type WatchEvent } from './kube-client.js';
import { nodeInfoFromKube, sameNodeInfo, type KubeNode, type NodeInfo } from './node-info.js';
import { silentLogger, type Logger, type NodeSource } from './node-source.js';

interface NodeList {
  metadata?: { resourceVersion?: string };
  items?: KubeNode[];
}

interface Status {
  kind?: string;
  code?: number;
  message?: string;
}

export interface KubeNodeSourceOptions {
  /** Full relist period: repairs anything a watch could have missed. Default 5 min. */
  resyncMs?: number;
  /** Server-side watch timeout; the watch is then resumed from the last resourceVersion. */
  watchTimeoutSeconds?: number;
  backoff?: Backoff;
  logger?: Logger;
}

/**
 * Nodes from the Kubernetes API: list, then watch from the list's resourceVersion with
 * bookmarks; resume a broken watch from the last version seen, relist on 410 Gone (the
 * version was compacted away) and on every resync period, back off on failures.
 */
export class KubeNodeSource implements NodeSource {
  readonly #client: KubeClient;
  readonly #resyncMs: number;
  readonly #watchTimeout: number;
  readonly #backoff: Backoff;
  readonly #log: Logger;
  readonly #stop = new AbortController();
  #watchAbort: AbortController | undefined;
  #nodes = new Map<string, NodeInfo>();
  #rv = '';
  #needList = true;
  #loop: Promise<void> | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  /** Counters for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, gone: 0, failures: 0 };

  constructor(client: KubeClient, opts: KubeNodeSourceOptions = {}) {
    this.#client = client;
    this.#resyncMs = opts.resyncMs ?? 300_000;
    this.#watchTimeout = opts.watchTimeoutSeconds ?? 300;
    this.#backoff = opts.backoff ?? new Backoff();
    this.#log = opts.logger ?? silentLogger;
  }

  start(onNodes: (nodes: ReadonlyMap<string, NodeInfo>) => void): void {
    if (this.#loop) throw new Error('KubeNodeSource already started');
    this.#resyncTimer = setInterval(() => {
      this.#needList = true;
      this.#watchAbort?.abort();
    }, this.#resyncMs);
    this.#resyncTimer.unref();
    this.#loop = this.#run(onNodes);
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#watchAbort?.abort();
    clearInterval(this.#resyncTimer);
    await this.#loop;
  }

  async #run(onNodes: (nodes: ReadonlyMap<string, NodeInfo>) => void): Promise<void> {
    const emit = () => onNodes(new Map(this.#nodes));
    while (!this.#stop.signal.aborted) {
      try {
        if (this.#needList) {
          await this.#list();
          this.#needList = false;
          emit();
        }
        this.#watchAbort = new AbortController();
        const signal = AbortSignal.any([this.#stop.signal, this.#watchAbort.signal]);
        this.stats.watches++;
        const query = `watch=1&allowWatchBookmarks=true&timeoutSeconds=${this.#watchTimeout}`;
        const opened = Date.now();
        let events = 0;
        await this.#client.watch(
          `/api/v1/nodes?${query}&resourceVersion=${encodeURIComponent(this.#rv)}`,
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
          this.#log('info', 'resourceVersion expired (410 Gone); relisting nodes', { rv: this.#rv });
          this.#needList = true;
          continue;
        }
        this.stats.failures++;
        const delay = this.#backoff.next();
        this.#log('warn', 'node watch failed; retrying', {
          error: (e as Error).message,
          code: isAgentError(e) ? e.code : undefined,
          retryInMs: delay,
        });
        await sleep(delay, this.#stop.signal);
      }
    }
  }

  async #list(): Promise<void> {
    const list = await this.#client.getJson<NodeList>('/api/v1/nodes', this.#stop.signal);
    this.stats.lists++;
    this.#backoff.reset();
    const next = new Map<string, NodeInfo>();
    for (const item of list.items ?? []) {
      const info = this.#convert(item);
      if (info) next.set(info.name, info);
    }
    this.#nodes = next;
    this.#rv = list.metadata?.resourceVersion ?? '';
  }

  /** Applies one event; returns whether the node set changed. */
  #apply(ev: WatchEvent): boolean {
    if (ev.type === 'ERROR') {
      const status = ev.object as Status;
      throw new KubeApiError(status.code ?? 500, `watch error: ${status.message ?? 'unknown'}`);
    }
    const obj = ev.object as KubeNode;
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.#rv = rv;
    if (ev.type === 'BOOKMARK') return false;
    const name = obj.metadata?.name;
    if (!name) return false;
    if (ev.type === 'DELETED') return this.#nodes.delete(name);
    const info = this.#convert(obj);
    const before = this.#nodes.get(name);
    if (!info) return this.#nodes.delete(name);
    if (before && sameNodeInfo(before, info)) return false;
    this.#nodes.set(name, info);
    return true;
  }

  #convert(obj: KubeNode): NodeInfo | undefined {
    try {
      return nodeInfoFromKube(obj);
    } catch (e) {
      // One malformed Node must not stop routing to all the others.
      this.#log('warn', 'ignoring a node', { node: obj.metadata?.name, error: (e as Error).message });
      return undefined;
    }
  }
}

/** One node by name, for the installer: its pod CIDRs come from here. */
export async function getKubeNode(client: KubeClient, name: string): Promise<NodeInfo> {
  try {
    return nodeInfoFromKube(await client.getJson<KubeNode>(`/api/v1/nodes/${encodeURIComponent(name)}`));
  } catch (e) {
    if (e instanceof KubeApiError && e.status === 404) {
      throw new AgentError('NODE_NOT_FOUND', `the API server has no Node named "${name}" (check NODE_NAME)`);
    }
    throw e;
  }
}
