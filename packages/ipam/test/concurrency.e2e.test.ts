import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileStore, openIpam } from '../src/index.js';
import { bundle, runWorker, type WorkerRun } from './bundle.js';
import { hostLocal, readNetworkDir, tempDataDir } from './helpers.js';
import { expectDistinctAllocations } from './worker-allocations.js';

const owner = (id: string) => ({ containerId: id, ifname: 'eth0' });

let worker: string;
beforeAll(async () => {
  worker = await bundle('worker.ts');
});

describe('file store under concurrent processes', () => {
  it('250 concurrent allocations from 50 processes on a /24 pool of 250 are unique; the next is "pool exhausted"', async () => {
    await using dd = await tempDataDir();
    const NET = 'mct-250';
    // .1 is the gateway; .2-.251 are the 250 addresses.
    const ipam = {
      type: 'host-local',
      subnet: '10.244.50.0/24',
      rangeEnd: '10.244.50.251',
      dataDir: dd.path,
    };
    const runs = await Promise.all(
      Array.from({ length: 50 }, (_, p) =>
        runWorker(worker, {
          network: NET,
          ipam,
          op: 'allocate',
          owners: Array.from({ length: 5 }, (_, i) => owner(`p${p}-${i}`)),
        }),
      ),
    );
    expectDistinctAllocations(runs, 250);
    const next = await runWorker(worker, { network: NET, ipam, op: 'allocate', owners: [owner('one-more')] });
    expect(next.lines[0]).toMatchObject({
      error: 'POOL_EXHAUSTED',
      message: expect.stringMatching(/^pool exhausted/),
    });
    const stats = await (await openIpam({ config: ipam, network: NET })).stats();
    expect(stats[0]).toMatchObject({ size: 250n, used: 250n, free: 0n });
  });

  it('500 allocations killed with SIGKILL at random moments leave a consistent store', async () => {
    await using dd = await tempDataDir();
    const NET = 'mct-crash';
    const ipam = { type: 'host-local', subnet: '10.244.0.0/16', dataDir: dd.path };
    const dir = join(dd.path, NET);
    const reported = new Map<string, string[]>();
    const released = new Set<string>();
    let killedMidway = 0;
    // Each process allocates (and releases every other owner) in a tight loop and is killed at a
    // random moment, so the kill lands inside an allocation or a release. 20 at a time.
    for (let batch = 0; batch < 25; batch++) {
      const runs: Array<Promise<WorkerRun>> = [];
      for (let k = 0; k < 20; k++) {
        const p = batch * 20 + k;
        const owners = Array.from({ length: 400 }, (_, i) => owner(`k${p}-${i}`));
        runs.push(
          runWorker(
            worker,
            { network: NET, ipam, op: 'churn', owners },
            // One allocate+release costs ~1-3 ms: a kill 0-40 ms after the store opened lands
            // at a random step of some operation.
            Math.floor(Math.random() * 40),
          ),
        );
      }
      for (const r of await Promise.all(runs)) {
        if (r.signal === 'SIGKILL') killedMidway++;
        for (const l of r.lines) {
          const o = (l.owner as { containerId: string }).containerId;
          if (l.ips) reported.set(o, l.ips as string[]);
          if (l.released) released.add(o);
        }
      }
    }
    expect(killedMidway).toBeGreaterThanOrEqual(450);
    // Every reader parses the store: our own, and the reference host-local (it reads every file).
    const onDisk = await readNetworkDir(dir);
    const store = new FileStore({ dataDir: dd.path, network: NET });
    const listed = await store.list();
    expect(listed.length).toBe(onDisk.size);
    // None held without an owner, no owner with two addresses.
    const byOwner = new Map<string, string>();
    for (const [ip, o] of onDisk) {
      expect(o, `${ip} has no owner`).toBeDefined();
      expect(byOwner.has(o!.containerId), `${o!.containerId} holds two addresses`).toBe(false);
      byOwner.set(o!.containerId, ip);
    }
    // Every allocation a process reported before dying is still held by that owner, unless the
    // worker went on to release it (odd owners; the kill may land after the release but before
    // the worker could report it).
    for (const [o, ips] of reported) {
      if (released.has(o)) continue;
      const releasedLater = Number(o.split('-')[1]) % 2 === 1;
      if (releasedLater && !byOwner.has(o)) continue;
      expect(byOwner.get(o)).toBe(ips[0]!.split('/')[0]);
    }
    for (const o of released) expect(byOwner.has(o)).toBe(false);
    const hl = await hostLocal('ADD', owner('after-crash'), { cniVersion: '1.0.0', name: NET, ipam });
    expect(hl.code, hl.stdout).toBe(0);
    expect(byOwner.has('after-crash')).toBe(false);
    expect(onDisk.has(hl.json!.ips[0]!.address.split('/')[0]!)).toBe(false);
    // GC with every surviving owner valid releases nothing and sweeps the debris of the kills.
    const valid = [...byOwner.keys(), 'after-crash'].map(owner);
    expect(await store.gc(() => true)).toEqual([]);
    await expect((await openIpam({ config: ipam, network: NET })).gc(valid)).resolves.toEqual([]);
    console.log(
      `crash test: ${killedMidway} processes killed mid-run, ${reported.size} allocations reported, ${released.size} released, ${onDisk.size} held`,
    );
  });
});
