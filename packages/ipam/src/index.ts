export { IpamError, isIpamError, type IpamErrorCode } from './errors.js';
export {
  canonicalIp,
  formatIp,
  isIpv4Mapped,
  parseIp,
  tryParseIp,
  type Family,
  type Ip,
  type ParseIpOptions,
} from './ip.js';
export {
  formatSubnet,
  lastOf,
  parseCidr,
  parseSubnet,
  subnetContains,
  subnetSize,
  subnetsOverlap,
  type ParseSubnetOptions,
  type Subnet,
} from './subnet.js';
export { IntervalSet, type Interval } from './intervals.js';
export { canonicalRange, rangeCapacity, rangeContains, type Range, type RangeConfig } from './range.js';
export { candidates, canonicalRangeSet, type Candidate, type RangeSet } from './range-set.js';
export {
  parseIpamSettings,
  type IpamRuntimeConfig,
  type IpamSection,
  type IpamSettings,
  type ParseInput,
  type Route,
} from './config.js';
export { parseResolvConf, type Dns } from './resolv-conf.js';
export { assertOwner, type Owner } from './owner.js';
export type { GetOptions, Reservation, ReserveRequest, Store, StoreStats } from './store.js';
export { DEFAULT_DATA_DIR, FileStore, type FileStoreOptions, type LockProvider } from './file-store.js';
export { listNetworks, listReservedIps } from './file-scan.js';
export { utilLinuxFlock } from './flock-process.js';
export { decodeOwner, encodeOwner } from './file-format.js';
export { Allocator, type Allocation, type AllocatorOptions, type RangeStats } from './allocator.js';
export {
  openIpam,
  type Ipam,
  type IpamAllocation,
  type IpamIp,
  type IpamResult,
  type OpenIpamOptions,
} from './ipam.js';
