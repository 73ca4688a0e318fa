import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AttachmentContext, GcContext } from '@minicni/spec';
import { asCniError, CHECK_MISMATCH } from './errors.js';
import { gcPodIpam, openPodIpam } from './pod-ipam.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kit-ipam-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const choice = () =>
  ({
    kind: 'builtin',
    section: {
      dataDir: dir,
      ranges: [[{ subnet: '10.244.9.0/24' }], [{ subnet: 'fd00:9::/64' }]],
      routes: [{ dst: '0.0.0.0/0' }],
    },
  }) as const;

function ctx(containerId: string): AttachmentContext {
  return {
    command: 'ADD',
    containerId,
    ifname: 'eth0',
    netns: '/var/run/netns/x',
    config: { cniVersion: '1.1.0', name: 'kitnet', type: 'x' },
    env: {},
  } as unknown as AttachmentContext;
}

describe('openPodIpam, built in', () => {
  it('reserves fresh, returns the same addresses held (not fresh), releases idempotently', async () => {
    await using ipam = await openPodIpam(choice(), ctx('c1'));
    const first = await ipam.allocate();
    expect(first).toEqual({
      ips: [
        { address: '10.244.9.2/24', ip: '10.244.9.2', gateway: '10.244.9.1', family: 4 },
        { address: 'fd00:9::2/64', ip: 'fd00:9::2', gateway: 'fd00:9::1', family: 6 },
      ],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: {},
      fresh: true,
    });
    expect(await ipam.allocate()).toEqual({ ...first, fresh: false });
    await ipam.release();
    await ipam.release();
    expect((await ipam.allocate()).fresh).toBe(true);
  });

  it('CHECK passes on the held addresses (CIDR of any prefix or bare) and fails as a CHECK mismatch otherwise', async () => {
    await using ipam = await openPodIpam(choice(), ctx('c2'));
    await ipam.allocate();
    await ipam.check(['10.244.9.2/32', 'fd00:9:0::2']);
    const err = await ipam.check(['10.244.9.7/24']).catch((e: unknown) => e);
    expect(asCniError(err)).toMatchObject({
      code: CHECK_MISMATCH,
      message: expect.stringMatching(
        /holds 10\.244\.9\.2, fd00:9::2 for c2\/eth0, prevResult says 10\.244\.9\.7/,
      ),
    });
  });

  it('GC releases every owner not in the valid attachments', async () => {
    for (const id of ['keep', 'drop']) {
      await using ipam = await openPodIpam(choice(), ctx(id));
      await ipam.allocate();
    }
    const gc = {
      config: { cniVersion: '1.1.0', name: 'kitnet', type: 'x' },
      validAttachments: [{ containerID: 'keep', ifname: 'eth0' }],
    } as unknown as GcContext;
    expect((await gcPodIpam(choice(), gc)).sort()).toEqual(['10.244.9.3', 'fd00:9::3']);
    await using kept = await openPodIpam(choice(), ctx('keep'));
    expect((await kept.allocate()).fresh).toBe(false);
  });
});
