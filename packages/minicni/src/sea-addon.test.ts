import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { extractSeaAddon, type SeaApi } from './sea-addon.js';

const bytes = Buffer.from('pretend this is an ELF shared object');
const hash = createHash('sha256').update(bytes).digest('hex');
const sea = (b = bytes): SeaApi => ({
  isSea: () => true,
  getAsset: () => b.buffer.slice(b.byteOffset, b.byteOffset + b.length),
});
const roots: string[] = [];
const root = () => {
  const r = mkdtempSync(join(tmpdir(), 'minicni-addon-'));
  roots.push(r);
  return r;
};
afterEach(() => roots.splice(0).forEach((r) => rmSync(r, { recursive: true, force: true })));

describe('extractSeaAddon', () => {
  it('does nothing outside a single executable', () => {
    expect(
      extractSeaAddon({ isSea: () => false, getAsset: () => new ArrayBuffer(0) }, '/nonexistent', hash),
    ).toBeUndefined();
  });

  it('writes the addon under its hash into a new 0700 directory and reuses it', () => {
    const dir = join(root(), 'native');
    const path = extractSeaAddon(sea(), dir, hash)!;
    expect(path).toBe(join(dir, `netlink-${hash.slice(0, 32)}.node`));
    expect(readFileSync(path)).toEqual(bytes);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(extractSeaAddon(sea(), dir, hash)).toBe(path);
  });

  it('replaces a tampered file instead of loading it', () => {
    const dir = join(root(), 'native');
    const path = extractSeaAddon(sea(), dir, hash)!;
    chmodSync(path, 0o600);
    writeFileSync(path, 'evil');
    expect(extractSeaAddon(sea(), dir, hash)).toBe(path);
    expect(readFileSync(path)).toEqual(bytes);
  });

  it('refuses a directory others can write, and an asset that does not match its hash', () => {
    const dir = join(root(), 'open');
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    expect(() => extractSeaAddon(sea(), dir, hash)).toThrow(/mode 0700/);
    expect(() => extractSeaAddon(sea(Buffer.from('other')), join(root(), 'n'), hash)).toThrow(
      /does not match/,
    );
  });
});
