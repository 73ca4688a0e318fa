import { describe, expect, it } from 'vitest';
import { NetlinkError, NetlinkInputError } from './errors.js';
import type { NativeAddon } from './native.js';
import { createNetns, deleteNetns, netnsPath } from './netns.js';
import { sysctl, sysctlPath } from './sysctl.js';

const failing = (errno: number, syscall: string) => () => {
  throw Object.assign(new Error(`${syscall} failed`), { errno, syscall });
};

function fake(overrides: Partial<NativeAddon>): NativeAddon {
  const none = failing(38, 'none');
  return {
    socket: none,
    setsockoptInt: none,
    send: none,
    recv: none,
    close: none,
    openInNetns: none,
    netnsCreate: none,
    netnsDelete: none,
    ...overrides,
  };
}

describe('sysctl keys and netns names', () => {
  it('maps dotted and slashed keys under /proc/sys, refusing escapes', () => {
    expect(sysctlPath('net.ipv4.ip_forward')).toBe('/proc/sys/net/ipv4/ip_forward');
    expect(sysctlPath('net/ipv6/conf/eth0.100/accept_dad')).toBe(
      '/proc/sys/net/ipv6/conf/eth0.100/accept_dad',
    );
    for (const bad of ['', 'net/../etc', '/net/ipv4', 'net//x', 'net/ipv4/a b']) {
      expect(() => sysctlPath(bad), bad).toThrow(NetlinkInputError);
    }
  });

  it('resolves netns names under /run/netns and keeps paths', () => {
    expect(netnsPath('pod1')).toBe('/run/netns/pod1');
    expect(netnsPath('/proc/1/ns/net')).toBe('/proc/1/ns/net');
    expect(() => netnsPath('../x')).toThrow(NetlinkInputError);
  });

  it('opens the file from inside the netns and reports syscall failures as NetlinkError', () => {
    const calls: unknown[][] = [];
    const addon = fake({
      openInNetns: (...args) => {
        calls.push(args);
        throw Object.assign(new Error('open: No such file or directory'), { errno: 2, syscall: 'open' });
      },
    });
    const err = (() => {
      try {
        sysctl.read('pod1', 'net.ipv4.nope', addon);
      } catch (e) {
        return e;
      }
    })();
    expect(calls[0]!.slice(0, 2)).toEqual(['/run/netns/pod1', '/proc/sys/net/ipv4/nope']);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({
      code: 'ENOENT',
      errno: 2,
      syscall: 'open',
      operation: 'sysctl read net.ipv4.nope in pod1',
    });
  });

  it('creates and deletes through the addon, with errno names', () => {
    const seen: string[][] = [];
    const addon = fake({
      netnsCreate: (dir, path) => void seen.push([dir, path]),
      netnsDelete: failing(2, 'unlink'),
    });
    expect(createNetns('mctx', addon)).toBe('/run/netns/mctx');
    expect(seen).toEqual([['/run/netns', '/run/netns/mctx']]);
    expect(() => deleteNetns('mctx', addon)).toThrow(
      expect.objectContaining({ code: 'ENOENT', operation: 'netns delete /run/netns/mctx' }),
    );
  });
});
