import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStore } from './file-store.js';
import { MemoryStore } from './memory-store.js';
import type { Store } from './store.js';
import { storeContract } from '../test/store-contract.js';

const A = { containerId: 'ctr-a', ifname: 'eth0' };
const A1 = { containerId: 'ctr-a', ifname: 'eth1' };
const B = { containerId: 'ctr-b', ifname: 'eth0' };

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function fileStore(): Promise<Store> {
  const d = await mkdtemp(join(tmpdir(), 'ipam-store-'));
  dirs.push(d);
  return new FileStore({ dataDir: d, network: 'net1', recordReleases: true });
}

storeContract('MemoryStore', async () => new MemoryStore());
storeContract('FileStore', fileStore);

describe('FileStore on-disk format (host-local compatible)', () => {
  async function setup() {
    const d = await mkdtemp(join(tmpdir(), 'ipam-fmt-'));
    dirs.push(d);
    return { d, s: new FileStore({ dataDir: d, network: 'net1' }) };
  }

  it('writes containerID\\r\\nifname, mode 0644, and last_reserved_ip.N', async () => {
    const { d, s } = await setup();
    await s.reserve({ ip: '10.0.0.2', owner: A, rangeId: '0' });
    await s.setCursor('0', '10.0.0.2');
    expect(await readFile(join(d, 'net1', '10.0.0.2'), 'utf8')).toBe('ctr-a\r\neth0');
    expect(await readFile(join(d, 'net1', 'last_reserved_ip.0'), 'utf8')).toBe('10.0.0.2');
    const names = (await readdir(join(d, 'net1'))).sort();
    expect(names).toEqual(['.minicni', '10.0.0.2', 'last_reserved_ip.0']);
  });

  it('reads LF and ID-only files; an ID-only file belongs to every ifname of its container', async () => {
    const { d, s } = await setup();
    await mkdir(join(d, 'net1'), { recursive: true });
    await writeFile(join(d, 'net1', '10.0.0.5'), 'ctr-b\neth0\n');
    await writeFile(join(d, 'net1', '10.0.0.6'), 'ctr-a');
    await writeFile(join(d, 'net1', '10.0.0.7'), '');
    await writeFile(join(d, 'net1', 'not-an-ip'), 'ctr-a\r\neth0');
    const list = (await s.list()).sort((x, y) => x.ip.localeCompare(y.ip));
    expect(list).toEqual([
      { ip: '10.0.0.5', owner: B },
      { ip: '10.0.0.6', owner: { containerId: 'ctr-a', ifname: '' } },
      { ip: '10.0.0.7', owner: undefined },
    ]);
    // Unknown to the owner index: found by scan, released by owner.
    expect(await s.getByOwner(B)).toEqual([]);
    expect(await s.getByOwner(B, { scan: true })).toEqual(['10.0.0.5']);
    expect(await s.releaseByOwner(A1)).toEqual(['10.0.0.6']);
    expect(await s.releaseByOwner(B)).toEqual(['10.0.0.5']);
    expect(await s.stats()).toEqual({ reservations: 1, unowned: 1 });
  });

  it('leaves a fresh ownerless file to its writer, collects it after the grace time', async () => {
    const d = await mkdtemp(join(tmpdir(), 'ipam-fmt-'));
    dirs.push(d);
    let now = Date.now();
    const s = new FileStore({ dataDir: d, network: 'net1', graceMs: 1000, now: () => now });
    await mkdir(join(d, 'net1'), { recursive: true });
    await writeFile(join(d, 'net1', '10.0.0.7'), '');
    expect(await s.gc(() => true)).toEqual([]);
    now += 5000;
    expect(await s.gc(() => true)).toEqual(['10.0.0.7']);
  });

  it('keeps the index entry when the holder reserves its own address again', async () => {
    const { s } = await setup();
    expect(await s.reserve({ ip: '10.0.0.2', owner: A, rangeId: '0' })).toBe(true);
    expect(await s.reserve({ ip: '10.0.0.2', owner: A, rangeId: '0' })).toBe(false);
    expect(await s.getByOwner(A)).toEqual(['10.0.0.2']);
  });

  it('drops an index entry whose address was released and re-taken by another writer', async () => {
    const { d, s } = await setup();
    await s.reserve({ ip: '10.0.0.2', owner: A, rangeId: '0' });
    // host-local-style DEL of A and a re-ADD for B, behind the store's back.
    const { unlink } = await import('node:fs/promises');
    await unlink(join(d, 'net1', '10.0.0.2'));
    await writeFile(join(d, 'net1', '10.0.0.2'), 'ctr-b\r\neth0');
    expect(await s.getByOwner(A)).toEqual([]);
    expect(await s.releaseByOwner(A)).toEqual([]);
    expect(await s.getByOwner(B, { scan: true })).toEqual(['10.0.0.2']);
  });

  it('refuses unsafe network names and data dirs', () => {
    for (const network of ['../etc', '.', '..', 'a/b', '', '-x', '.hidden']) {
      expect(() => new FileStore({ dataDir: '/tmp', network })).toThrow(
        expect.objectContaining({ code: 'UNSAFE_PATH' }),
      );
    }
    for (const dataDir of ['relative/dir', '/var/lib/../../etc', '/a/./b', '/a//b', '']) {
      expect(() => new FileStore({ dataDir, network: 'n' })).toThrow(
        expect.objectContaining({ code: 'UNSAFE_PATH' }),
      );
    }
  });

  it('treats a torn or foreign cursor as absent', async () => {
    const { d, s } = await setup();
    await mkdir(join(d, 'net1'), { recursive: true });
    await writeFile(join(d, 'net1', 'last_reserved_ip.0'), '10.0.0.');
    expect(await s.getCursor('0')).toBeUndefined();
    await expect(s.getCursor('../x')).rejects.toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});
