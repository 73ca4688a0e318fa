import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chainNames, nodeEnv } from 'minicni';
import { nodeNetns } from '@minicni/testkit';
import { RulesRepair, rulesFromConflist } from './rules-repair.js';

const conflist = {
  cniVersion: '1.0.0',
  name: 'mct-repair',
  plugins: [{ type: 'minicni', bridge: 'minicni0', subnet: '10.244.60.0/24', clusterCIDR: '10.244.0.0/16' }],
};

describe('node rules repair (in a throwaway node netns)', () => {
  it('reads the minicni entry of the conflist', () => {
    expect(rulesFromConflist(JSON.stringify(conflist))).toEqual({
      network: 'mct-repair',
      podCidrs: ['10.244.60.0/24'],
      noMasqCidrs: ['10.244.0.0/16'],
      masquerade: true,
    });
    expect(rulesFromConflist(JSON.stringify({ ...conflist, plugins: [{ type: 'bridge' }] }))).toBeUndefined();
  });

  it('puts back rules that were flushed', async () => {
    await using node = await nodeNetns();
    const dir = mkdtempSync(join(tmpdir(), 'minicni-repair-'));
    try {
      const confPath = join(dir, '10-minicni.conflist');
      writeFileSync(confPath, JSON.stringify(conflist));
      const repair = new RulesRepair({
        confPath,
        exec: nodeEnv({ netns: node.path }).rulesExec,
        logger: () => {},
      });
      const { forward, nat } = chainNames('mct-repair');
      await repair.repairOnce();
      expect(await node.run('iptables-save')).toContain(
        `-A FORWARD -m comment --comment "minicni mct-repair" -j ${forward}`,
      );
      await node.run('iptables', ['-F', 'FORWARD']);
      await node.run('iptables', ['-t', 'nat', '-F', nat]);
      await repair.repairOnce();
      const after = await node.run('iptables-save');
      expect(after).toContain(`-j ${forward}`);
      expect(after).toContain(`-A ${nat} -d 10.244.0.0/16 -j RETURN`);
      expect(after).toContain(`-A ${nat} -j MASQUERADE`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
