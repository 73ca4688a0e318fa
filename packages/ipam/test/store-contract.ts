import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../src/store.js';

const A = { containerId: 'ctr-a', ifname: 'eth0' };
const A1 = { containerId: 'ctr-a', ifname: 'eth1' };
const B = { containerId: 'ctr-b', ifname: 'eth0' };

/**
 * The behaviour every Store must show, as one suite each store runs: the memory and file stores
 * in the unit tier (src/store.contract.test.ts), EtcdStore against a throwaway etcd in the e2e
 * tier (etcd.e2e.test.ts). `make` returns a fresh, empty store for each test; it is closed after.
 */
export function storeContract(name: string, make: () => Promise<Store>): void {
  describe(`${name} contract`, () => {
    const opened: Store[] = [];
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });
    const fresh = async (): Promise<Store> => {
      const s = await make();
      opened.push(s);
      return s;
    };

    it('reserves if absent, once', async () => {
      const s = await fresh();
      expect(await s.reserve({ ip: '10.0.0.2', owner: A, rangeId: '0' })).toBe(true);
      expect(await s.reserve({ ip: '10.0.0.2', owner: B, rangeId: '0' })).toBe(false);
      expect(await s.getByOwner(A)).toEqual(['10.0.0.2']);
      expect(await s.getByOwner(A1)).toEqual([]);
      expect(await s.getByOwner(B)).toEqual([]);
    });

    it('releases by owner only, idempotently, and records the release', async () => {
      const s = await fresh();
      await s.reserve({ ip: '10.0.0.2', owner: A, rangeId: '0' });
      await s.reserve({ ip: 'fd00::2', owner: A, rangeId: '1' });
      await s.reserve({ ip: '10.0.0.3', owner: B, rangeId: '0' });
      expect(await s.release('10.0.0.3', A)).toBe(false);
      expect((await s.releaseByOwner(A)).sort()).toEqual(['10.0.0.2', 'fd00::2']);
      expect(await s.releaseByOwner(A)).toEqual([]);
      expect((await s.list()).map((r) => r.ip)).toEqual(['10.0.0.3']);
      expect(await s.releasedAt('10.0.0.2')).toBeGreaterThan(0);
      expect(await s.releasedAt('10.0.0.3')).toBeUndefined();
    });

    it('keeps a cursor per range set', async () => {
      const s = await fresh();
      expect(await s.getCursor('0')).toBeUndefined();
      await s.setCursor('0', '10.0.0.9');
      await s.setCursor('1', 'fd00::9');
      await s.setCursor('0', '10.0.0.100');
      await s.setCursor('0', '10.0.0.9'); // shorter than before: no stale tail
      expect(await s.getCursor('0')).toBe('10.0.0.9');
      expect(await s.getCursor('1')).toBe('fd00::9');
    });

    it('collects garbage by owner and counts', async () => {
      const s = await fresh();
      await s.reserve({ ip: '10.0.0.2', owner: A, rangeId: '0' });
      await s.reserve({ ip: '10.0.0.3', owner: B, rangeId: '0' });
      expect(await s.gc((o) => o.containerId === 'ctr-b')).toEqual(['10.0.0.2']);
      expect(await s.stats()).toEqual({ reservations: 1, unowned: 0 });
    });

    it('serialises exclusive sections', async () => {
      const s = await fresh();
      const order: string[] = [];
      const slow = s.exclusive(async () => {
        order.push('a1');
        await new Promise((r) => setTimeout(r, 20));
        order.push('a2');
      });
      const fast = s.exclusive(async () => {
        order.push('b');
      });
      await Promise.all([slow, fast]);
      expect(order).toEqual(['a1', 'a2', 'b']);
    });
  });
}
