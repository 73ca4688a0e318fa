// The shim's build id: a slot in the static binary (native/shim.c, `build_slot`) that a plugin's
// build fills with the id its server reports, so a shim and a server of different builds never
// trust each other. Pure functions over the binary's bytes; the build script does the file I/O.
import { MAX_BUILD_ID } from './wire.js';

/** What precedes the id in the shim binary (exactly once); MAX_BUILD_ID bytes follow, NUL-padded. */
const MARK = Buffer.from('MINICNI-BUILD-ID:');

function slotOffset(shim: Buffer): number {
  const at = shim.indexOf(MARK);
  if (at < 0 || shim.indexOf(MARK, at + 1) >= 0)
    throw new Error('not a minicni shim: its build id slot is missing or not unique');
  return at + MARK.length;
}

/** A copy of the shim binary `shim` carrying build id `id` (plain name, at most 64 bytes). */
export function stampShimBuildId(shim: Buffer, id: string): Buffer {
  if (id.length > MAX_BUILD_ID || !/^[A-Za-z0-9._-]*$/.test(id))
    throw new Error(`build id "${id}" is not a plain name of at most ${MAX_BUILD_ID} bytes`);
  const out = Buffer.from(shim);
  const at = slotOffset(out);
  out.fill(0, at, at + MAX_BUILD_ID);
  out.write(id, at, 'latin1');
  return out;
}

/** The build id a shim binary carries ('' when no build stamped it). */
export function shimBuildId(shim: Buffer): string {
  const at = slotOffset(shim);
  const slot = shim.subarray(at, at + MAX_BUILD_ID);
  const end = slot.indexOf(0);
  return slot.toString('latin1', 0, end < 0 ? slot.length : end);
}
