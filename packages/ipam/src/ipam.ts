import { readFile } from 'node:fs/promises';
import { Allocator, type Allocation, type RangeStats } from './allocator.js';
import { parseIpamSettings, type IpamSettings, type Route } from './config.js';
import { IpamError } from './errors.js';
import { DEFAULT_DATA_DIR, FileStore, type LockProvider } from './file-store.js';
import { formatIp, type Family } from './ip.js';
import type { Owner } from './owner.js';
import { assertNetworkName } from './paths.js';
import { parseResolvConf, type Dns } from './resolv-conf.js';
import type { Store } from './store.js';
import { formatHostCidr } from './subnet.js';

export interface OpenIpamOptions {
  /** The `ipam` section of the network config (host-local's fields). */
  config: unknown;
  /** The network name (`name` of the network config): the store's namespace. */
  network: string;
  /** Overrides `config.dataDir`; default /var/lib/cni/networks. Ignored when `store` is given. */
  dataDir?: string;
  /** The network config's runtimeConfig (`ipRanges`, `ips` capabilities). */
  runtimeConfig?: unknown;
  /** Raw CNI_ARGS (`IP=` requests a static address). */
  cniArgs?: string;
  /** The network config's `args` (`args.cni.ips`). */
  args?: unknown;
  /** A store to use instead of the FileStore under dataDir (MemoryStore, EtcdStore...). */
  store?: Store;
  /** flock for the FileStore's `lock` file (see FileStore). */
  lock?: LockProvider;
  /** Reads resolvConf; injected for tests. */
  readTextFile?: (path: string) => Promise<string>;
  now?: () => number;
}

/** One address of a result, in CNI result form (`address` is CIDR). */
export interface IpamIp {
  address: string;
  gateway?: string;
  family: Family;
}

export interface IpamResult {
  ips: IpamIp[];
  routes: Route[];
  dns: Dns;
}

/**
 * What `allocate` returns: the result, and whether this call made the reservation. A plugin
 * whose ADD fails later undoes a fresh reservation (release by owner) and leaves a held one
 * alone: a retried ADD must not take away what an earlier, successful ADD gave the pod.
 */
export interface IpamAllocation extends IpamResult {
  /** True when the owner held none of these addresses before this call. */
  fresh: boolean;
}

export interface Ipam {
  readonly settings: IpamSettings;
  readonly store: Store;
  /** Reserves one address per range set (returns the held ones for an owner that has them). */
  allocate(owner: Owner): Promise<IpamAllocation>;
  /** Releases what `owner` holds; idempotent. Returns the released addresses. */
  release(owner: Owner): Promise<string[]>;
  /** What `owner` holds, as a result (empty `ips` when nothing). */
  get(owner: Owner): Promise<IpamResult>;
  /** CNI GC: releases every reservation not owned by one of `validAttachments`. */
  gc(validAttachments: readonly Owner[]): Promise<string[]>;
  stats(): Promise<RangeStats[]>;
  close(): Promise<void>;
}

/** Parses an ipam section and opens its store: the entry point a CNI plugin calls. */
export async function openIpam(opts: OpenIpamOptions): Promise<Ipam> {
  assertNetworkName(opts.network);
  const settings = parseIpamSettings({
    config: opts.config,
    runtimeConfig: opts.runtimeConfig,
    cniArgs: opts.cniArgs,
    args: opts.args,
  });
  const store =
    opts.store ??
    new FileStore({
      dataDir: opts.dataDir ?? settings.dataDir ?? DEFAULT_DATA_DIR,
      network: opts.network,
      lock: opts.lock,
      recordReleases: settings.reuseCooldownMs > 0,
      now: opts.now,
    });
  const allocator = new Allocator(store, settings.rangeSets, {
    reuseCooldownMs: settings.reuseCooldownMs,
    now: opts.now,
  });
  const readText = opts.readTextFile ?? ((p: string) => readFile(p, 'utf8'));
  let dns: Dns | undefined;
  const loadDns = async (): Promise<Dns> => {
    if (dns) return dns;
    if (!settings.resolvConf) return (dns = {});
    try {
      dns = parseResolvConf(await readText(settings.resolvConf));
    } catch (cause) {
      throw new IpamError('INVALID_CONFIG', `cannot read resolvConf ${settings.resolvConf}`, { cause });
    }
    return dns;
  };
  const toResult = async (allocs: Allocation[]): Promise<IpamResult> => ({
    ips: allocs.map(toIp),
    routes: settings.routes.map((r) => ({ ...r })),
    dns: await loadDns(),
  });
  return {
    settings,
    store,
    allocate: async (owner) => {
      const d = await loadDns(); // fail before reserving anything
      const allocs = await allocator.allocate(owner, settings.requested);
      return {
        ips: allocs.map(toIp),
        routes: settings.routes.map((r) => ({ ...r })),
        dns: d,
        fresh: allocs.every((a) => a.fresh),
      };
    },
    release: (owner) => allocator.release(owner),
    get: async (owner) => toResult(await allocator.get(owner)),
    gc: (valid) => allocator.gc(valid),
    stats: () => allocator.stats(),
    close: () => store.close(),
  };
}

function toIp(a: Allocation): IpamIp {
  return {
    address: formatHostCidr(a.range.subnet, a.ip.value),
    gateway: formatIp({ family: a.range.family, value: a.range.gateway }),
    family: a.range.family,
  };
}
