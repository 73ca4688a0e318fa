import { nodeNetns } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import { compileNodeRuleset, planNode } from '../src/index.js';
import { NODES } from './cluster-fixture.js';
import { NETPOL_CASES } from './netpol-cases.js';

interface NftObject {
  chain?: { name: string; hook?: string; prio?: number; policy?: string };
  set?: { name: string; type: string | string[]; elem?: unknown[] };
  map?: { name: string; elem?: unknown[] };
  rule?: { chain: string };
}

/**
 * The kernel accepts what the compiler writes: every upstream case's ruleset, for both nodes,
 * loads with `nft -f` into a fresh node netns (IPv4, IPv6, SCTP, intervals, concatenations,
 * verdict maps), and reading it back finds exactly the chains, sets and map entries compiled.
 * Loading again replaces the table whole: nothing of the previous ruleset is left.
 */
describe('nft accepts the compiled rulesets', () => {
  it('loads and reads back every case on both nodes, each load replacing the last', async () => {
    await using node = await nodeNetns();
    let loads = 0;
    for (const tc of NETPOL_CASES) {
      for (const n of NODES) {
        const text = compileNodeRuleset(tc.state, n.name);
        const plan = planNode(tc.state, n.name);
        const r = await node.exec('nft', ['-f', '-'], { stdin: text });
        expect(r.stderr, `${tc.name} on ${n.name}:\n${text}`).toBe('');
        expect(r.code).toBe(0);
        loads++;
        const listed = JSON.parse(
          await node.run('nft', ['-j', 'list', 'table', 'inet', 'minicni-policy']),
        ) as { nftables: NftObject[] };
        const objs = listed.nftables;
        const chains = objs.flatMap((o) => (o.chain ? [o.chain] : []));
        expect(chains.map((c) => c.name).sort()).toEqual(
          ['forward', ...plan.profiles.map((p) => p.name)].sort(),
        );
        expect(chains.find((c) => c.name === 'forward')).toMatchObject({
          hook: 'forward',
          prio: -10,
          policy: 'accept',
        });
        const maps = new Map(
          objs.flatMap((o) => (o.map ? [[o.map.name, o.map.elem?.length ?? 0] as const] : [])),
        );
        for (const dir of ['ingress', 'egress'] as const) {
          expect(maps.get(`${dir}4`), `${dir}4`).toBe(plan[dir][4].length);
          expect(maps.get(`${dir}6`), `${dir}6`).toBe(plan[dir][6].length);
        }
        // The kernel keeps each concatenated element as written (they are disjoint, none merged).
        for (const p of plan.profiles) {
          for (const f of [4, 6] as const) {
            const set = objs.find((o) => o.set?.name === `${p.name}-ap${f}`)?.set;
            expect(set?.elem?.length ?? 0, `${p.name}-ap${f}`).toBe(p.addrPorts[f].length);
          }
        }
        const ruleCount = objs.filter((o) => o.rule?.chain === 'forward').length;
        expect(ruleCount).toBe(13);
      }
    }
    expect(loads).toBe(NETPOL_CASES.length * NODES.length);
    const text = await node.run('nft', ['list', 'table', 'inet', 'minicni-policy']);
    expect(text).toContain('type filter hook forward priority filter - 10; policy accept;');
  });

  it('SCTP, IPv6 intervals and port ranges survive the round trip', async () => {
    await using node = await nodeNetns();
    const tc = NETPOL_CASES.find((c) => c.name === "'protocol: SCTP' is not TCP")!;
    await node.run('nft', ['-f', '-'], { stdin: compileNodeRuleset(tc.state, 'node-1') });
    const listed = await node.run('nft', ['list', 'table', 'inet', 'minicni-policy']);
    expect(listed).toMatch(/elements = \{ sctp \. 80 \}/);
    const except = NETPOL_CASES.find((c) => c.name === 'ipBlock except, egress (host bits set in the cidr)')!;
    await node.run('nft', ['-f', '-'], { stdin: compileNodeRuleset(except.state, 'node-1') });
    const again = await node.run('nft', ['list', 'table', 'inet', 'minicni-policy']);
    expect(again).toContain('fd00:244:1::-fd00:244:1::d');
    expect(again).toContain('fd00:244:1::f-fd00:244:1:0:ffff:ffff:ffff:ffff');
    expect(again).not.toContain('sctp . 80');
  });
});
