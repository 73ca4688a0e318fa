import { nodeNetns, run, testName } from '@minicni/testkit';
import { readFileSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Netlink, NetlinkError, createNetns, deleteNetns, sysctl } from '../src/index.js';

const ownNetns = () => readlinkSync('/proc/thread-self/ns/net');

describe('named network namespaces, checked with ip netns', () => {
  it('creates and deletes a netns like ip netns add/del, without moving the calling thread', async () => {
    const name = testName('ns');
    const before = ownNetns();
    const path = createNetns(name);
    try {
      expect(path).toBe(`/run/netns/${name}`);
      expect(ownNetns()).toBe(before);
      const listed = JSON.parse(await run('ip', ['-j', 'netns', 'list'])) as { name: string }[];
      expect(listed.map((n) => n.name)).toContain(name);
      // /run/netns is a shared mount point, as iproute2 makes it.
      const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
      expect(mountinfo.some((l) => l.split(' ')[4] === '/run/netns' && / shared:\d+/.test(l))).toBe(true);
      // A fresh netns: only lo, down; iproute2 enters it by name.
      const links = JSON.parse(await run('ip', ['-n', name, '-j', 'link', 'show'])) as { ifname: string }[];
      expect(links.map((l) => l.ifname)).toEqual(['lo']);
      using nl = Netlink.open({ netns: path });
      expect((await nl.links.list()).map((l) => [l.name, l.up])).toEqual([['lo', false]]);
      // A bare name means /run/netns/<name>, for handles and sysctls alike.
      using byName = Netlink.open({ netns: name });
      expect(byName.netns).toBe(path);
      await byName.links.setUp('lo');
      expect((await nl.links.get('lo')).up).toBe(true);
      expect(sysctl.read(name, 'net/ipv4/ip_forward')).toBe('0');
      const inode = readlinkSync('/proc/self/ns/net');
      expect((await run('nsenter', [`--net=${path}`, 'readlink', '/proc/self/ns/net'])).trim()).not.toBe(
        inode,
      );
      expect(() => createNetns(name)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    } finally {
      deleteNetns(name);
    }
    const listed = JSON.parse((await run('ip', ['-j', 'netns', 'list'])) || '[]') as { name: string }[];
    expect(listed.map((n) => n.name)).not.toContain(name);
    expect(() => deleteNetns(name)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(ownNetns()).toBe(before);
  });

  it('refuses to open a handle on a missing path or a file that is not a netns', () => {
    expect(() => Netlink.open({ netns: '/run/netns/mct-no-such' })).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
    const err = (() => {
      try {
        Netlink.open({ netns: '/etc/hostname' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'EINVAL', syscall: 'setns' });
  });
});

describe('per-netns sysctl, checked by reading /proc/sys from inside the netns', () => {
  it('reads and writes inside one netns only', async () => {
    await using a = await nodeNetns();
    await using b = await nodeNetns();
    const machine = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    expect(sysctl.read(a.path, 'net/ipv4/ip_forward')).toBe('0');
    sysctl.write(a.path, 'net.ipv4.ip_forward', 1);
    expect((await a.run('cat', ['/proc/sys/net/ipv4/ip_forward'])).trim()).toBe('1');
    expect((await b.run('cat', ['/proc/sys/net/ipv4/ip_forward'])).trim()).toBe('0');
    expect(sysctl.read(a.path, 'net.ipv4.ip_forward')).toBe('1');
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(machine);

    sysctl.write(b.path, 'net/ipv6/conf/lo/accept_dad', 0);
    expect((await b.run('sysctl', ['-n', 'net.ipv6.conf.lo.accept_dad'])).trim()).toBe('0');
    expect(() => sysctl.read(a.path, 'net/ipv4/no_such_key')).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
    expect(() => sysctl.read(a.path, 'net/../../etc/passwd')).toThrow(
      expect.objectContaining({ code: 'ERR_NETLINK_INPUT' }),
    );
  });
});
