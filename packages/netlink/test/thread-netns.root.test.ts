import { nodeNetns, testName } from '@minicni/testkit';
import { lookup } from 'node:dns/promises';
import { readlinkSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { Netlink, sysctl } from '../src/index.js';
import { threadNetns } from './threads.js';

describe('namespace safety under load', () => {
  it('after 10,000 namespace-bound operations interleaved with fs and dns work, every thread is still home', async () => {
    const home = readlinkSync('/proc/thread-self/ns/net');
    expect([...threadNetns().values()].every((ns) => ns === home)).toBe(true);
    await using node = await nodeNetns();

    let stop = false;
    let fsOps = 0;
    let dnsOps = 0;
    // fs and dns run on libuv's threadpool while the netlink calls run on the main thread.
    const loop = async () => {
      while (!stop) {
        await Promise.all([
          readFile('/proc/self/status').then(() => fsOps++),
          stat('/run/netns').then(() => fsOps++),
          lookup('localhost').then(() => dnsOps++),
        ]);
      }
    };
    const background = Promise.all([loop(), loop(), loop(), loop()]);

    const bridge = testName('br');
    const nl = Netlink.open({ netns: node.path });
    // Created once: deleting a link waits for RCU grace periods (~20-40 ms), the rest takes < 1 ms.
    await nl.links.addBridge({ name: bridge });
    const strays: string[] = [];
    let ops = 0;
    try {
      for (let i = 0; ops < 10_000; i++) {
        switch (i % 6) {
          case 0: {
            // setns -> socket -> setns back
            Netlink.open({ netns: node.path }).close();
            break;
          }
          case 1:
            // setns -> open -> setns back
            expect(sysctl.read(node.path, 'net/ipv4/ip_forward')).toBe('0');
            break;
          case 2:
            await (i % 12 === 2 ? nl.links.setUp(bridge) : nl.links.setDown(bridge));
            break;
          case 3:
            await nl.addresses.add(bridge, '10.244.0.1/24');
            break;
          case 4:
            expect((await nl.addresses.list({ dev: bridge, family: 4 })).length).toBe(1);
            break;
          case 5:
            await nl.addresses.delete(bridge, '10.244.0.1/24');
            break;
        }
        ops++;
        // Let the event loop hand fs/dns results back, so both kinds of work stay interleaved.
        if (ops % 4 === 0) await new Promise((resolve) => setImmediate(resolve));
        if (ops % 100 === 0) {
          for (const [tid, ns] of threadNetns()) if (ns !== home) strays.push(`${tid}@${ops}: ${ns}`);
          expect(readlinkSync('/proc/thread-self/ns/net')).toBe(home);
        }
      }
    } finally {
      stop = true;
      await background;
      nl.close();
    }

    const after = threadNetns();
    expect(strays).toEqual([]);
    expect(readlinkSync('/proc/thread-self/ns/net')).toBe(home);
    expect([...after.values()].every((ns) => ns === home)).toBe(true);
    // The threadpool did run beside the netlink work (4 libuv workers at least).
    expect(fsOps).toBeGreaterThan(500);
    expect(dnsOps).toBeGreaterThan(250);
    expect(after.size).toBeGreaterThanOrEqual(5); // main + 4 libuv workers at least
    // And the work did land in the node netns, not here.
    expect((await node.ipJson<{ ifname: string }[]>('link', 'show')).map((l) => l.ifname)).toEqual([
      'lo',
      bridge,
    ]);
    console.log(
      `netns safety: ${ops} namespace-bound ops, ${fsOps} fs and ${dnsOps} dns.lookup ops, ${after.size} threads all in ${home}`,
    );
  });
});
