import { describe, expect, it } from 'vitest';
import { bridgeNetfilterProblem, readPolicyDrops, removePolicyTable, spawnNftVia } from './policy-nft.js';
import { AgentError, isAgentError } from './errors.js';

describe('policy table helpers', () => {
  it('removes the table in one transaction that is no error when it is absent', async () => {
    const calls: [readonly string[], string | undefined][] = [];
    await removePolicyTable(async (args, stdin) => void calls.push([args, stdin]));
    expect(calls).toEqual([[['-f', '-'], 'table inet minicni-policy\ndelete table inet minicni-policy\n']]);
  });

  it('reads the drop counters from nft -j, undefined without a table, POLICY on anything else', async () => {
    // What nft 1.0.6 prints for a compiled ruleset's table.
    const json =
      '{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, ' +
      '{"counter": {"family": "inet", "name": "ingress-drops", "table": "minicni-policy", "handle": 2, "packets": 4, "bytes": 240}}, ' +
      '{"counter": {"family": "inet", "name": "egress-drops", "table": "minicni-policy", "handle": 3, "packets": 3, "bytes": 180}}]}\n';
    const calls: (readonly string[])[] = [];
    expect(await readPolicyDrops(async (args) => (calls.push(args), json))).toEqual({
      ingress: { packets: 4, bytes: 240 },
      egress: { packets: 3, bytes: 180 },
    });
    expect(calls).toEqual([['-j', 'list', 'counters', 'table', 'inet', 'minicni-policy']]);
    const absent = async (): Promise<string> => {
      throw new AgentError(
        'POLICY',
        'nft -j list counters table inet minicni-policy failed (1): Error: No such file or directory',
      );
    };
    expect(await readPolicyDrops(absent)).toBeUndefined();
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: unknown) => (isAgentError(e) ? `${e.code}: ${e.message}` : String(e)),
      );
    expect(await codeOf(readPolicyDrops(async () => 'garbage'))).toMatch(/^POLICY: .*not JSON/);
    expect(await codeOf(readPolicyDrops(async () => undefined))).toMatch(/^POLICY: .*printed nothing/);
    expect(await codeOf(readPolicyDrops(async () => '{"nftables": []}'))).toMatch(
      /^POLICY: .*no counter ingress-drops/,
    );
    const denied = async (): Promise<string> => {
      throw new AgentError('POLICY', 'nft failed (1): Error: Operation not permitted');
    };
    expect(await codeOf(readPolicyDrops(denied))).toMatch(/Operation not permitted/);
  });

  it('reports a failing or missing nft as POLICY with its stderr, not a stack', async () => {
    // `sh -c` stands in for nft behind the prefix: it reads the text and fails as nft would.
    const e = await spawnNftVia(
      ['sh', '-c', 'cat >/dev/null; echo "Error: syntax error" >&2; exit 1', '--'],
      ['-f', '-'],
      'bogus',
    ).catch((x: unknown) => x);
    expect(isAgentError(e, 'POLICY')).toBe(true);
    expect((e as Error).message).toMatch(/^nft -f - failed \(1\): Error: syntax error$/);
    const missing = await spawnNftVia(['/nonexistent/nsenter'], ['list', 'tables']).catch((x: unknown) => x);
    expect(isAgentError(missing, 'POLICY')).toBe(true);
    expect((missing as Error).message).toMatch(/^cannot run nft: .*ENOENT/);
  });

  it('says when bridged pod traffic would bypass the table', () => {
    const sysctls = (v4: string, v6: string) => (p: string) => (p.endsWith('ip6tables') ? v6 : v4);
    expect(bridgeNetfilterProblem(sysctls('1\n', '1\n'))).toBeUndefined();
    expect(bridgeNetfilterProblem(sysctls('1\n', '0\n'))).toBe(
      'net.bridge.bridge-nf-call-ip6tables not 1: traffic between pods on one bridge is not policed for that family',
    );
    expect(
      bridgeNetfilterProblem(() => {
        throw new Error('ENOENT');
      }),
    ).toMatch(/^br_netfilter is not loaded/);
  });
});
