import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bridgeNetfilterProblem,
  NftSession,
  oneLine,
  readPolicyDrops,
  removePolicyTable,
  spawnNftVia,
} from './policy-nft.js';
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

/**
 * A stand-in for nft behind the session's prefix (`sh -c SCRIPT -- nft ...`): as `nft -i` it
 * logs each line to LOG, answers `describe tcp dport` as nft does, prints an error for a line
 * with "bogus" and exits on a line with "die"; as `nft -f -` it logs "spawned" and the text.
 */
function fakeNft(log: string): string[] {
  const script = `
if [ "$2" = "-i" ]; then
  while IFS= read -r line; do
    echo "$line" >> ${log}
    case "$line" in
      "describe tcp dport") echo "payload expression, datatype inet_service (internet network service) (basetype integer), 16 bits";;
      *bogus*) echo "Error: syntax error, unexpected bogus" >&2;;
      *die*) exit 3;;
    esac
  done
else
  echo spawned >> ${log}; cat >> ${log}
fi`;
  return ['sh', '-c', script, '--'];
}

describe('NftSession', () => {
  it('joins a transaction into one line', () => {
    expect(
      oneLine(
        '# delta\ntable inet t {\n  chain c {\n    drop\n  }\n}\nadd element inet t m { 1.2.3.4 : jump c }\n',
      ),
    ).toBe('table inet t { chain c { drop ; } ; } ; add element inet t m { 1.2.3.4 : jump c }');
    expect(oneLine('# nothing\n\n')).toBe('');
  });

  it('sends each transaction as one line to one nft -i, reports its errors, and starts again after it died', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nft-session-'));
    const log = join(dir, 'log');
    const session = new NftSession(fakeNft(log));
    try {
      await session.run(['-f', '-'], 'add element inet t s { 1.2.3.4 }\n');
      await session.run(['-f', '-'], 'table inet t {\n  chain c {\n    drop\n  }\n}\n');
      const e = await session.run(['-f', '-'], 'bogus\n').catch((x: unknown) => x);
      expect(isAgentError(e, 'POLICY')).toBe(true);
      expect((e as Error).message).toBe('nft -f - failed: Error: syntax error, unexpected bogus');
      // The same process goes on after an error.
      await session.run(['-f', '-'], 'add element inet t s { 5.6.7.8 }\n');
      const died = await session.run(['-f', '-'], 'die\n').catch((x: unknown) => x);
      expect(isAgentError(died, 'POLICY')).toBe(true);
      expect((died as Error).message).toMatch(/^nft -i ended: exit 3/);
      await session.run(['-f', '-'], 'add element inet t s { 9.9.9.9 }\n');
      // Big texts and other commands are spawned.
      await session.run(['-f', '-'], `# ${'x'.repeat(70 * 1024)}\nadd table inet big\n`);
      expect(
        readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => !l.startsWith('#')),
      ).toEqual([
        'add element inet t s { 1.2.3.4 }',
        'describe tcp dport',
        'table inet t { chain c { drop ; } ; }',
        'describe tcp dport',
        'bogus',
        'describe tcp dport',
        'add element inet t s { 5.6.7.8 }',
        'describe tcp dport',
        'die',
        'add element inet t s { 9.9.9.9 }',
        'describe tcp dport',
        'spawned',
        'add table inet big',
        '',
      ]);
    } finally {
      await session.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('spawns every transaction once nft -i turned out not to work here', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nft-session-'));
    const log = join(dir, 'log');
    // An nft without its interactive CLI: -i fails at once; -f works.
    const script = `if [ "$2" = "-i" ]; then echo "Error: interactive CLI not supported in this build" >&2; exit 1; fi; cat >> ${log}`;
    const session = new NftSession(['sh', '-c', script, '--']);
    try {
      const first = await session.run(['-f', '-'], 'add table inet a\n').catch((x: unknown) => x);
      expect(isAgentError(first, 'POLICY')).toBe(true);
      expect((first as Error).message).toMatch(/^nft -i ended: exit 1: Error: interactive CLI not supported/);
      await session.run(['-f', '-'], 'add table inet b\n');
      await session.run(['-f', '-'], 'add table inet c\n');
      expect(readFileSync(log, 'utf8')).toBe('add table inet b\nadd table inet c\n');
    } finally {
      await session.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
