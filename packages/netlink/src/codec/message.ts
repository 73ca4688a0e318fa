import { NetlinkDecodeError } from '../errors.js';
import { align4, attrsSize, writeAttrs, type Attr } from './attributes.js';
import { NLMSG_HDRLEN } from './constants.js';

export interface MessageHeader {
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

/** One netlink message of a datagram: its header and a view of its payload (after the header). */
export interface RawMessage extends MessageHeader {
  payload: Buffer;
}

/** Encodes a request: header, a fixed-size family struct (already encoded), then attributes. */
export function encodeMessage(header: MessageHeader, fixed: Uint8Array, attrs: readonly Attr[] = []): Buffer {
  const bodyStart = NLMSG_HDRLEN + align4(fixed.length);
  const len = bodyStart + attrsSize(attrs);
  const out = Buffer.alloc(len);
  out.writeUInt32LE(len, 0);
  out.writeUInt16LE(header.type, 4);
  out.writeUInt16LE(header.flags, 6);
  out.writeUInt32LE(header.seq >>> 0, 8);
  out.writeUInt32LE(header.pid >>> 0, 12);
  out.set(fixed, NLMSG_HDRLEN);
  writeAttrs(out, bodyStart, attrs);
  return out;
}

/** Splits a datagram into messages. A length that runs past the datagram throws NetlinkDecodeError. */
export function decodeMessages(datagram: Buffer): RawMessage[] {
  const out: RawMessage[] = [];
  let at = 0;
  while (datagram.length - at >= NLMSG_HDRLEN) {
    const len = datagram.readUInt32LE(at);
    if (len < NLMSG_HDRLEN || len > datagram.length - at) {
      throw new NetlinkDecodeError(
        `message at offset ${at} has length ${len}, ${datagram.length - at} bytes left in the datagram`,
      );
    }
    out.push({
      type: datagram.readUInt16LE(at + 4),
      flags: datagram.readUInt16LE(at + 6),
      seq: datagram.readUInt32LE(at + 8),
      pid: datagram.readUInt32LE(at + 12),
      payload: datagram.subarray(at + NLMSG_HDRLEN, at + len),
    });
    at += align4(len);
  }
  if (at < datagram.length && out.length === 0) {
    throw new NetlinkDecodeError(`datagram of ${datagram.length} bytes is shorter than a message header`);
  }
  return out;
}

/** Throws NetlinkDecodeError unless `payload` holds at least `size` bytes for a `what` struct. */
export function needBytes(payload: Buffer, size: number, what: string): void {
  if (payload.length < size) {
    throw new NetlinkDecodeError(`${what} needs ${size} bytes, the message has ${payload.length}`);
  }
}
