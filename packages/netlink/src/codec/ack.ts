import { NetlinkDecodeError } from '../errors.js';
import { AttrTable, align4 } from './attributes.js';
import {
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
} from './constants.js';
import { needBytes, type RawMessage } from './message.js';

/** An NLMSG_ERROR reply (error 0 is an ACK) or the status carried by NLMSG_DONE. */
export interface AckInfo {
  /** Positive errno, 0 for success. */
  errno: number;
  /** Sequence number of the request this answers (from the echoed header). */
  requestSeq: number;
  /** The kernel's extended-ACK text (NLMSGERR_ATTR_MSG). */
  extAck?: string;
  /** Offset in the request of the attribute the kernel blamed (NLMSGERR_ATTR_OFFS). */
  extAckOffset?: number;
}

/** Decodes an NLMSG_ERROR message: int error, the echoed request header (+ payload unless capped), TLVs. */
export function decodeError(msg: RawMessage): AckInfo {
  const p = msg.payload;
  needBytes(p, 4 + NLMSG_HDRLEN, 'nlmsgerr');
  const error = p.readInt32LE(0);
  if (error > 0) throw new NetlinkDecodeError(`nlmsgerr carries a positive error ${error}`);
  const echoedLen = p.readUInt32LE(4);
  const info: AckInfo = { errno: -error, requestSeq: p.readUInt32LE(12) };
  if (msg.flags & NLM_F_ACK_TLVS) {
    // Without NLM_F_CAPPED the whole failed request is echoed; an ACK (error 0) echoes only its header.
    const echoed = msg.flags & NLM_F_CAPPED || error === 0 ? NLMSG_HDRLEN : align4(echoedLen);
    if (echoed < NLMSG_HDRLEN || 4 + echoed > p.length) {
      throw new NetlinkDecodeError(`nlmsgerr echoes ${echoedLen} bytes, only ${p.length - 4} present`);
    }
    Object.assign(info, extAckOf(AttrTable.parse(p, 4 + echoed)));
  }
  return info;
}

/** NLMSG_DONE: an int status (negative errno when the dump failed), then TLVs with NLM_F_ACK_TLVS. */
export function decodeDone(msg: RawMessage): AckInfo {
  const p = msg.payload;
  if (p.length < 4) return { errno: 0, requestSeq: msg.seq };
  const status = p.readInt32LE(0);
  const info: AckInfo = { errno: status < 0 ? -status : 0, requestSeq: msg.seq };
  if (msg.flags & NLM_F_ACK_TLVS) Object.assign(info, extAckOf(AttrTable.parse(p, 4)));
  return info;
}

function extAckOf(tlvs: AttrTable): Partial<AckInfo> {
  const out: Partial<AckInfo> = {};
  const text = tlvs.string(NLMSGERR_ATTR_MSG);
  if (text) out.extAck = text;
  const offset = tlvs.u32(NLMSGERR_ATTR_OFFS);
  if (offset !== undefined) out.extAckOffset = offset;
  return out;
}
