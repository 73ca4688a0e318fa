import type { LegacyVersion, V04Version, V1Version } from './versions.js';

/** DNS settings; the same shape in every version. */
export interface Dns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A route in 0.1.0-1.0.0 results: `dst` CIDR and optional gateway. */
export interface RouteBasic {
  dst: string;
  gw?: string;
}

/** A 1.1.0 route adds MTU, advertised MSS, priority, table and scope. */
export interface Route extends RouteBasic {
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

// ---- 0.1.0 / 0.2.0 -------------------------------------------------------------------------

export interface IpConfig020 {
  /** Address with prefix length, e.g. `10.244.0.5/24`. */
  ip: string;
  gateway?: string;
  routes?: RouteBasic[];
}

export interface Result020 {
  cniVersion: LegacyVersion;
  ip4?: IpConfig020;
  ip6?: IpConfig020;
  dns?: Dns;
}

// ---- 0.3.0 / 0.3.1 / 0.4.0 -----------------------------------------------------------------

export interface Interface040 {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface IpConfig040 {
  version: '4' | '6';
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface Result040 {
  cniVersion: V04Version;
  interfaces?: Interface040[];
  ips?: IpConfig040[];
  routes?: RouteBasic[];
  dns?: Dns;
}

// ---- 1.0.0 / 1.1.0 -------------------------------------------------------------------------

export interface Interface100 {
  name: string;
  mac?: string;
  sandbox?: string;
}

/** 1.1.0 adds `mtu`, `socketPath` and `pciID`. */
export interface Interface extends Interface100 {
  mtu?: number;
  socketPath?: string;
  pciID?: string;
}

export interface IpConfig {
  address: string;
  gateway?: string;
  interface?: number;
}

export interface Result100 {
  cniVersion: '1.0.0';
  interfaces?: Interface100[];
  ips?: IpConfig[];
  routes?: RouteBasic[];
  dns?: Dns;
}

/** The newest result shape: what handlers return and what `prevResult` is converted to. */
export interface Result {
  cniVersion: '1.1.0';
  interfaces?: Interface[];
  ips?: IpConfig[];
  routes?: Route[];
  dns?: Dns;
}

/** A result of any version, told apart by `cniVersion`. */
export type AnyResult = Result020 | Result040 | Result100 | Result;

/** The result type of one version. */
export type ResultOf<V extends string> = V extends LegacyVersion
  ? Result020
  : V extends V04Version
    ? Result040
    : V extends '1.0.0'
      ? Result100
      : V extends V1Version
        ? Result
        : AnyResult;

/** What a handler returns: the 1.1.0 shape; `cniVersion` may be left out. */
export type HandlerResult = Omit<Result, 'cniVersion'> & { cniVersion?: '1.1.0' };

/** The VERSION verb's answer. */
export interface VersionResult {
  cniVersion: string;
  supportedVersions: string[];
}
