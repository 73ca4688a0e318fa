import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ownerVethName } from '@minicni/netlink';
import { classifyHostLinks, isOurLinkName, linkKey, type HostLink } from '@minicni/testkit/leaks';
import { PLUGIN_VETH_PREFIXES, pluginVethPatterns } from './host-veth-patterns.js';

const ROOT = join(import.meta.dirname, '..');
const patterns = pluginVethPatterns();
const mc = ownerVethName('mc', 'c0ffee', 'eth0');
const ptp = ownerVethName('ptp', 'c0ffee', 'eth0');

describe('leak check: which links are ours', () => {
  it("matches every plugin's host veths, test-prefixed names and the plugin/agent devices", () => {
    for (const name of [mc, ptp, 'mctbr1a2b3c', 'minicni0', 'minicni.1']) {
      expect(isOurLinkName(name, patterns), name).toBe(true);
    }
  });

  it("leaves everyone else's names alone", () => {
    for (const name of [
      'eth0',
      'lo',
      'cni0',
      'docker0',
      'veth1a2b3c4d',
      'mc0123456789a',
      'mcx0123456789ab',
      mc.toUpperCase(),
    ]) {
      expect(isOurLinkName(name, patterns), name).toBe(false);
    }
  });

  it('names a pattern for each plugin prefix that the plugins give ownerVethName/ownerVethPattern or the kit hostVethNaming', () => {
    const used = new Set<string>();
    for (const top of ['packages', 'examples']) {
      for (const pkg of readdirSync(join(ROOT, top))) {
        for (const file of sourceFiles(join(ROOT, top, pkg, 'src'))) {
          for (const m of readFileSync(file, 'utf8').matchAll(
            /(?:ownerVeth(?:Name|Pattern)|hostVethNaming)\(\s*'([a-z]{1,3})'/g,
          )) {
            used.add(m[1]!);
          }
        }
      }
    }
    expect(used.size).toBeGreaterThanOrEqual(2);
    for (const prefix of used) expect(Object.values(PLUGIN_VETH_PREFIXES)).toContain(prefix);
  });
});

describe('leak check: whose links they are', () => {
  const bridge: HostLink = { name: 'minicni0', ifindex: 3, kind: 'bridge' };
  const podOfTheNode: HostLink = {
    name: ownerVethName('mc', 'realpod', 'eth0'),
    ifindex: 4,
    kind: 'veth',
    peerNetns: 'cni-1234',
  };
  const scope = {
    netns: new Set(['mctnode1a2b3c', 'mctpod4d5e6f']),
    names: new Set(['mctbr7a8b9c']),
    vethPatterns: patterns,
    baseline: new Set([bridge, podOfTheNode].map(linkKey)),
  };

  it('never judges what was there before the run (a node really running minicni)', () => {
    expect(classifyHostLinks([bridge, podOfTheNode], scope)).toEqual({ ours: [], unproven: [] });
  });

  it('proves a link ours by a name this run gave out or a veth peer in one of its netns', () => {
    const links: HostLink[] = [
      { name: 'mctbr7a8b9c', ifindex: 10, kind: 'bridge' },
      { name: ptp, ifindex: 11, kind: 'veth', peerNetns: 'mctpod4d5e6f' },
      { name: 'mctveth00', ifindex: 12, kind: 'veth', peerNetns: 'mctnode1a2b3c' },
    ];
    expect(classifyHostLinks(links, scope)).toEqual({
      ours: ['mctbr7a8b9c', ptp, 'mctveth00'],
      unproven: [],
    });
  });

  it("leaves another run's test links to that run", () => {
    const links: HostLink[] = [
      { name: 'mctbrffffff', ifindex: 20, kind: 'bridge' },
      { name: mc, ifindex: 21, kind: 'veth', peerNetns: 'mctpodffffff' },
    ];
    expect(classifyHostLinks(links, scope)).toEqual({ ours: [], unproven: [] });
  });

  it('reports, as unproven, links of ours by name that appeared without proof of this run', () => {
    const links: HostLink[] = [
      { name: 'minicni0', ifindex: 30, kind: 'bridge' }, // same name, a new device
      { name: mc, ifindex: 31, kind: 'veth', peerNetns: 'cni-5678' },
      { name: mc.replace('mc', 'zz'), ifindex: 32, kind: 'veth' },
    ];
    expect(classifyHostLinks(links, scope)).toEqual({ ours: [], unproven: ['minicni0', mc] });
  });
});

function sourceFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name));
}
