// @minicni/kit: the glue every plugin on the blocks needs, so a plugin holds only its own decisions.
export {
  asCniError,
  withCniErrors,
  checkFailed,
  CHECK_MISMATCH,
  RESERVATION_MISMATCH,
  type ExtraErrorCodes,
} from './errors.js';
export { parseIpamChoice, BUILTIN_IPAM, type IpamChoice, type IpamChoiceOptions } from './ipam-choice.js';
export {
  openPodIpam,
  gcPodIpam,
  ReservationMismatch,
  type PodIpam,
  type PodAddresses,
  type PodIp,
} from './pod-ipam.js';
export { checkIfnameFree } from './ifname.js';
export { onNode, type NodeVerbs } from './node-verbs.js';
export { nodeEnv, type NodeEnv, type NodeEnvOptions, type NodeRun, type ToolOutcome } from './node-env.js';
export { hostVethNaming, type HostVethNaming, type AttachmentEnds } from './host-veth.js';
export {
  prevAttachment,
  checkPodLink,
  checkPodRoutes,
  findHostVeth,
  canonicalCidr,
  delVethAttachment,
  type PrevAttachment,
} from './attachment.js';
