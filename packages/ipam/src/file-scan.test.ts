import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStore } from './file-store.js';
import { listNetworks, listReservedIps } from './file-scan.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ipam-scan-'));
  dirs.push(d);
  return d;
}

describe('listNetworks and listReservedIps', () => {
  it("read host-local's and FileStore's address files by name only, and nothing else", async () => {
    const d = dataDir();
    // host-local's own layout: address files, its cursor and its lock file.
    mkdirSync(join(d, 'hl'));
    for (const f of ['10.244.1.2', 'fd00:1::5', 'last_reserved_ip.0', 'lock']) {
      writeFileSync(join(d, 'hl', f), 'ctr\r\neth0');
    }
    writeFileSync(join(d, 'hl', '10.244.1.3'), ''); // held by a writer mid-way: still held
    writeFileSync(join(d, 'hl', 'fd00:1:0::6'), 'x'); // not canonical text: not an address file
    mkdirSync(join(d, 'hl', '10.244.1.9')); // a directory is never a reservation
    const fs = new FileStore({ dataDir: d, network: 'mine' });
    await fs.reserve({ ip: '10.244.2.7', owner: { containerId: 'c1', ifname: 'eth0' }, rangeId: '0' });
    writeFileSync(join(d, 'stray-file'), '');
    mkdirSync(join(d, '.hidden'));
    symlinkSync(join(d, 'hl'), join(d, 'linked'));

    expect(await listNetworks(d)).toEqual(['hl', 'mine']);
    expect(await listReservedIps(d, 'hl')).toEqual(['10.244.1.2', '10.244.1.3', 'fd00:1::5']);
    expect(await listReservedIps(d, 'mine')).toEqual(['10.244.2.7']);
    // The listing took no lock and created nothing.
    expect(await listNetworks(d)).toEqual(['hl', 'mine']);
  });

  it('see a missing dataDir or network as empty and refuse unsafe paths', async () => {
    const d = dataDir();
    expect(await listNetworks(join(d, 'missing'))).toEqual([]);
    expect(await listReservedIps(d, 'missing')).toEqual([]);
    writeFileSync(join(d, 'file'), '');
    expect(await listReservedIps(d, 'file')).toEqual([]);
    await expect(listNetworks('relative/dir')).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    await expect(listReservedIps(d, '../etc')).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
  });

  it('report a dataDir it cannot list as STORE_IO', async () => {
    const d = dataDir();
    symlinkSync(join(d, 'loop'), join(d, 'loop')); // ELOOP, which root meets too (unlike EACCES)
    await expect(listNetworks(join(d, 'loop'))).rejects.toMatchObject({ code: 'STORE_IO' });
  });
});
