import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileNodeSource, parseNodesFile } from './file-node-source.js';
import type { NodeInfo } from './node-info.js';

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const doc = (nodes: unknown[]) => JSON.stringify({ nodes });

describe('parseNodesFile', () => {
  it('accepts {"nodes": [...]} and a bare list, canonicalising addresses', () => {
    const a = parseNodesFile(
      doc([{ name: 'a', internalIPs: ['fd00:0::1'], podCIDRs: ['fd00:10:244:1:0::/64'] }]),
    );
    expect(a.get('a')).toEqual({ name: 'a', internalIPs: ['fd00::1'], podCIDRs: ['fd00:10:244:1::/64'] });
    const b = parseNodesFile(
      JSON.stringify([{ name: 'b', internalIPs: ['192.168.50.2'], podCIDRs: ['10.244.2.0/24'] }]),
    );
    expect([...b.keys()]).toEqual(['b']);
  });

  it('rejects bad files with INVALID_NODES_FILE and a message naming the problem', () => {
    const bad = (text: string, re: RegExp) =>
      expect(() => parseNodesFile(text)).toThrow(
        expect.objectContaining({ code: 'INVALID_NODES_FILE', message: expect.stringMatching(re) }),
      );
    bad('{', /not JSON/);
    bad('{"nodes": 3}', /must be/);
    bad(doc([{ internalIPs: [] }]), /name/);
    bad(doc([{ name: 'a', podCIDRs: ['10.244.1.1/24'] }]), /host bits.*10\.244\.1\.0\/24/);
    bad(doc([{ name: 'a', internalIPs: ['300.1.1.1'] }]), /not an IP/);
    bad(doc([{ name: 'a' }, { name: 'a' }]), /twice/);
    bad(
      doc([{ name: 'a', podCIDRs: ['10.244.1.0/24', '10.244.2.0/24'] }]),
      /one pod CIDR per address family/,
    );
  });
});

describe('FileNodeSource', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
  });

  it('emits the file, follows in-place writes and rename-replacements, and keeps the last good set on a bad write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-nodes-'));
    const path = join(dir, 'nodes.json');
    writeFileSync(path, doc([{ name: 'a', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'] }]));
    const warnings: string[] = [];
    const source = new FileNodeSource(path, { pollMs: 10_000, logger: (_l, m) => warnings.push(m) });
    let latest: ReadonlyMap<string, NodeInfo> = new Map();
    let updates = 0;
    source.start((n) => {
      latest = n;
      updates++;
    });
    stops.push(() => source.stop());
    await until(() => latest.has('a'), 'first read');
    const t0 = Date.now();
    writeFileSync(
      path,
      doc([
        { name: 'a', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'] },
        { name: 'b', internalIPs: ['192.168.50.2'], podCIDRs: ['10.244.2.0/24'] },
      ]),
    );
    await until(() => latest.has('b'), 'in-place write (inotify, not the 10 s poll)', 2000);
    expect(Date.now() - t0).toBeLessThan(1000);
    writeFileSync(
      join(dir, 'tmp'),
      doc([{ name: 'c', internalIPs: ['192.168.50.3'], podCIDRs: ['10.244.3.0/24'] }]),
    );
    renameSync(join(dir, 'tmp'), path);
    await until(() => latest.has('c') && !latest.has('a'), 'rename replacement');
    const before = updates;
    writeFileSync(path, '{"nodes": [');
    await until(() => warnings.some((w) => /invalid nodes file/.test(w)), 'a warning');
    expect(updates).toBe(before);
    expect(latest.has('c')).toBe(true);
  });
});
