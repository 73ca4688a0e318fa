import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CNI_CACHE_KIND, ResultCache, type CachedAttachment } from './result-cache.js';

const tmp = mkdtempSync(join(tmpdir(), 'mct-spec-cache-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const entry = (containerId: string, networkName = 'net1'): CachedAttachment => ({
  kind: CNI_CACHE_KIND,
  containerId,
  config: Buffer.from('{}').toString('base64'),
  ifName: 'eth0',
  networkName,
  result: { cniVersion: '1.0.0' },
});

describe('ResultCache (libcni cniCacheV1 layout)', () => {
  it('writes <dir>/results/<net>-<id>-<if>, reads it back, removes it, leaves no temp files', () => {
    const cache = new ResultCache(join(tmp, 'a'));
    cache.write(entry('c1'));
    expect(readdirSync(join(tmp, 'a', 'results'))).toEqual(['net1-c1-eth0']);
    expect(cache.read('net1', 'c1', 'eth0')).toEqual(entry('c1'));
    cache.remove('net1', 'c1', 'eth0');
    expect(cache.read('net1', 'c1', 'eth0')).toBeUndefined();
    cache.remove('net1', 'c1', 'eth0');
  });

  it('lists valid entries only, optionally for one container, ignoring other kinds and junk', () => {
    const dir = join(tmp, 'b');
    const cache = new ResultCache(dir);
    cache.write(entry('c1'));
    cache.write(entry('c2'));
    cache.write(entry('c1', 'net2'));
    writeFileSync(join(dir, 'results', 'net1-old-eth0'), JSON.stringify({ ...entry('old'), kind: 'other' }));
    writeFileSync(join(dir, 'results', 'net1-junk-eth0'), 'not json');
    expect(cache.list().map((e) => `${e.networkName}/${e.containerId}`)).toEqual([
      'net1/c1',
      'net1/c2',
      'net2/c1',
    ]);
    expect(cache.list('c1').map((e) => e.networkName)).toEqual(['net1', 'net2']);
    expect(new ResultCache(join(tmp, 'missing')).list()).toEqual([]);
  });

  it('refuses a path without network, container or interface', () => {
    expect(() => new ResultCache(tmp).pathFor('', 'c', 'eth0')).toThrow(
      expect.objectContaining({ code: 'CACHE_INVALID' }),
    );
  });
});
