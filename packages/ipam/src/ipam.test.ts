import { describe, expect, it } from 'vitest';
import { openIpam } from './ipam.js';
import { MemoryStore } from './memory-store.js';

const A = { containerId: 'a', ifname: 'eth0' };
const B = { containerId: 'b', ifname: 'eth0' };
const owner = (i: number) => ({ containerId: `c${i}`, ifname: 'eth0' });

describe('openIpam over MemoryStore', () => {
  it('allocates dual stack round robin, returns held addresses for the same owner', async () => {
    const ipam = await openIpam({
      network: 'n',
      store: new MemoryStore(),
      config: {
        ranges: [[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00:1::/64' }]],
        routes: [{ dst: '0.0.0.0/0' }],
      },
    });
    const r = await ipam.allocate(A);
    expect(r).toEqual({
      ips: [
        { address: '10.244.1.2/24', gateway: '10.244.1.1', family: 4 },
        { address: 'fd00:1::2/64', gateway: 'fd00:1::1', family: 6 },
      ],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: {},
      fresh: true,
    });
    expect(await ipam.allocate(A)).toEqual({ ...r, fresh: false });
    expect((await ipam.allocate(B)).ips.map((i) => i.address)).toEqual(['10.244.1.3/24', 'fd00:1::3/64']);
    const { fresh: _, ...held } = r;
    expect(await ipam.get(A)).toEqual(held);
    expect(await ipam.release(A)).toEqual(['10.244.1.2', 'fd00:1::2']);
    expect(await ipam.release(A)).toEqual([]);
    // Round robin: the released .2 is not reused before the pool wraps.
    expect((await ipam.allocate(owner(1))).ips[0]!.address).toBe('10.244.1.4/24');
  });

  it('skips gateway and exclusions and says "pool exhausted" when full', async () => {
    const ipam = await openIpam({
      network: 'n',
      store: new MemoryStore(),
      config: { subnet: '10.244.2.0/29', gateway: '10.244.2.3', exclude: ['10.244.2.5-10.244.2.6'] },
    });
    const got: string[] = [];
    for (let i = 0; i < 3; i++) got.push((await ipam.allocate(owner(i))).ips[0]!.address);
    expect(got).toEqual(['10.244.2.1/29', '10.244.2.2/29', '10.244.2.4/29']);
    await expect(ipam.allocate(owner(9))).rejects.toThrow(
      expect.objectContaining({
        code: 'POOL_EXHAUSTED',
        message: expect.stringMatching(/^pool exhausted: all 3 addresses/),
      }),
    );
    expect(await ipam.stats()).toEqual([
      {
        setIndex: 0,
        subnet: '10.244.2.0/29',
        rangeStart: '10.244.2.1',
        rangeEnd: '10.244.2.6',
        size: 3n,
        used: 3n,
        free: 0n,
      },
    ]);
  });

  it('honours static requests and refuses excluded, gateway, taken and foreign ones', async () => {
    const store = new MemoryStore();
    const open = (cniArgs: string) =>
      openIpam({
        network: 'n',
        store,
        cniArgs,
        config: { subnet: '10.244.3.0/24', exclude: ['10.244.3.100'] },
      });
    expect((await (await open('IP=10.244.3.50')).allocate(A)).ips[0]!.address).toBe('10.244.3.50/24');
    await expect((await open('IP=10.244.3.50')).allocate(B)).rejects.toThrow(
      expect.objectContaining({ code: 'ADDRESS_IN_USE' }),
    );
    await expect((await open('IP=10.244.3.100')).allocate(B)).rejects.toThrow(
      expect.objectContaining({ code: 'ADDRESS_EXCLUDED' }),
    );
    await expect((await open('IP=10.244.3.1')).allocate(B)).rejects.toThrow(/gateway/);
    await expect((await open('IP=10.9.9.9')).allocate(B)).rejects.toThrow(
      expect.objectContaining({ code: 'ADDRESS_NOT_IN_RANGE' }),
    );
  });

  it('rolls back the first family when the second cannot be served', async () => {
    const store = new MemoryStore();
    const ipam = await openIpam({
      network: 'n',
      store,
      config: { ranges: [[{ subnet: '10.244.4.0/24' }], [{ subnet: 'fd00:4::/126' }]] },
    });
    await ipam.allocate(owner(1));
    await ipam.allocate(owner(2));
    await expect(ipam.allocate(owner(3))).rejects.toThrow(
      expect.objectContaining({ code: 'POOL_EXHAUSTED' }),
    );
    expect((await store.list()).length).toBe(4);
  });

  it('keeps released addresses cooling down', async () => {
    let now = 1_000_000;
    const ipam = await openIpam({
      network: 'n',
      store: new MemoryStore({ now: () => now }),
      now: () => now,
      config: { subnet: '10.244.5.0/30', reuseCooldownSeconds: 30 },
    });
    expect((await ipam.allocate(A)).ips[0]!.address).toBe('10.244.5.2/30');
    await ipam.release(A);
    await expect(ipam.allocate(B)).rejects.toThrow(/released less than 30000 ms ago/);
    now += 31_000;
    expect((await ipam.allocate(B)).ips[0]!.address).toBe('10.244.5.2/30');
  });

  it('garbage-collects everything not in the valid attachments', async () => {
    const ipam = await openIpam({
      network: 'n',
      store: new MemoryStore(),
      config: { subnet: '10.244.6.0/24' },
    });
    for (let i = 0; i < 5; i++) await ipam.allocate(owner(i));
    expect(await ipam.gc([owner(1), owner(3)])).toEqual(['10.244.6.2', '10.244.6.4', '10.244.6.6']);
    expect((await ipam.stats())[0]!.used).toBe(2n);
  });

  it('reads dns from resolvConf and refuses bad owners', async () => {
    const ipam = await openIpam({
      network: 'n',
      store: new MemoryStore(),
      config: { subnet: '10.244.7.0/24', resolvConf: '/x/resolv.conf' },
      readTextFile: async () =>
        'nameserver 10.0.0.10\nsearch a.svc b.svc\noptions ndots:5\ndomain cluster.local\n',
    });
    expect((await ipam.allocate(A)).dns).toEqual({
      nameservers: ['10.0.0.10'],
      search: ['a.svc', 'b.svc'],
      options: ['ndots:5'],
      domain: 'cluster.local',
    });
    await expect(ipam.allocate({ containerId: 'x\ny', ifname: 'eth0' })).rejects.toThrow(
      expect.objectContaining({ code: 'INVALID_OWNER' }),
    );
    await expect(ipam.allocate({ containerId: 'x', ifname: 'a/b' })).rejects.toThrow(
      expect.objectContaining({ code: 'INVALID_OWNER' }),
    );
  });

  it('says whether allocate made the reservation: fresh once, then held, fresh again after release', async () => {
    const ipam = await openIpam({
      network: 'n',
      store: new MemoryStore(),
      config: { ranges: [[{ subnet: '10.244.6.0/24' }], [{ subnet: 'fd00:6::/64' }]] },
    });
    expect((await ipam.allocate(A)).fresh).toBe(true);
    expect((await ipam.allocate(A)).fresh).toBe(false);
    expect((await ipam.allocate(B)).fresh).toBe(true);
    await ipam.release(A);
    expect((await ipam.allocate(A)).fresh).toBe(true);
  });

  it('is not fresh when the owner already held an address of one range set (undo must keep it)', async () => {
    const store = new MemoryStore();
    const v4 = await openIpam({ network: 'n', store, config: { subnet: '10.244.7.0/24' } });
    expect((await v4.allocate(A)).fresh).toBe(true);
    // The config grew a v6 set: the owner keeps its v4 address and gets a new v6 one.
    const dual = await openIpam({
      network: 'n',
      store,
      config: { ranges: [[{ subnet: '10.244.7.0/24' }], [{ subnet: 'fd00:7::/64' }]] },
    });
    const r = await dual.allocate(A);
    expect(r.ips.map((i) => i.address)).toEqual(['10.244.7.2/24', 'fd00:7::2/64']);
    expect(r.fresh).toBe(false);
  });
});
