import { describe, expect, it } from 'vitest';
import { NetlinkDecodeError } from '../errors.js';
import {
  AttrTable,
  align4,
  attrsSize,
  be16Attr,
  encodeAttrs,
  nestedAttr,
  stringAttr,
  u16Attr,
  u32Attr,
  u8Attr,
} from './attributes.js';
import { NLA_F_NESTED } from './constants.js';

describe('attributes', () => {
  it('pads every attribute to 4 bytes, the length field excluding the padding', () => {
    const b = encodeAttrs([stringAttr(3, 'eth0'), u8Attr(7, 1)]);
    // "eth0\0" = 5 bytes: header 4 + 5 = 9, padded to 12; u8: 4 + 1 = 5, padded to 8.
    expect(b.toString('hex')).toBe('0900030065746830000000000500070001000000');
    expect(attrsSize([stringAttr(3, 'eth0'), u8Attr(7, 1)])).toBe(20);
    expect([0, 1, 4, 5, 8].map(align4)).toEqual([0, 4, 4, 8, 8]);
    // 32-bit lengths from a hostile message must not wrap (the int32 form gave 0 for 0xffffffff).
    expect([0x7ffffffd, 0xfffffffc, 0xffffffff].map(align4)).toEqual([0x80000000, 0xfffffffc, 0x100000000]);
  });

  it('writes host-order integers little-endian and network-order fields big-endian', () => {
    expect(encodeAttrs([u32Attr(4, 1500)]).toString('hex')).toBe('08000400dc050000');
    expect(encodeAttrs([u16Attr(1, 0x1234)]).toString('hex')).toBe('0600010034120000');
    expect(encodeAttrs([be16Attr(15, 4789)]).toString('hex')).toBe('06000f0012b50000');
  });

  it('nests, with NLA_F_NESTED only when asked', () => {
    const plain = encodeAttrs([nestedAttr(18, [stringAttr(1, 'veth')])]);
    expect(plain.readUInt16LE(0)).toBe(4 + 12);
    expect(plain.readUInt16LE(2)).toBe(18);
    const flagged = encodeAttrs([nestedAttr(18, [], true)]);
    expect(flagged.readUInt16LE(2)).toBe(18 | NLA_F_NESTED);
    const table = AttrTable.parse(plain);
    expect(table.nested(18)!.string(1)).toBe('veth');
  });

  it('reads back what it wrote, masking the type flags', () => {
    const b = encodeAttrs([
      u8Attr(1, 200),
      u16Attr(2, 65000),
      be16Attr(3, 8472),
      u32Attr(4, 0xfffffffe),
      stringAttr(5, 'br0'),
      nestedAttr(6, [u32Attr(1, 42)], true),
    ]);
    const t = AttrTable.parse(b);
    expect(t.types()).toEqual([1, 2, 3, 4, 5, 6]);
    expect([t.u8(1), t.u16(2), t.be16(3), t.u32(4), t.string(5)]).toEqual([
      200,
      65000,
      8472,
      0xfffffffe,
      'br0',
    ]);
    expect(t.nested(6)!.u32(1)).toBe(42);
    expect(t.u32(99)).toBeUndefined();
  });

  it('rejects lengths shorter than a header or past the end, and values too short for their type', () => {
    expect(() => AttrTable.parse(Buffer.from('02000100', 'hex'))).toThrow(NetlinkDecodeError);
    expect(() => AttrTable.parse(Buffer.from('0c00010000000000', 'hex'))).toThrow(NetlinkDecodeError);
    expect(() => AttrTable.parse(Buffer.from('0500010001000000', 'hex')).u32(1)).toThrow(NetlinkDecodeError);
    // Fewer than 4 trailing bytes are ignored, as the kernel's parser does.
    expect(AttrTable.parse(Buffer.from('0500010001000000ffff', 'hex')).u8(1)).toBe(1);
  });
});
