import { readFile as fsReadFile } from 'node:fs/promises';
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { dirname, basename } from 'node:path';
import { AgentError } from './errors.js';
import { checkNodeInfo, type NodeInfo } from './node-info.js';
import { silentLogger, type Logger, type NodeSource } from './node-source.js';

/**
 * Parses a nodes file: `{"nodes": [{"name", "internalIPs", "podCIDRs"}, ...]}` (a bare array
 * is accepted too). JSON only: the file is written by scripts and tests, not by hand-editing YAML.
 */
export function parseNodesFile(text: string, source = 'nodes file'): Map<string, NodeInfo> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new AgentError('INVALID_NODES_FILE', `${source} is not JSON: ${(e as Error).message}`);
  }
  const list = Array.isArray(doc) ? doc : (doc as { nodes?: unknown } | null)?.nodes;
  if (!Array.isArray(list)) {
    throw new AgentError('INVALID_NODES_FILE', `${source} must be {"nodes": [...]} or a list of nodes`);
  }
  const nodes = new Map<string, NodeInfo>();
  for (const raw of list as { name: unknown; internalIPs?: unknown; podCIDRs?: unknown }[]) {
    let info: NodeInfo;
    try {
      info = checkNodeInfo(raw ?? { name: undefined });
    } catch (e) {
      throw new AgentError('INVALID_NODES_FILE', `${source}: ${(e as Error).message}`, { cause: e });
    }
    if (nodes.has(info.name))
      throw new AgentError('INVALID_NODES_FILE', `${source}: node "${info.name}" is listed twice`);
    nodes.set(info.name, info);
  }
  return nodes;
}

export interface FileNodeSourceOptions {
  /** Safety-net poll period, for filesystems where inotify misses changes. Default 2 s. */
  pollMs?: number;
  logger?: Logger;
  readFile?: (path: string) => Promise<string>;
}

/**
 * Nodes from a JSON file, for running without Kubernetes. The directory is watched (editors
 * and `mv` replace the file, which a watch on the file itself would lose) and polled as a
 * fallback. A file that fails to parse is logged and ignored: the last good set stays.
 */
export class FileNodeSource implements NodeSource {
  readonly #path: string;
  readonly #pollMs: number;
  readonly #log: Logger;
  readonly #read: (path: string) => Promise<string>;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastText: string | undefined;
  #reading: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(path: string, opts: FileNodeSourceOptions = {}) {
    this.#path = path;
    this.#pollMs = opts.pollMs ?? 2000;
    this.#log = opts.logger ?? silentLogger;
    this.#read = opts.readFile ?? ((p) => fsReadFile(p, 'utf8'));
  }

  start(onNodes: (nodes: ReadonlyMap<string, NodeInfo>) => void): void {
    const check = () => {
      this.#reading = this.#reading.then(() => this.#check(onNodes));
    };
    try {
      const name = basename(this.#path);
      this.#watcher = fsWatch(dirname(this.#path), (_event, file) => {
        if (file === null || file === name) check();
      });
      this.#watcher.on('error', () => {}); // the poll keeps working
    } catch (e) {
      this.#log('warn', 'cannot watch the nodes file directory; polling only', {
        error: (e as Error).message,
      });
    }
    this.#timer = setInterval(check, this.#pollMs);
    check();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#watcher?.close();
    clearInterval(this.#timer);
    await this.#reading;
  }

  async #check(onNodes: (nodes: ReadonlyMap<string, NodeInfo>) => void): Promise<void> {
    if (this.#stopped) return;
    let text: string;
    try {
      text = await this.#read(this.#path);
    } catch (e) {
      if (this.#lastText !== '')
        this.#log('warn', 'cannot read the nodes file', { error: (e as Error).message });
      this.#lastText = '';
      return;
    }
    if (text === this.#lastText) return;
    this.#lastText = text;
    let nodes: Map<string, NodeInfo>;
    try {
      nodes = parseNodesFile(text, this.#path);
    } catch (e) {
      this.#log('warn', 'ignoring an invalid nodes file; keeping the last good one', {
        error: (e as Error).message,
      });
      return;
    }
    if (!this.#stopped) onNodes(nodes);
  }
}
