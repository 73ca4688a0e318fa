import { startEtcd, type TestEtcd } from '@minicni/testkit/etcd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdStore } from '../src/etcd.js';
import { openIpam } from '../src/index.js';
import { bundle, runWorker } from './bundle.js';
import { storeContract } from './store-contract.js';
import { expectDistinctAllocations } from './worker-allocations.js';

const owner = (id: string) => ({ containerId: id, ifname: 'eth0' });
const NET = 'mct-etcd';
// .1 gateway; .1.0/22 gives 1021 addresses, enough for 800 with round robin left to do work.
const ipam = { type: 'host-local', subnet: '10.244.60.0/22' };

let worker: string;
beforeAll(async () => {
  worker = await bundle('worker-etcd.ts');
});

// One throwaway etcd for the contract; each test's store gets a network of its own on it.
let contractEtcd: TestEtcd;
let contractNetworks = 0;
beforeAll(async () => {
  contractEtcd = await startEtcd();
});
afterAll(async () => {
  await contractEtcd?.[Symbol.asyncDispose]();
});
storeContract(
  'EtcdStore',
  async () => new EtcdStore({ network: `mct-contract-${++contractNetworks}`, hosts: contractEtcd.endpoint }),
);

describe('EtcdStore against a real etcd', () => {
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
