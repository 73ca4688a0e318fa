import { nodeNetns } from '@minicni/testkit';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { align4 } from '../src/codec/attributes.js';
import { NLM_F_DUMP_INTR } from '../src/codec/constants.js';
import { Netlink, nativeAddon, type NativeAddon } from '../src/index.js';

/** Counts datagrams in which the kernel flagged a dump as interrupted. */
function countingAddon(): { addon: NativeAddon; interrupted: () => number } {
  const real = nativeAddon();
  let interrupted = 0;
  const count = (d: Buffer): Buffer => {
    for (let at = 0; at + 16 <= d.length;) {
      const len = d.readUInt32LE(at);
      if (d.readUInt16LE(at + 6) & NLM_F_DUMP_INTR) {
        interrupted++;
        break;
      }
      if (len < 16) break;
      at += align4(len);
    }
    return d;
  };
  const addon: NativeAddon = {
    ...real,
    recv: async (fd) => count(await real.recv(fd)),
    exchange: async (fd, bytes) => count(await real.exchange!(fd, bytes)),
  };
  return { addon, interrupted: () => interrupted };
}

describe('dumps while another process changes the tables', () => {
  it('restarts interrupted dumps (NLM_F_DUMP_INTR) and returns complete results', async () => {
    await using node = await nodeNetns();
    const setup = [];
    for (let i = 0; i < 400; i++) {
      setup.push(`link add mctd${i} up type bridge`, `addr add 10.244.${i >> 8}.${i & 255}/32 dev mctd${i}`);
    }
    await node.run('ip', ['-batch', '-'], { stdin: `${setup.join('\n')}\n` });

    // Another process adds and deletes one address as fast as it can.
    const churn = Array.from({ length: 200_000 }, (_, i) =>
      i % 2 ? 'addr del 10.246.0.1/32 dev mctd0' : 'addr add 10.246.0.1/32 dev mctd0',
    );
    const child = spawn('nsenter', [`--net=${node.path}`, 'ip', '-force', '-batch', '-'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(`${churn.join('\n')}\n`);

    const { addon, interrupted } = countingAddon();
    using nl = Netlink.open({ netns: node.path, addon });
    let runs = 0;
    const incomplete: number[] = [];
    try {
      const start = Date.now();
      while (interrupted() < 2 && Date.now() - start < 20_000) {
        const stable = (await nl.addresses.list({ family: 4 })).filter((a) =>
          a.address.startsWith('10.244.'),
        );
        if (stable.length !== 400) incomplete.push(stable.length);
        runs++;
      }
    } finally {
      child.kill();
    }
    // The kernel did interrupt dumps, and every result handed back was whole.
    expect(interrupted()).toBeGreaterThanOrEqual(1);
    expect(incomplete).toEqual([]);
    expect(runs).toBeGreaterThan(0);
  });
});
