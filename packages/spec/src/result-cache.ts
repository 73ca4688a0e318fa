import { nodeFs } from './builtins.js';
import { SpecError } from './errors.js';
import { isObject } from './json-check.js';

/** libcni's on-disk cache record kind; files of any other kind are ignored, as libcni does. */
export const CNI_CACHE_KIND = 'cniCacheV1';

/**
 * One cache file, in libcni's JSON layout: `config` holds the conflist bytes base64-encoded
 * (Go marshals `[]byte` that way) and `result` the final result of the list's ADD.
 */
export interface CachedAttachment {
  kind: typeof CNI_CACHE_KIND;
  containerId: string;
  config: string;
  ifName: string;
  networkName: string;
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  result?: Record<string, unknown>;
}

/** The file system calls the cache makes (inject a fake in tests). */
export interface CacheFs {
  readFileSync(path: string, enc: 'utf8'): string;
  writeFileSync(path: string, data: string, opts: { mode: number }): void;
  renameSync(from: string, to: string): void;
  mkdirSync(path: string, opts: { recursive: true; mode: number }): unknown;
  rmSync(path: string, opts: { force: true }): void;
  readdirSync(path: string): string[];
}

/** libcni's cache under `<dir>/results/<network>-<containerID>-<ifname>`. */
export class ResultCache {
  constructor(
    readonly dir: string,
    private readonly fs: CacheFs = nodeFs(),
  ) {}

  pathFor(network: string, containerId: string, ifName: string): string {
    if (!network || !containerId || !ifName) {
      throw new SpecError(
        'CACHE_INVALID',
        `a cache entry needs a network name, container ID and interface name (got ${JSON.stringify([network, containerId, ifName])})`,
      );
    }
    return `${this.dir}/results/${network}-${containerId}-${ifName}`;
  }

  /** Writes atomically (temp file + rename) so a crash never leaves half a record. */
  write(entry: CachedAttachment): void {
    const path = this.pathFor(entry.networkName, entry.containerId, entry.ifName);
    this.fs.mkdirSync(`${this.dir}/results`, { recursive: true, mode: 0o700 });
    const tmp = `${path}.tmp-${process.pid}`;
    this.fs.writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
    this.fs.renameSync(tmp, path);
  }

  /** The entry, or undefined when there is none or it is not a cniCacheV1 record. */
  read(network: string, containerId: string, ifName: string): CachedAttachment | undefined {
    let text: string;
    try {
      text = this.fs.readFileSync(this.pathFor(network, containerId, ifName), 'utf8');
    } catch {
      return undefined;
    }
    return decodeEntry(text);
  }

  remove(network: string, containerId: string, ifName: string): void {
    this.fs.rmSync(this.pathFor(network, containerId, ifName), { force: true });
  }

  /** Every valid entry, optionally only one container's, sorted by file name (as libcni). */
  list(containerId?: string): CachedAttachment[] {
    let names: string[];
    try {
      names = this.fs.readdirSync(`${this.dir}/results`).sort();
    } catch {
      return [];
    }
    const out: CachedAttachment[] = [];
    for (const name of names) {
      if (containerId !== undefined && !name.includes(`-${containerId}-`)) continue;
      let text: string;
      try {
        text = this.fs.readFileSync(`${this.dir}/results/${name}`, 'utf8');
      } catch {
        continue;
      }
      const e = decodeEntry(text);
      if (!e || !e.ifName || !e.networkName) continue;
      if (containerId !== undefined && e.containerId !== containerId) continue;
      out.push(e);
    }
    return out;
  }
}

function decodeEntry(text: string): CachedAttachment | undefined {
  try {
    const j: unknown = JSON.parse(text);
    if (!isObject(j) || j.kind !== CNI_CACHE_KIND) return undefined;
    if (
      typeof j.containerId !== 'string' ||
      typeof j.ifName !== 'string' ||
      typeof j.networkName !== 'string'
    ) {
      return undefined;
    }
    return j as unknown as CachedAttachment;
  } catch {
    return undefined;
  }
}
