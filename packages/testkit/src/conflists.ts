/**
 * Network configurations the e2e tests hand to runtimes and to spec's ConflistRunner: Debian's
 * reference plugins (containernetworking-plugins 1.1.1) as they are chained in those tests.
 *
 * API:
 * - `REFERENCE_PLUGINS`: the reference plugins' directory.
 * - `referenceBridge({subnet, dataDir, bridge?, ipMasq?, defaultRoute?})`: the reference
 *   `bridge` plugin, gateway on the bridge, with `host-local` IPAM keeping its store in
 *   `dataDir`; `ipMasq` and a `0.0.0.0/0` route only when asked for.
 * - `portmapPlugin()`: `portmap` taking `portMappings` from the runtime (what CRI and podman send).
 * - `podmanChain()`: `[portmap, bandwidth, tuning]` with fixed settings (100 Mbit/s each way,
 *   `net.core.somaxconn` 512), chained behind the main plugin in the podman tests.
 * - `chainedPluginConf(type)`: `tuning`, `bandwidth`, `firewall` or `portmap` as the
 *   ConflistRunner tests chain them: tuning sets somaxconn 512, bandwidth and portmap take their
 *   capability args (portmap with `snat`), firewall uses iptables.
 * - `k8sRuntimeConf(containerId, netns)`: the runtime's side of one ADD for pod `default/web`
 *   on `eth0`: the `K8S_POD_*` CNI_ARGS, a hostPort 18080 -> 80/tcp mapping and 1 Mbit/s
 *   bandwidth as capability args (the shape of spec's `RuntimeConf`).
 * - `writeConflist(confDir, file, conflist)`: writes the conflist as JSON into `confDir`
 *   (created when missing) and returns the file's path.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testName } from './names.js';

export const REFERENCE_PLUGINS = '/usr/lib/cni';

export type PluginConf = Record<string, unknown>;

export interface ReferenceBridgeOptions {
  subnet: string;
  dataDir: string;
  /** Default: a fresh test-prefixed name. */
  bridge?: string;
  ipMasq?: boolean;
  /** A `0.0.0.0/0` route via the gateway in the pod. */
  defaultRoute?: boolean;
}

export function referenceBridge(opts: ReferenceBridgeOptions): PluginConf {
  return {
    type: 'bridge',
    bridge: opts.bridge ?? testName('br'),
    isGateway: true,
    ...(opts.ipMasq ? { ipMasq: true } : {}),
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: opts.subnet }]],
      ...(opts.defaultRoute ? { routes: [{ dst: '0.0.0.0/0' }] } : {}),
      dataDir: opts.dataDir,
    },
  };
}

export function portmapPlugin(): PluginConf {
  return { type: 'portmap', capabilities: { portMappings: true } };
}

export function podmanChain(): PluginConf[] {
  return [
    portmapPlugin(),
    {
      type: 'bandwidth',
      ingressRate: 100_000_000,
      ingressBurst: 1_000_000,
      egressRate: 100_000_000,
      egressBurst: 1_000_000,
    },
    chainedPluginConf('tuning'),
  ];
}

export type ChainedPlugin = 'tuning' | 'bandwidth' | 'firewall' | 'portmap';

export function chainedPluginConf(type: ChainedPlugin): PluginConf {
  switch (type) {
    case 'tuning':
      return { type, sysctl: { 'net.core.somaxconn': '512' } };
    case 'bandwidth':
      return { type, capabilities: { bandwidth: true } };
    case 'firewall':
      return { type, backend: 'iptables' };
    case 'portmap':
      return { type, capabilities: { portMappings: true }, snat: true };
  }
}

export interface K8sRuntimeConf {
  containerId: string;
  netns: string;
  ifname: string;
  args: [string, string][];
  capabilityArgs: {
    portMappings: { hostPort: number; containerPort: number; protocol: string }[];
    bandwidth: { ingressRate: number; ingressBurst: number; egressRate: number; egressBurst: number };
  };
}

export function k8sRuntimeConf(containerId: string, netns: string): K8sRuntimeConf {
  return {
    containerId,
    netns,
    ifname: 'eth0',
    args: [
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAMESPACE', 'default'],
      ['K8S_POD_NAME', 'web'],
    ],
    capabilityArgs: {
      portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }],
      bandwidth: {
        ingressRate: 1_000_000,
        ingressBurst: 100_000,
        egressRate: 1_000_000,
        egressBurst: 100_000,
      },
    },
  };
}

export function writeConflist(confDir: string, file: string, conflist: unknown): string {
  mkdirSync(confDir, { recursive: true });
  const path = join(confDir, file);
  writeFileSync(path, JSON.stringify(conflist));
  return path;
}
