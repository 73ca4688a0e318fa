import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileStore, openIpam, utilLinuxFlock } from '../src/index.js';
import { bundle, runWorker } from './bundle.js';
import { hostLocal, readNetworkDir, tempDataDir } from './helpers.js';

const NET = 'mct-interop';
const owner = (id: string, ifname = 'eth0') => ({ containerId: id, ifname });

function netconf(dataDir: string, ipam: Record<string, unknown> = {}) {
  return {
    cniVersion: '1.0.0',
    name: NET,
    type: 'bridge',
    ipam: { type: 'host-local', subnet: '10.244.40.0/24', dataDir, ...ipam },
  };
}

let worker: string;
beforeAll(async () => {
  worker = await bundle('worker.ts');
});

describe('interop with the reference host-local on one dataDir', () => {
  it('each sees and respects the other, and either releases the other', async () => {
    await using dd = await tempDataDir();
    const conf = netconf(dd.path);
    const hl1 = await hostLocal('ADD', owner('hl-1'), conf);
    expect(hl1.code, hl1.stdout + hl1.stderr).toBe(0);
    expect(hl1.json!.ips[0]!.address).toBe('10.244.40.2/24');

    const ipam = await openIpam({ config: conf.ipam, network: NET });
    // We see host-local's reservation and skip it.
    expect(await ipam.get(owner('hl-1'))).toMatchObject({ ips: [{ address: '10.244.40.2/24' }] });
    const ours = await ipam.allocate(owner('mc-1'));
    expect(ours.ips[0]!.address).toBe('10.244.40.3/24');

    // host-local sees ours (and continues from the shared cursor).
    const hl2 = await hostLocal('ADD', owner('hl-2'), conf);
    expect(hl2.json!.ips[0]!.address).toBe('10.244.40.4/24');
    // host-local refuses a static request for our address; we refuse one for its address.
    const clash = await hostLocal('ADD', owner('hl-3'), { ...conf, args: { cni: { ips: ['10.244.40.3'] } } });
    expect(clash.code).not.toBe(0);
    const staticIpam = await openIpam({ config: conf.ipam, network: NET, cniArgs: 'IP=10.244.40.4' });
    await expect(staticIpam.allocate(owner('mc-2'))).rejects.toThrow(
      expect.objectContaining({ code: 'ADDRESS_IN_USE' }),
    );

    // Either releases the other's reservations.
    expect(await ipam.release(owner('hl-1'))).toEqual(['10.244.40.2']);
    expect((await hostLocal('DEL', owner('mc-1'), conf)).code).toBe(0);
    const left = await readNetworkDir(join(dd.path, NET));
    expect([...left.keys()]).toEqual(['10.244.40.4']);
    expect(left.get('10.244.40.4')).toEqual(owner('hl-2'));
    expect(await ipam.get(owner('mc-1'))).toMatchObject({ ips: [] });
  });

  it('100 mixed concurrent allocations from host-local and minicni processes give no duplicate', async () => {
    await using dd = await tempDataDir();
    const conf = netconf(dd.path);
    const hostLocalCalls = Array.from({ length: 50 }, (_, i) => hostLocal('ADD', owner(`hl-${i}`), conf));
    const workers = Array.from({ length: 5 }, (_, w) =>
      runWorker(worker, {
        network: NET,
        ipam: conf.ipam,
        op: 'allocate',
        owners: Array.from({ length: 10 }, (_, i) => owner(`mc-${w}-${i}`)),
      }),
    );
    const [hl, mc] = await Promise.all([Promise.all(hostLocalCalls), Promise.all(workers)]);
    const addresses: string[] = [];
    for (const r of hl) {
      expect(r.code, r.stdout + r.stderr).toBe(0);
      addresses.push(r.json!.ips[0]!.address);
    }
    for (const r of mc) {
      expect(r.code, r.stderr).toBe(0);
      for (const l of r.lines) {
        expect(l.error, String(l.message)).toBeUndefined();
        addresses.push((l.ips as string[])[0]!);
      }
    }
    expect(addresses).toHaveLength(100);
    expect(new Set(addresses).size).toBe(100);
    const onDisk = await readNetworkDir(join(dd.path, NET));
    expect(onDisk.size).toBe(100);
    expect([...onDisk.values()].every((o) => o !== undefined)).toBe(true);

    // And both release everything again, each the other's half.
    const store = new FileStore({ dataDir: dd.path, network: NET });
    for (let i = 0; i < 50; i++) expect(await store.releaseByOwner(owner(`hl-${i}`))).toHaveLength(1);
    for (let w = 0; w < 5; w++) {
      for (let i = 0; i < 10; i++) expect((await hostLocal('DEL', owner(`mc-${w}-${i}`), conf)).code).toBe(0);
    }
    expect((await readNetworkDir(join(dd.path, NET))).size).toBe(0);
  });
});

describe('with a flock LockProvider', () => {
  it('serialises with host-local on the lock file', async () => {
    await using dd = await tempDataDir();
    const conf = netconf(dd.path);
    const store = new FileStore({ dataDir: dd.path, network: NET, lock: utilLinuxFlock() });
    const ipam = await openIpam({ config: conf.ipam, network: NET, store });
    expect((await ipam.allocate(owner('mc-1'))).ips[0]!.address).toBe('10.244.40.2/24');
    let hostLocalDone = false;
    const pending = store.exclusive(async () => {
      const hl = hostLocal('ADD', owner('hl-1'), conf).then((r) => {
        hostLocalDone = true;
        return r;
      });
      await new Promise((r) => setTimeout(r, 500));
      // host-local is blocked on the lock we hold.
      expect(hostLocalDone).toBe(false);
      return { hl }; // wrapped: returning the promise itself would wait for it under the lock
    });
    const hl = await (await pending).hl;
    expect(hl.code, hl.stdout).toBe(0);
    expect(hl.json!.ips[0]!.address).toBe('10.244.40.3/24');
    expect(await ipam.release(owner('hl-1'))).toEqual(['10.244.40.3']);
  });
});
