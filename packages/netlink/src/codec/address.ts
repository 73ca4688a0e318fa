import { AttrTable } from './attributes.js';
import * as C from './constants.js';
import { afToFamily, formatIp, type Family } from './ip.js';
import { needBytes, type RawMessage } from './message.js';

export const IFADDRMSG_LEN = 8;

export interface IfAddrMsg {
  family: number;
  prefixLength: number;
  flags?: number;
  scope?: number;
  index: number;
}

export function encodeIfAddrMsg(m: IfAddrMsg): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b.writeUInt8(m.family, 0);
  b.writeUInt8(m.prefixLength, 1);
  b.writeUInt8((m.flags ?? 0) & 0xff, 2);
  b.writeUInt8(m.scope ?? 0, 3);
  b.writeUInt32LE(m.index >>> 0, 4);
  return b;
}

export interface Address {
  family: Family;
  /** The interface's own address (IFA_LOCAL for IPv4, IFA_ADDRESS for IPv6). */
  address: string;
  prefixLength: number;
  /** `address/prefixLength`, the form the API takes. */
  cidr: string;
  index: number;
  /** RT_SCOPE_* value (0 universe, 253 link, 254 host). */
  scope: number;
  /** IFA_F_* flags (IFA_FLAGS when present, which carries the bits above 8). */
  flags: number;
  label?: string;
}

/** Decodes an RTM_NEWADDR message. Returns undefined for families other than IPv4/IPv6. */
export function decodeAddress(msg: RawMessage): Address | undefined {
  const p = msg.payload;
  needBytes(p, IFADDRMSG_LEN, 'ifaddrmsg');
  const family = afToFamily(p.readUInt8(0));
  if (!family) return undefined;
  const attrs = AttrTable.parse(p, IFADDRMSG_LEN);
  const raw = attrs.bytes(C.IFA_LOCAL) ?? attrs.bytes(C.IFA_ADDRESS);
  if (!raw || raw.length !== (family === 4 ? 4 : 16)) return undefined;
  const address = formatIp(raw);
  const prefixLength = p.readUInt8(1);
  const out: Address = {
    family,
    address,
    prefixLength,
    cidr: `${address}/${prefixLength}`,
    index: p.readUInt32LE(4),
    scope: p.readUInt8(3),
    flags: attrs.u32(C.IFA_FLAGS) ?? p.readUInt8(2),
  };
  const label = attrs.string(C.IFA_LABEL);
  if (label) out.label = label;
  return out;
}
