import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { copyFileAtomic, sameContent, writeFileAtomic } from './atomic-file.js';
import { formatSubnet } from '@minicni/ipam';
import { parsePodCidr, parsePodCidrs } from './addresses.js';
import { renderConflist } from './conflist-template.js';
import { AgentError } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { getKubeNode } from './kube-node-source.js';
import { silentLogger, type Logger } from './node-source.js';

export const DEFAULT_CONF_DIR = '/etc/cni/net.d';
export const DEFAULT_BIN_DIR = '/opt/cni/bin';
export const DEFAULT_CONF_NAME = '10-minicni.conflist';
/** The agent writes this once routes are programmed; the plugin's STATUS checks it. */
export const DEFAULT_READY_FILE = '/run/minicni/ready';

export interface PluginBinary {
  /** Path of the executable to install (inside the agent's image). */
  src: string;
  /** File name under the CNI bin dir; default: the source's base name. */
  name: string;
}

export interface InstallOptions {
  nodeName: string;
  /** Pod CIDRs from flags; when empty they are read from the Node object through `kube`. */
  podCIDRs?: string[];
  kube?: KubeClient;
  template: string;
  /** The `__POD_MTU__` value (default 1500). */
  podMtu?: number;
  /** The cluster's pod network (never masqueraded); validated here. */
  clusterCIDRs?: string[];
  /** `__POLICY_SOCKET__` (see `TemplateValues.policySocket`). */
  policySocket?: string | null;
  confDir?: string;
  confName?: string;
  binDir?: string;
  binaries?: PluginBinary[];
  logger?: Logger;
}

export interface InstallResult {
  podCIDRs: string[];
  confPath: string;
  /** Whether the config file changed (false: it already had this content). */
  confChanged: boolean;
  /** Installed binaries and whether each was replaced. */
  binaries: { path: string; changed: boolean }[];
}

/**
 * Puts the plugin on this node: pod CIDRs (flags, else the Node object), the rendered conflist
 * and the plugin binaries, each written atomically and only when different. It never deletes
 * anything: a restarting DaemonSet pod must not leave kubelet without a network config.
 */
export async function install(opts: InstallOptions): Promise<InstallResult> {
  const log = opts.logger ?? silentLogger;
  let cidrs = opts.podCIDRs ?? [];
  if (cidrs.length === 0) {
    if (!opts.kube) {
      throw new AgentError(
        'NO_POD_CIDR',
        'no pod CIDR: pass --pod-cidr, or run in a cluster so it is read from the Node',
      );
    }
    cidrs = (await getKubeNode(opts.kube, opts.nodeName)).podCIDRs;
    if (cidrs.length === 0) {
      throw new AgentError(
        'NO_POD_CIDR',
        `Node "${opts.nodeName}" has no spec.podCIDRs yet: is the controller manager running with --allocate-node-cidrs?`,
      );
    }
  }
  const podCIDRs = validatePodCidrs(cidrs);
  const conf = renderConflist(opts.template, {
    nodeName: opts.nodeName,
    podCIDRs,
    ...(opts.podMtu === undefined ? {} : { podMtu: opts.podMtu }),
    ...(opts.policySocket === undefined ? {} : { policySocket: opts.policySocket }),
    ...(opts.clusterCIDRs?.length ? { clusterCIDRs: validateClusterCidrs(opts.clusterCIDRs) } : {}),
  });
  if (!opts.clusterCIDRs?.length) {
    log(
      'warn',
      "no --cluster-cidr: only this node's pod CIDRs are exempt from masquerading, so pods on other nodes see this node's address instead of the pod's",
      {
        podCIDRs,
      },
    );
  }
  const confDir = opts.confDir ?? DEFAULT_CONF_DIR;
  const confPath = join(confDir, opts.confName ?? DEFAULT_CONF_NAME);
  const binDir = opts.binDir ?? DEFAULT_BIN_DIR;

  // Binaries first: kubelet treats the node as network-ready as soon as a config appears,
  // so the plugin it names must already be there.
  mkdirs(binDir);
  const binaries = (opts.binaries ?? []).map((b) => {
    const path = join(binDir, b.name);
    const changed = copyFileAtomic(b.src, path, 0o755);
    log('info', changed ? 'installed plugin binary' : 'plugin binary already current', { path });
    return { path, changed };
  });
  mkdirs(confDir);
  const confChanged = !sameContent(confPath, conf);
  if (confChanged) writeFileAtomic(confPath, conf, 0o644);
  log('info', confChanged ? 'wrote CNI config' : 'CNI config already current', { path: confPath, podCIDRs });
  return { podCIDRs, confPath, confChanged, binaries };
}

export interface UninstallOptions {
  confDir?: string;
  confName?: string;
  binDir?: string;
  binaryNames?: string[];
  readyFile?: string;
  logger?: Logger;
}

/** Reverses install: the config first (so kubelet stops calling the plugin), then binaries. */
export function uninstall(opts: UninstallOptions = {}): string[] {
  const log = opts.logger ?? silentLogger;
  const confPath = join(opts.confDir ?? DEFAULT_CONF_DIR, opts.confName ?? DEFAULT_CONF_NAME);
  const paths = [
    confPath,
    opts.readyFile ?? DEFAULT_READY_FILE,
    ...(opts.binaryNames ?? []).map((n) => join(opts.binDir ?? DEFAULT_BIN_DIR, n)),
  ];
  const removed: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) continue;
    try {
      rmSync(p, { force: true });
    } catch (e) {
      throw new AgentError('INSTALL_IO', `cannot remove ${p}: ${(e as Error).message}`, { cause: e });
    }
    removed.push(p);
    log('info', 'removed', { path: p });
  }
  return removed;
}

/** Pod CIDRs must be networks (no host bits), at most one per family. */
export function validatePodCidrs(cidrs: readonly string[]): string[] {
  const parsed = parsePodCidrs(cidrs);
  if (parsed.length === 0) throw new AgentError('NO_POD_CIDR', 'no pod CIDR given');
  return parsed.map(formatSubnet);
}

/** The cluster's pod network: any number of CIDRs of either family, host bits cleared. */
export function validateClusterCidrs(cidrs: readonly string[]): string[] {
  return cidrs.map((c) => formatSubnet(parsePodCidr(c)));
}

/** Reads a template file, with a message that names the flag. */
export function readTemplate(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new AgentError(
      'INVALID_TEMPLATE',
      `cannot read the CNI config template ${path}: ${(e as Error).message}`,
    );
  }
}

function mkdirs(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new AgentError('INSTALL_IO', `cannot create ${dir}: ${(e as Error).message}`, { cause: e });
  }
}
