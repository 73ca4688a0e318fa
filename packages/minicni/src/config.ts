import { isAbsolute, normalize } from 'node:path';
import { CniError, ErrorCode } from '@minicni/spec';
import { parseIpamChoice as kitIpamChoice, type IpamChoice } from '@minicni/kit';

/** The bridge plugin's settings after defaults and validation. */
export interface BridgeConfig {
  bridge: string;
  mtu: number;
  isGateway: boolean;
  isDefaultGateway: boolean;
  hairpinMode: boolean;
  ipMasq: boolean;
  /** Destinations never masqueraded: the whole cluster's pod CIDRs (defaults to this node's). */
  clusterCidrs: string[] | undefined;
  ipam: IpamChoice;
  mac: string | undefined;
  logFile: string | undefined;
  /** The policy agent's hand-off socket: ADD announces the pod there before returning. */
  policySocket: string | undefined;
}

export type { IpamChoice };

export const DEFAULTS = {
  bridge: 'minicni0',
  mtu: 1500,
  isGateway: true,
  isDefaultGateway: true,
  hairpinMode: false,
  ipMasq: true,
  dataDir: '/var/lib/cni/networks',
} as const;

const MIN_MTU = 68;
const MAX_MTU = 65535;

/**
 * Reads the plugin's own fields from the network config. The seed's config
 * (`{"bridge","mtu","subnet"}`) keeps working; defaults apply only where a field is absent,
 * and a present field of the wrong type or value is an error (code 7) that names the field.
 */
export function parseBridgeConfig(raw: Record<string, unknown>): BridgeConfig {
  const bridge = optional(raw, 'bridge', 'string') ?? DEFAULTS.bridge;
  checkIfname('bridge', bridge);
  const mtu = optional(raw, 'mtu', 'number') ?? DEFAULTS.mtu;
  if (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) {
    throw invalid(`"mtu" must be an integer from ${MIN_MTU} to ${MAX_MTU}, got ${mtu}`);
  }
  const clusterCidrs = optionalStrings(raw, 'clusterCIDRs') ?? optionalStrings(raw, 'clusterCIDR');
  const mac = optional(raw, 'mac', 'string');
  if (mac !== undefined) checkMac(mac, 'the "mac" field');
  const logFile = optional(raw, 'logFile', 'string');
  if (logFile !== undefined) checkPath('logFile', logFile);
  // Read by minicni-shim (the fast path), not here; checked so a bad value fails loudly.
  const agentSocket = optional(raw, 'agentSocket', 'string');
  if (agentSocket !== undefined) checkPath('agentSocket', agentSocket);
  optional(raw, 'onDemand', 'boolean');
  const idle = optional(raw, 'onDemandIdleSeconds', 'number');
  if (idle !== undefined && (!Number.isInteger(idle) || idle < 1 || idle > 86_400))
    throw invalid(`"onDemandIdleSeconds" must be a whole number of seconds from 1 to 86400, got ${idle}`);
  const policySocket = optional(raw, 'policySocket', 'string');
  if (policySocket !== undefined) checkPath('policySocket', policySocket);
  return {
    bridge,
    mtu,
    isGateway: optional(raw, 'isGateway', 'boolean') ?? DEFAULTS.isGateway,
    isDefaultGateway: optional(raw, 'isDefaultGateway', 'boolean') ?? DEFAULTS.isDefaultGateway,
    hairpinMode: optional(raw, 'hairpinMode', 'boolean') ?? DEFAULTS.hairpinMode,
    ipMasq: optional(raw, 'ipMasq', 'boolean') ?? DEFAULTS.ipMasq,
    clusterCidrs,
    ipam: parseIpamChoice(raw),
    mac,
    logFile,
    policySocket,
  };
}

function parseIpamChoice(raw: Record<string, unknown>): IpamChoice {
  const choice = kitIpamChoice(raw.ipam === undefined ? {} : raw.ipam, { untypedIsBuiltin: true });
  if (choice.kind === 'delegate') return choice;
  const section = choice.section;
  // The seed kept its pool at the top level; so may anyone who wants the simplest config.
  for (const key of [
    'subnet',
    'rangeStart',
    'rangeEnd',
    'gateway',
    'ranges',
    'routes',
    'dataDir',
    'resolvConf',
    'exclude',
    'reuseCooldownSeconds',
  ]) {
    if (raw[key] !== undefined && section[key] === undefined) section[key] = raw[key];
  }
  if (section.subnet === undefined && section.ranges === undefined) {
    throw invalid('no address pool: set "subnet" (e.g. "10.244.0.0/24"), "ranges", or "ipam"');
  }
  const dataDir = section.dataDir;
  if (dataDir !== undefined) {
    if (typeof dataDir !== 'string') throw invalid('"dataDir" must be a string');
    checkPath('dataDir', dataDir);
  } else {
    section.dataDir = DEFAULTS.dataDir;
  }
  return { kind: 'builtin', section };
}

type TypeName = 'string' | 'number' | 'boolean';
type TypeOf<T extends TypeName> = T extends 'string' ? string : T extends 'number' ? number : boolean;

function optional<T extends TypeName>(
  raw: Record<string, unknown>,
  key: string,
  type: T,
): TypeOf<T> | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== type) throw invalid(`"${key}" must be a ${type}, got ${JSON.stringify(v)}`);
  return v as TypeOf<T>;
}

function optionalStrings(raw: Record<string, unknown>, key: string): string[] | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw invalid(`"${key}" must be a CIDR string or a list of them`);
  }
  return list;
}

export function checkIfname(field: string, name: string): void {
  const bytes = Buffer.byteLength(name);
  // '%' would make the kernel name the device from a template (br%d -> br0).
  if (bytes < 1 || bytes > 15 || name === '.' || name === '..' || /[/:\s%]/.test(name)) {
    throw invalid(
      `"${field}" must be a valid interface name (1-15 bytes, no "/", ":", "%" or spaces), got ${JSON.stringify(name)}`,
    );
  }
}

export function checkMac(mac: string, where: string): void {
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac)) {
    throw invalid(`${where} must be a MAC address like 0a:58:0a:f4:00:05, got ${JSON.stringify(mac)}`);
  }
  if (parseInt(mac.slice(0, 2), 16) & 1) throw invalid(`${where} must be a unicast MAC address, got ${mac}`);
}

function checkPath(field: string, p: string): void {
  if (
    !isAbsolute(p) ||
    p.includes('\0') ||
    normalize(p).replace(/\/+$/, '') !== p.replace(/\/+$/, '') ||
    p.split('/').includes('..')
  ) {
    throw invalid(`"${field}" must be an absolute, normalised path without "..", got ${JSON.stringify(p)}`);
  }
}

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}
