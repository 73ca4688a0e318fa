import type { Backoff } from './backoff.js';
import { AgentError } from './errors.js';
import { KubeApiError, type KubeClient } from './kube-client.js';
import { Informer, type InformerStats } from './informer.js';
import { nodeInfoFromKube, sameNodeInfo, type KubeNode, type NodeInfo } from './node-info.js';
import { silentLogger, type Logger, type NodeSource } from './node-source.js';

export interface KubeNodeSourceOptions {
  /** Full relist period: repairs anything a watch could have missed. Default 5 min. */
  resyncMs?: number;
  /** Server-side watch timeout; the watch is then resumed from the last resourceVersion. */
  watchTimeoutSeconds?: number;
  backoff?: Backoff;
  logger?: Logger;
}

/**
 * Nodes from the Kubernetes API, through an `Informer` (list, then watch with bookmarks,
 * resume, 410 relist, resync, backoff). A malformed Node is logged and left out.
 */
export class KubeNodeSource implements NodeSource {
  readonly #informer: Informer<NodeInfo>;

  constructor(client: KubeClient, opts: KubeNodeSourceOptions = {}) {
    const log = opts.logger ?? silentLogger;
    this.#informer = new Informer<NodeInfo>(client, {
      path: '/api/v1/nodes',
      convert: (raw) => {
        try {
          return nodeInfoFromKube(raw as KubeNode);
        } catch (e) {
          // One malformed Node must not stop routing to all the others.
          log('warn', 'ignoring a node', {
            node: (raw as KubeNode).metadata?.name,
            error: (e as Error).message,
          });
          return undefined;
        }
      },
      same: sameNodeInfo,
      ...(opts.resyncMs !== undefined ? { resyncMs: opts.resyncMs } : {}),
      ...(opts.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      logger: log,
    });
  }

  /** Counters for tests and metrics. */
  get stats(): InformerStats {
    return this.#informer.stats;
  }

  start(onNodes: (nodes: ReadonlyMap<string, NodeInfo>) => void): void {
    this.#informer.start((items) => onNodes(new Map(items)));
  }

  stop(): Promise<void> {
    return this.#informer.stop();
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
