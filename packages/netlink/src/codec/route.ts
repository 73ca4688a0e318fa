import { AttrTable } from './attributes.js';
import * as C from './constants.js';
import { afToFamily, formatIp, type Family } from './ip.js';
import { needBytes, type RawMessage } from './message.js';

export const RTMSG_LEN = 12;

export interface RtMsg {
  family: number;
  dstLength: number;
  srcLength?: number;
  tos?: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags?: number;
}

export function encodeRtMsg(m: RtMsg): Buffer {
  const b = Buffer.alloc(RTMSG_LEN);
  b.writeUInt8(m.family, 0);
  b.writeUInt8(m.dstLength, 1);
  b.writeUInt8(m.srcLength ?? 0, 2);
  b.writeUInt8(m.tos ?? 0, 3);
  // Tables above 255 travel in RTA_TABLE; the header then says RT_TABLE_UNSPEC.
  b.writeUInt8(m.table > 255 ? C.RT_TABLE_UNSPEC : m.table, 4);
  b.writeUInt8(m.protocol, 5);
  b.writeUInt8(m.scope, 6);
  b.writeUInt8(m.type, 7);
  b.writeUInt32LE((m.flags ?? 0) >>> 0, 8);
  return b;
}

export interface Route {
  family: Family;
  /** Destination in CIDR form (`0.0.0.0/0`, `::/0` for default routes). */
  dst: string;
  gateway?: string;
  /** Output interface index (RTA_OIF). */
  index?: number;
  table: number;
  /** RTA_PRIORITY (what iproute2 calls metric). */
  metric?: number;
  scope: number;
  protocol: number;
  /** RTN_* type (1 unicast, 2 local ...). */
  type: number;
  onlink: boolean;
  prefsrc?: string;
}

/** Decodes an RTM_NEWROUTE message. Returns undefined for families other than IPv4/IPv6. */
export function decodeRoute(msg: RawMessage): Route | undefined {
  const p = msg.payload;
  needBytes(p, RTMSG_LEN, 'rtmsg');
  const family = afToFamily(p.readUInt8(0));
  if (!family) return undefined;
  const size = family === 4 ? 4 : 16;
  const attrs = AttrTable.parse(p, RTMSG_LEN);
  const ip = (type: number): string | undefined => {
    const b = attrs.bytes(type);
    return b && b.length === size ? formatIp(b) : undefined;
  };
  const dstLength = p.readUInt8(1);
  const dst = ip(C.RTA_DST) ?? (family === 4 ? '0.0.0.0' : '::');
  const route: Route = {
    family,
    dst: `${dst}/${dstLength}`,
    table: attrs.u32(C.RTA_TABLE) ?? p.readUInt8(4),
    scope: p.readUInt8(6),
    protocol: p.readUInt8(5),
    type: p.readUInt8(7),
    onlink: (p.readUInt32LE(8) & C.RTNH_F_ONLINK) !== 0,
  };
  const gateway = ip(C.RTA_GATEWAY);
  if (gateway) route.gateway = gateway;
  const oif = attrs.u32(C.RTA_OIF);
  if (oif !== undefined) route.index = oif;
  const metric = attrs.u32(C.RTA_PRIORITY);
  if (metric !== undefined) route.metric = metric;
  const prefsrc = ip(C.RTA_PREFSRC);
  if (prefsrc) route.prefsrc = prefsrc;
  return route;
}
