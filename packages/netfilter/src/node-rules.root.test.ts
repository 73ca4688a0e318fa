import { describe, expect, it } from 'vitest';
import { nodeNetns, type TestNetns } from '@minicni/testkit';
import { chainNames, ensureNodeRules, removeNodeRules } from './node-rules.js';
import type { RulesExec } from './rules-exec.js';

const inNode =
  (node: TestNetns): RulesExec =>
  async (file, args, stdin) => {
    const r = await node.exec(file, args, stdin === undefined ? {} : { stdin });
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  };

describe('node rules (in a throwaway node netns)', () => {
  it('installs once, is idempotent, survives a DROP policy, and uninstalls', async () => {
    await using node = await nodeNetns();
    await node.run('iptables', ['-P', 'FORWARD', 'DROP']);
    await node.run('iptables', ['-A', 'FORWARD', '-j', 'DROP']);
    const spec = { network: 'mct-net', podCidrs: ['10.244.7.0/24', 'fd00:7::/64'], masquerade: true };
    const exec = inNode(node);
    expect(await ensureNodeRules(spec, exec)).toBe(4); // save+restore per family
    expect(await ensureNodeRules(spec, exec)).toBe(2); // only the saves: nothing to change
    const { forward, nat } = chainNames('mct-net');
    const v4 = await node.run('iptables-save');
    expect(v4.split('\n').find((l) => l.startsWith('-A FORWARD'))).toContain(`-j ${forward}`);
    expect(v4).toContain(`-A ${forward} -s 10.244.7.0/24 -j ACCEPT`);
    expect(v4).toContain(`-A ${nat} -j MASQUERADE`);
    const v6 = await node.run('ip6tables-save');
    expect(v6).toContain(`-A ${forward} -s fd00:7::/64 -j ACCEPT`);
    // Someone deletes our jump: the next ensure repairs it.
    await node.run('iptables', ['-D', 'FORWARD', '1']);
    expect(await ensureNodeRules(spec, exec)).toBe(3);
    expect((await node.run('iptables-save')).match(new RegExp(`-j ${forward}`, 'g'))).toHaveLength(1);
    await removeNodeRules(exec);
    expect(await node.run('iptables-save')).not.toContain('MINICNI');
    expect(await node.run('ip6tables-save')).not.toContain('MINICNI');
  });
});
