import { AttrTable, encodeAttrs, type Attr } from './attributes.js';
import * as C from './constants.js';
import { formatIp, formatMac } from './ip.js';
import { needBytes, type RawMessage } from './message.js';

export const IFINFOMSG_LEN = 16;

export interface IfInfoMsg {
  family?: number;
  type?: number;
  index?: number;
  flags?: number;
  change?: number;
}

export function encodeIfInfoMsg(m: IfInfoMsg): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(m.family ?? C.AF_UNSPEC, 0);
  b.writeUInt16LE(m.type ?? 0, 2);
  b.writeInt32LE(m.index ?? 0, 4);
  b.writeUInt32LE((m.flags ?? 0) >>> 0, 8);
  b.writeUInt32LE((m.change ?? 0) >>> 0, 12);
  return b;
}

/** The VETH_INFO_PEER payload: an ifinfomsg followed by the peer's own attributes. */
export function vethPeerAttr(peerAttrs: readonly Attr[]): Attr {
  return { type: C.VETH_INFO_PEER, value: Buffer.concat([encodeIfInfoMsg({}), encodeAttrs(peerAttrs)]) };
}

const OPERSTATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'] as const;
export type OperState = (typeof OPERSTATES)[number];

export interface VxlanInfo {
  vni: number;
  local?: string;
  group?: string;
  /** Index of the underlay device (IFLA_VXLAN_LINK). */
  dev?: number;
  port?: number;
  learning?: boolean;
}

export interface Link {
  index: number;
  name: string;
  /** IFF_* flags (IFF_UP = 1). */
  flags: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  operState: OperState;
  mtu: number;
  /** Hardware address, lower-case colon form; absent for links without one. */
  mac?: string;
  /** Index of the master (bridge) this link is attached to. */
  master?: number;
  /** Link kind (`bridge`, `veth`, `vxlan` ...), absent for plain devices such as `lo`. */
  kind?: string;
  /** The master's kind when attached (`bridge`). */
  slaveKind?: string;
  /** IFLA_LINK: for a veth, the peer's index (in the netns given by linkNetnsId when set). */
  linkIndex?: number;
  linkNetnsId?: number;
  /** Bridge port hairpin mode, when the link is a bridge port. */
  hairpin?: boolean;
  vxlan?: VxlanInfo;
}

/** Decodes an RTM_NEWLINK message (a dump entry or a get reply). */
export function decodeLink(msg: RawMessage): Link {
  const p = msg.payload;
  needBytes(p, IFINFOMSG_LEN, 'ifinfomsg');
  const flags = p.readUInt32LE(8);
  const attrs = AttrTable.parse(p, IFINFOMSG_LEN);
  const link: Link = {
    index: p.readInt32LE(4),
    name: attrs.string(C.IFLA_IFNAME) ?? '',
    flags,
    up: (flags & C.IFF_UP) !== 0,
    operState: OPERSTATES[attrs.u8(C.IFLA_OPERSTATE) ?? 0] ?? 'UNKNOWN',
    mtu: attrs.u32(C.IFLA_MTU) ?? 0,
  };
  const mac = attrs.bytes(C.IFLA_ADDRESS);
  if (mac && mac.length > 0) link.mac = formatMac(mac);
  const master = attrs.u32(C.IFLA_MASTER);
  if (master) link.master = master;
  const linkIndex = attrs.s32(C.IFLA_LINK);
  const nsid = attrs.s32(C.IFLA_LINK_NETNSID);
  if (nsid !== undefined) link.linkNetnsId = nsid;
  // Plain devices report themselves as their own IFLA_LINK; a peer in another netns may share the number.
  if (linkIndex !== undefined && (linkIndex !== link.index || nsid !== undefined)) link.linkIndex = linkIndex;
  const info = attrs.nested(C.IFLA_LINKINFO);
  if (info) decodeLinkInfo(info, link);
  return link;
}

function decodeLinkInfo(info: AttrTable, link: Link): void {
  const kind = info.string(C.IFLA_INFO_KIND);
  if (kind) link.kind = kind;
  const slaveKind = info.string(C.IFLA_INFO_SLAVE_KIND);
  if (slaveKind) link.slaveKind = slaveKind;
  if (slaveKind === 'bridge') {
    const mode = info.nested(C.IFLA_INFO_SLAVE_DATA)?.u8(C.IFLA_BRPORT_MODE);
    if (mode !== undefined) link.hairpin = mode !== 0;
  }
  if (kind === 'vxlan') {
    const data = info.nested(C.IFLA_INFO_DATA);
    if (data) link.vxlan = decodeVxlan(data);
  }
}

function decodeVxlan(d: AttrTable): VxlanInfo {
  const v: VxlanInfo = { vni: d.u32(C.IFLA_VXLAN_ID) ?? 0 };
  const local = d.bytes(C.IFLA_VXLAN_LOCAL) ?? d.bytes(C.IFLA_VXLAN_LOCAL6);
  if (local && (local.length === 4 || local.length === 16)) v.local = formatIp(local);
  const group = d.bytes(C.IFLA_VXLAN_GROUP) ?? d.bytes(C.IFLA_VXLAN_GROUP6);
  if (group && (group.length === 4 || group.length === 16)) v.group = formatIp(group);
  const dev = d.u32(C.IFLA_VXLAN_LINK);
  if (dev) v.dev = dev;
  const port = d.be16(C.IFLA_VXLAN_PORT);
  if (port !== undefined) v.port = port;
  const learning = d.u8(C.IFLA_VXLAN_LEARNING);
  if (learning !== undefined) v.learning = learning !== 0;
  return v;
}
