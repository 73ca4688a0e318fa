// @minicni/netlink ("netlink-ts"): rtnetlink for Node, safe with network namespaces.
export { Netlink, type OpenOptions } from './netlink.js';
export type { Links, BridgeOptions, VethOptions, VxlanOptions, CommonLinkOptions } from './api/links.js';
export type { Addresses, AddressOptions, AddressListOptions } from './api/addresses.js';
export type { Routes, RouteSpec, RouteListOptions, RouteScope } from './api/routes.js';
export type { Neighbours, Fdb, NeighbourSpec, FdbSpec, NeighbourState } from './api/neighbours.js';
export type { Link, OperState, VxlanInfo } from './codec/link.js';
export type { Address } from './codec/address.js';
export type { Route } from './codec/route.js';
export type { Neighbour } from './codec/neighbour.js';
export type { LinkRef } from './names.js';
export {
  NetlinkError,
  NetlinkDecodeError,
  NetlinkInputError,
  NetlinkAddonError,
  errnoName,
  type NetlinkErrorDetails,
} from './errors.js';
export { createNetns, deleteNetns, netnsPath, NETNS_RUN_DIR } from './netns.js';
export { sysctl, sysctlPath } from './sysctl.js';
export {
  ownerVethName,
  ownerVethPattern,
  setupPodVeth,
  teardownPodVeth,
  type PodVethOptions,
  type PodVeth,
  type TeardownOptions,
} from './pod-veth.js';
export { addonPath, setAddonPath, nativeAddon, ADDON_FILE, ADDON_ENV, type NativeAddon } from './native.js';
