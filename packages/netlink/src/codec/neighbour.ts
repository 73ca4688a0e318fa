import { AttrTable } from './attributes.js';
import * as C from './constants.js';
import { formatIp, formatMac } from './ip.js';
import { needBytes, type RawMessage } from './message.js';

export const NDMSG_LEN = 12;

export interface NdMsg {
  family: number;
  index: number;
  state: number;
  flags?: number;
  type?: number;
}

export function encodeNdMsg(m: NdMsg): Buffer {
  const b = Buffer.alloc(NDMSG_LEN);
  b.writeUInt8(m.family, 0);
  b.writeInt32LE(m.index, 4);
  b.writeUInt16LE(m.state, 8);
  b.writeUInt8(m.flags ?? 0, 10);
  b.writeUInt8(m.type ?? 0, 11);
  return b;
}

export interface Neighbour {
  /** AF_INET, AF_INET6 or AF_BRIDGE (forwarding database entries). */
  family: number;
  index: number;
  /** NUD_* state bits (0x80 permanent, 0x40 noarp, 0x02 reachable ...). */
  state: number;
  /** NTF_* flags (0x02 self, 0x04 master). */
  flags: number;
  /** The IP address (NDA_DST): the neighbour's for ARP/NDP, the remote VTEP's for an FDB entry. */
  dst?: string;
  /** The link-layer address (NDA_LLADDR). */
  lladdr?: string;
  /** For FDB entries: the bridge's index (NDA_MASTER). */
  master?: number;
  vni?: number;
}

/** Decodes an RTM_NEWNEIGH message. */
export function decodeNeighbour(msg: RawMessage): Neighbour {
  const p = msg.payload;
  needBytes(p, NDMSG_LEN, 'ndmsg');
  const attrs = AttrTable.parse(p, NDMSG_LEN);
  const n: Neighbour = {
    family: p.readUInt8(0),
    index: p.readInt32LE(4),
    state: p.readUInt16LE(8),
    flags: p.readUInt8(10),
  };
  const dst = attrs.bytes(C.NDA_DST);
  if (dst && (dst.length === 4 || dst.length === 16)) n.dst = formatIp(dst);
  const lladdr = attrs.bytes(C.NDA_LLADDR);
  if (lladdr && lladdr.length > 0) n.lladdr = formatMac(lladdr);
  const master = attrs.u32(C.NDA_MASTER);
  if (master !== undefined) n.master = master;
  const vni = attrs.u32(C.NDA_VNI);
  if (vni !== undefined) n.vni = vni;
  return n;
}
