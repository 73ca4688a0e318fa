import { describe, expect, it } from 'vitest';
import { bridgeNetfilterProblem, removePolicyTable, spawnNftVia } from './policy-nft.js';
import { isAgentError } from './errors.js';

describe('policy table helpers', () => {
  it('removes the table in one transaction that is no error when it is absent', async () => {
    const calls: [readonly string[], string | undefined][] = [];
    await removePolicyTable(async (args, stdin) => void calls.push([args, stdin]));
    expect(calls).toEqual([[['-f', '-'], 'table inet minicni-policy\ndelete table inet minicni-policy\n']]);
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
