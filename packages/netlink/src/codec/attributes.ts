import { NetlinkDecodeError } from '../errors.js';
import { NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK } from './constants.js';

/** One attribute to encode: raw bytes, or children (a nested attribute). */
export interface Attr {
  type: number;
  value: Uint8Array | readonly Attr[];
  /** Sets NLA_F_NESTED on a nested attribute (only where the kernel's policy expects it). */
  nestedFlag?: boolean;
}

/**
 * Rounds up to a multiple of 4. Arithmetic, not `(n + 3) & ~3`: JS bitwise operators work on
 * int32, so that form wraps for the 32-bit lengths a hostile message carries (0xffffffff -> 0).
 */
export const align4 = (n: number): number => n + (-n & 3);

export function bytesAttr(type: number, value: Uint8Array): Attr {
  return { type, value };
}

export function u8Attr(type: number, value: number): Attr {
  return { type, value: Uint8Array.of(value & 0xff) };
}

export function u16Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return { type, value: b };
}

/** A 16-bit field in network byte order (ports). */
export function be16Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return { type, value: b };
}

export function u32Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return { type, value: b };
}

export function s32Attr(type: number, value: number): Attr {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  return { type, value: b };
}

/** A NUL-terminated string, as the kernel's NLA_STRING/NLA_NUL_STRING policies expect. */
export function stringAttr(type: number, value: string): Attr {
  const text = Buffer.from(value, 'utf8');
  const b = Buffer.alloc(text.length + 1);
  text.copy(b);
  return { type, value: b };
}

export function nestedAttr(type: number, children: readonly Attr[], nestedFlag = false): Attr {
  return { type, value: children, nestedFlag };
}

/** Encoded size of attributes, padding included. */
export function attrsSize(attrs: readonly Attr[]): number {
  let n = 0;
  for (const a of attrs) n += align4(attrSize(a));
  return n;
}

function attrSize(a: Attr): number {
  return NLA_HDRLEN + (a.value instanceof Uint8Array ? a.value.length : attrsSize(a.value));
}

/** Writes attributes at `offset` (padding is left zero: `out` must be zero-filled). Returns the end offset. */
export function writeAttrs(out: Buffer, offset: number, attrs: readonly Attr[]): number {
  let at = offset;
  for (const a of attrs) {
    const len = attrSize(a);
    out.writeUInt16LE(len, at);
    out.writeUInt16LE(a.type | (a.nestedFlag ? NLA_F_NESTED : 0), at + 2);
    if (a.value instanceof Uint8Array) out.set(a.value, at + NLA_HDRLEN);
    else writeAttrs(out, at + NLA_HDRLEN, a.value);
    at += align4(len);
  }
  return at;
}

/** Attributes alone, encoded (for payloads that are a struct followed by attributes). */
export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const out = Buffer.alloc(attrsSize(attrs));
  writeAttrs(out, 0, attrs);
  return out;
}

/**
 * Attributes of one message or nest, by type (the last one wins when a type repeats, as in the
 * kernel's nla_parse). Values are views into the received datagram, made when asked for: the
 * table holds offsets, so decoding a dump of thousands of routes makes no view per attribute.
 */
export class AttrTable {
  readonly #buf: Buffer;
  /** Type -> value offset * 2^16 + value length (an attribute's length fits 16 bits). */
  readonly #at = new Map<number, number>();

  private constructor(buf: Buffer) {
    this.#buf = buf;
  }

  /** Parses `buf[start, end)`. Malformed lengths throw NetlinkDecodeError; fewer than 4 trailing bytes are ignored. */
  static parse(buf: Buffer, start = 0, end = buf.length): AttrTable {
    const table = new AttrTable(buf);
    let at = start;
    while (end - at >= NLA_HDRLEN) {
      const len = buf.readUInt16LE(at);
      const type = buf.readUInt16LE(at + 2) & NLA_TYPE_MASK;
      if (len < NLA_HDRLEN || at + len > end) {
        throw new NetlinkDecodeError(
          `attribute ${type} at offset ${at} has length ${len}, ${end - at} bytes left`,
        );
      }
      table.#at.set(type, (at + NLA_HDRLEN) * 0x10000 + (len - NLA_HDRLEN));
      at += align4(len);
    }
    return table;
  }

  has(type: number): boolean {
    return this.#at.has(type);
  }

  types(): number[] {
    return [...this.#at.keys()];
  }

  bytes(type: number): Buffer | undefined {
    const v = this.#at.get(type);
    if (v === undefined) return undefined;
    const start = Math.floor(v / 0x10000);
    return this.#buf.subarray(start, start + (v % 0x10000));
  }

  u8(type: number): number | undefined {
    const at = this.#sized(type, 1);
    return at === undefined ? undefined : this.#buf.readUInt8(at);
  }

  u16(type: number): number | undefined {
    const at = this.#sized(type, 2);
    return at === undefined ? undefined : this.#buf.readUInt16LE(at);
  }

  be16(type: number): number | undefined {
    const at = this.#sized(type, 2);
    return at === undefined ? undefined : this.#buf.readUInt16BE(at);
  }

  u32(type: number): number | undefined {
    const at = this.#sized(type, 4);
    return at === undefined ? undefined : this.#buf.readUInt32LE(at);
  }

  s32(type: number): number | undefined {
    const at = this.#sized(type, 4);
    return at === undefined ? undefined : this.#buf.readInt32LE(at);
  }

  /** A string attribute, up to its first NUL. */
  string(type: number): string | undefined {
    const b = this.bytes(type);
    if (!b) return undefined;
    const nul = b.indexOf(0);
    return b.toString('utf8', 0, nul < 0 ? b.length : nul);
  }

  nested(type: number): AttrTable | undefined {
    const v = this.#at.get(type);
    if (v === undefined) return undefined;
    const start = Math.floor(v / 0x10000);
    return AttrTable.parse(this.#buf, start, start + (v % 0x10000));
  }

  /** The value's offset, when the attribute is there; throws when it is shorter than `size`. */
  #sized(type: number, size: number): number | undefined {
    const v = this.#at.get(type);
    if (v === undefined) return undefined;
    const length = v % 0x10000;
    if (length < size) {
      throw new NetlinkDecodeError(`attribute ${type} has ${length} bytes, expected at least ${size}`);
    }
    return Math.floor(v / 0x10000);
  }
}
