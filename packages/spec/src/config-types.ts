import type { Dns, Result } from './result-types.js';
import type { CniVersion } from './versions.js';

/** `runtimeConfig.portMappings[]` (capability `portMappings`). */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol?: string;
  hostIP?: string;
}

/** One range of `runtimeConfig.ipRanges` (capability `ipRanges`): a list of range sets. */
export interface IpRange {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

/** `runtimeConfig.bandwidth` (capability `bandwidth`); rates in bits/s, bursts in bits. */
export interface Bandwidth {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

/** `runtimeConfig.dns` (capability `dns`). */
export interface RuntimeDns {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

/** What a runtime may put in `runtimeConfig`: only capabilities the plugin declared. */
export interface RuntimeConfig {
  portMappings?: PortMapping[];
  ipRanges?: IpRange[][];
  bandwidth?: Bandwidth;
  dns?: RuntimeDns;
  ips?: string[];
  mac?: string;
  infinibandGUID?: string;
  aliases?: string[];
  cgroupPath?: string;
  deviceID?: string;
  'io.kubernetes.cri.pod-annotations'?: Record<string, string>;
  [capability: string]: unknown;
}

/** `{containerID, ifname}` pairs of GC's `cni.dev/valid-attachments`. */
export interface GcAttachment {
  containerID: string;
  ifname: string;
}

/** IPAM section: `type` names the IPAM plugin; the rest belongs to it. */
export interface IpamConfig {
  type: string;
  [key: string]: unknown;
}

/**
 * A plugin's network configuration as a plugin receives it, after validation. Plugin-specific
 * fields stay as they were (type them in the plugin).
 */
export interface NetConf {
  cniVersion: CniVersion;
  name: string;
  type: string;
  capabilities?: Record<string, boolean>;
  ipam?: IpamConfig;
  dns?: Dns;
  args?: Record<string, unknown>;
  runtimeConfig?: RuntimeConfig;
  /** The previous plugin's result converted to the 1.1.0 shape (handlers see one shape). */
  prevResult?: Result;
  [key: string]: unknown;
}

/** One plugin entry of a conflist (name and cniVersion are injected by the runtime). */
export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A network configuration list (`.conflist`). */
export interface NetConfList {
  /** The version the list is run at (from `cniVersions` when given: the highest supported). */
  cniVersion: CniVersion;
  cniVersions?: string[];
  name: string;
  disableCheck: boolean;
  disableGC: boolean;
  plugins: PluginConf[];
  /** The list's bytes as read (cached verbatim, as libcni caches them). */
  source?: string;
}
