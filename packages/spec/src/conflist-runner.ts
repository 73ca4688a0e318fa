import { formatCniArgs } from './cni-args.js';
import type { GcAttachment, NetConfList, PluginConf } from './config-types.js';
import type { Command, EnvLike } from './env.js';
import { CniError, SpecError } from './errors.js';
import { spawnExec, type PluginExec } from './exec.js';
import { execPlugin, parsePluginResult } from './exec-plugin.js';
import { findInPath } from './find-plugin.js';
import { NAME_PATTERN, validateContainerId, validateIfName } from './names.js';
import { ResultCache, CNI_CACHE_KIND, type CacheFs } from './result-cache.js';
import { convertResult } from './result-convert.js';
import { parseResult } from './result-parse.js';
import type { AnyResult } from './result-types.js';
import { versionAtLeast } from './versions.js';

/** One attachment as a runtime describes it (libcni's RuntimeConf). */
export interface RuntimeConf {
  containerId: string;
  netns?: string;
  ifname: string;
  /** CNI_ARGS pairs, e.g. `[['IgnoreUnknown','1'],['K8S_POD_NAME','web']]`. */
  args?: [string, string][];
  /** Capability data; each plugin gets only the keys it declares in `capabilities`. */
  capabilityArgs?: Record<string, unknown>;
}

export interface ConflistRunnerOptions {
  /** Directories searched for plugin binaries (CNI_PATH). */
  pluginDirs: readonly string[];
  /** Cache root; results go to `<cacheDir>/results/` in libcni's cniCacheV1 format. */
  cacheDir: string;
  /** How plugins are started (default: spawn; `nsenterExec(node.path)` runs them in a netns). */
  exec?: PluginExec;
  /** Base environment for plugins (default: process.env; plugins need PATH for iptables). */
  env?: EnvLike;
  /** Checks a plugin file exists (default: stat in this process's mount namespace). */
  exists?: (path: string) => boolean;
  cacheFs?: CacheFs;
  timeoutMs?: number;
}

/** What `add` returns: the list's final result, parsed, and each plugin's own output. */
export interface AddOutcome {
  result: AnyResult;
  /** Raw JSON each plugin printed, in list order (for checking nothing was lost in parsing). */
  outputs: { type: string; stdout: string }[];
}

/**
 * A libcni-like runner over a conflist: ADD in order with `prevResult` chained, CHECK and DEL
 * with the cached result, DEL in reverse order, GC of stale cached attachments plus the GC
 * verb, STATUS. Meant for tools and tests; it injects `name`, `cniVersion`, `runtimeConfig`
 * (declared capabilities only) and `prevResult` exactly as libcni does.
 */
export class ConflistRunner {
  readonly cache: ResultCache;
  private readonly exec: PluginExec;

  constructor(private readonly opts: ConflistRunnerOptions) {
    this.cache = new ResultCache(opts.cacheDir, opts.cacheFs);
    this.exec = opts.exec ?? spawnExec;
  }

  async add(list: NetConfList, rt: RuntimeConf): Promise<AddOutcome> {
    validateContainerId(rt.containerId);
    validateIfName(rt.ifname);
    let prev: AnyResult | undefined;
    const outputs: AddOutcome['outputs'] = [];
    for (const plugin of list.plugins) {
      const stdout = await this.call('ADD', list, plugin, rt, prev);
      outputs.push({ type: plugin.type, stdout });
      const parsed = parsePluginResult(plugin.type, stdout, list.cniVersion);
      if (parsed.cniVersion !== list.cniVersion) {
        throw new SpecError(
          'RESULT_VERSION_MISMATCH',
          `plugin type="${plugin.type}" answered ADD with a ${parsed.cniVersion} result for a ${list.cniVersion} config`,
        );
      }
      prev = parsed;
    }
    if (!prev) throw new SpecError('CONFIG_INVALID', `network ${list.name} has no plugins`);
    this.cache.write({
      kind: CNI_CACHE_KIND,
      containerId: rt.containerId,
      config: Buffer.from(list.source ?? JSON.stringify(listJson(list))).toString('base64'),
      ifName: rt.ifname,
      networkName: list.name,
      ...(rt.netns ? { netns: rt.netns } : {}),
      ...(rt.args?.length ? { cniArgs: rt.args } : {}),
      ...(rt.capabilityArgs && Object.keys(rt.capabilityArgs).length
        ? { capabilityArgs: rt.capabilityArgs }
        : {}),
      result: prev as unknown as Record<string, unknown>,
    });
    return { result: prev, outputs };
  }

  /** The cached result of an earlier ADD, in the list's version; undefined when none. */
  cachedResult(list: NetConfList, rt: RuntimeConf): AnyResult | undefined {
    const entry = this.cache.read(list.name, rt.containerId, rt.ifname);
    if (!entry?.result) return undefined;
    const parsed = parseResult(entry.result, { code: 'CACHE_INVALID', what: 'cached result' });
    return convertResult(parsed, list.cniVersion);
  }

  async check(list: NetConfList, rt: RuntimeConf): Promise<void> {
    if (!versionAtLeast(list.cniVersion, '0.4.0')) {
      throw new SpecError(
        'VERSION_TOO_OLD',
        `configuration version "${list.cniVersion}" does not support the CHECK command`,
      );
    }
    if (list.disableCheck) return;
    const cached = this.cachedResult(list, rt);
    for (const plugin of list.plugins) await this.call('CHECK', list, plugin, rt, cached);
  }

  async del(list: NetConfList, rt: RuntimeConf): Promise<void> {
    let cached: AnyResult | undefined;
    if (versionAtLeast(list.cniVersion, '0.4.0')) {
      try {
        cached = this.cachedResult(list, rt);
      } catch {
        // A cache entry we cannot read must not block DEL; libcni drops it too.
        this.cache.remove(list.name, rt.containerId, rt.ifname);
      }
    }
    for (const plugin of [...list.plugins].reverse()) await this.call('DEL', list, plugin, rt, cached);
    this.cache.remove(list.name, rt.containerId, rt.ifname);
  }

  /**
   * DELs every cached attachment of this network that is not in `valid`, then (1.1.0+) sends
   * GC with `cni.dev/valid-attachments` to every plugin. All failures are reported together.
   */
  async gc(list: NetConfList, valid: readonly GcAttachment[]): Promise<void> {
    if (list.disableGC) return;
    const keep = new Set(valid.map((a) => `${a.containerID}\0${a.ifname}`));
    const errors: string[] = [];
    for (const entry of this.cache.list()) {
      if (entry.networkName !== list.name || keep.has(`${entry.containerId}\0${entry.ifName}`)) continue;
      const rt: RuntimeConf = { containerId: entry.containerId, ifname: entry.ifName };
      if (entry.netns) rt.netns = entry.netns;
      if (entry.cniArgs) rt.args = entry.cniArgs;
      if (entry.capabilityArgs) rt.capabilityArgs = entry.capabilityArgs;
      await this.del(list, rt).catch((err: unknown) =>
        errors.push(`stale attachment ${rt.containerId} ${rt.ifname}: ${(err as Error).message}`),
      );
    }
    if (versionAtLeast(list.cniVersion, '1.1.0')) {
      const extra = { 'cni.dev/valid-attachments': valid };
      for (const plugin of list.plugins) {
        await this.call('GC', list, plugin, undefined, undefined, extra).catch((err: unknown) =>
          errors.push((err as Error).message),
        );
      }
    }
    if (errors.length)
      throw new SpecError('PLUGIN_EXEC_FAILED', `GC of network ${list.name} failed: ${errors.join('; ')}`);
  }

  /** STATUS of every plugin (1.1.0+; older lists are assumed ready, as libcni does). */
  async status(list: NetConfList): Promise<void> {
    if (!versionAtLeast(list.cniVersion, '1.1.0')) return;
    for (const plugin of list.plugins) await this.call('STATUS', list, plugin, undefined, undefined);
  }

  /** The exact stdin a plugin of the list gets (exported for tests and tools). */
  buildConfig(
    list: NetConfList,
    plugin: PluginConf,
    rt: RuntimeConf | undefined,
    prev: AnyResult | undefined,
    extra: Record<string, unknown> = {},
  ): string {
    const conf: Record<string, unknown> = {
      ...plugin,
      name: list.name,
      cniVersion: list.cniVersion,
      ...extra,
    };
    if (prev) conf.prevResult = prev;
    else delete conf.prevResult;
    if (rt?.capabilityArgs) {
      const rc: Record<string, unknown> = {};
      for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) {
        if (on && cap in rt.capabilityArgs) rc[cap] = rt.capabilityArgs[cap];
      }
      if (Object.keys(rc).length) conf.runtimeConfig = rc;
    }
    return JSON.stringify(conf);
  }

  private async call(
    command: Command,
    list: NetConfList,
    plugin: PluginConf,
    rt: RuntimeConf | undefined,
    prev: AnyResult | undefined,
    extra?: Record<string, unknown>,
  ): Promise<string> {
    const verb = command === 'DEL' ? 'delete' : command.toLowerCase();
    try {
      if (!NAME_PATTERN.test(list.name))
        throw new SpecError('NETWORK_NAME_INVALID', `invalid network name ${list.name}`);
      const pluginPath = findInPath(plugin.type, this.opts.pluginDirs, this.opts.exists);
      const env: Record<string, string | undefined> = {
        ...(this.opts.env ?? process.env),
        CNI_COMMAND: command,
        CNI_PATH: this.opts.pluginDirs.join(':'),
      };
      if (rt) {
        env.CNI_CONTAINERID = rt.containerId;
        env.CNI_IFNAME = rt.ifname;
        env.CNI_NETNS = rt.netns ?? '';
        env.CNI_ARGS = formatCniArgs(rt.args ?? []);
      }
      const stdin = this.buildConfig(list, plugin, rt, prev, extra);
      return await execPlugin(pluginPath, stdin, env, {
        exec: this.exec,
        ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}),
      });
    } catch (err) {
      const what = `plugin type="${plugin.type}" failed (${verb})`;
      if (err instanceof CniError)
        throw new CniError(err.code, `${what}: ${err.message}`, err.details, { cause: err });
      if (err instanceof SpecError) {
        throw new SpecError(err.code, `${what}: ${err.message}`, {
          cause: err,
          ...(err.details === undefined ? {} : { details: err.details }),
        });
      }
      throw err;
    }
  }
}

function listJson(list: NetConfList): Record<string, unknown> {
  const out: Record<string, unknown> = {
    cniVersion: list.cniVersion,
    name: list.name,
    plugins: list.plugins,
  };
  if (list.cniVersions) out.cniVersions = list.cniVersions;
  if (list.disableCheck) out.disableCheck = true;
  if (list.disableGC) out.disableGC = true;
  return out;
}
