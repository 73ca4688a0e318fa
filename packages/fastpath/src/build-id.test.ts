import { describe, expect, it } from 'vitest';
import { shimBuildId, stampShimBuildId } from './build-id.js';

/** A stand-in for the shim binary: code bytes around the slot native/shim.c reserves. */
const slot = (fill = '') =>
  Buffer.concat([
    Buffer.from('\x7fELF...code...'),
    Buffer.from('MINICNI-BUILD-ID:'),
    Buffer.from(fill.padEnd(65, '\0'), 'latin1'),
    Buffer.from('...more code'),
  ]);

describe('shim build id slot', () => {
  it('stamps an id into a copy and reads it back; the rest of the binary is unchanged', () => {
    const bin = slot();
    expect(shimBuildId(bin)).toBe('');
    const stamped = stampShimBuildId(bin, 'a1b2c3d4e5f6');
    expect(shimBuildId(stamped)).toBe('a1b2c3d4e5f6');
    expect(shimBuildId(bin)).toBe('');
    expect(stamped.length).toBe(bin.length);
    // Restamping with a shorter id leaves no tail of the longer one.
    expect(shimBuildId(stampShimBuildId(stamped, 'z9'))).toBe('z9');
    expect(shimBuildId(stampShimBuildId(stamped, 'x'.repeat(64)))).toBe('x'.repeat(64));
  });

  it('refuses ids that are not plain names of at most 64 bytes, and binaries without one slot', () => {
    expect(() => stampShimBuildId(slot(), 'a b')).toThrow(/not a plain name/);
    expect(() => stampShimBuildId(slot(), 'x'.repeat(65))).toThrow(/at most 64/);
    expect(() => shimBuildId(Buffer.from('no slot here'))).toThrow(/slot is missing/);
    expect(() => shimBuildId(Buffer.concat([slot(), slot()]))).toThrow(/not unique/);
  });
});
