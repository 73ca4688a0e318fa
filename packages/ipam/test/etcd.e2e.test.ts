import { startEtcd } from '@minicni/testkit/etcd';
import { beforeAll, describe, expect, it } from 'vitest';
import { EtcdStore } from '../src/etcd.js';
import { openIpam } from '../src/index.js';
import { bundle, runWorker } from './bundle.js';
import { expectDistinctAllocations } from './worker-allocations.js';

const owner = (id: string) => ({ containerId: id, ifname: 'eth0' });
const NET = 'mct-etcd';
// .1 gateway; .1.0/22 gives 1021 addresses, enough for 800 with round robin left to do work.
const ipam = { type: 'host-local', subnet: '10.244.60.0/22' };

let worker: string;
beforeAll(async () => {
  worker = await bundle('worker-etcd.ts');
});

describe('EtcdStore against a real etcd', () => {
  it('follows the Store contract: atomic reserve, owner-checked release, cursor, gc', async () => {
    await using etcd = await startEtcd();
    const store = new EtcdStore({ network: NET, hosts: etcd.endpoint });
    try {
      expect(await store.reserve({ ip: '10.244.60.2', owner: owner('a'), rangeId: '0' })).toBe(true);
      expect(await store.reserve({ ip: '10.244.60.2', owner: owner('b'), rangeId: '0' })).toBe(false);
      expect(await store.getByOwner(owner('a'))).toEqual(['10.244.60.2']);
      expect(await store.release('10.244.60.2', owner('b'))).toBe(false);
      await store.setCursor('0', '10.244.60.2');
      expect(await store.getCursor('0')).toBe('10.244.60.2');
      await store.reserve({ ip: '10.244.60.3', owner: owner('b'), rangeId: '0' });
      expect(await store.gc((o) => o.containerId === 'a')).toEqual(['10.244.60.3']);
      expect(await store.releasedAt('10.244.60.3')).toBeGreaterThan(0);
      expect(await store.releaseByOwner(owner('a'))).toEqual(['10.244.60.2']);
      expect(await store.list()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('4 processes x 200 allocations on one pool: no duplicates, all released after', async () => {
    await using etcd = await startEtcd();
    const owners = (p: number) => Array.from({ length: 200 }, (_, i) => owner(`p${p}-${i}`));
    const started = performance.now();
    const runs = await Promise.all(
      [0, 1, 2, 3].map((p) =>
        runWorker(worker, { network: NET, ipam, etcd: etcd.endpoint, op: 'allocate', owners: owners(p) }),
      ),
    );
    const allocMs = performance.now() - started;
    expectDistinctAllocations(runs, 800);
    const store = new EtcdStore({ network: NET, hosts: etcd.endpoint });
    try {
      expect((await store.list()).length).toBe(800);
      const stats = await (await openIpam({ config: ipam, network: NET, store })).stats();
      expect(stats[0]).toMatchObject({ used: 800n, size: 1021n, free: 221n });
      const rel = await Promise.all(
        [0, 1, 2, 3].map((p) =>
          runWorker(worker, { network: NET, ipam, etcd: etcd.endpoint, op: 'release', owners: owners(p) }),
        ),
      );
      for (const r of rel) {
        expect(r.code, r.stderr).toBe(0);
        for (const l of r.lines) expect(l.released).toHaveLength(1);
      }
      expect(await store.list()).toEqual([]);
    } finally {
      await store.close();
    }
    console.log(`etcd: 800 allocations from 4 processes in ${Math.round(allocMs)} ms (incl. process start)`);
  });
});
