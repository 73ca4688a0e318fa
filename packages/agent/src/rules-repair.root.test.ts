import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chainNames, rulesRecordPath, spawnRulesExec, writeRulesRecord } from '@minicni/netfilter';
import { nodeNetns } from '@minicni/testkit';
import { RulesRepair } from './rules-repair.js';

const spec = {
  network: 'mct-repair',
  podCidrs: ['10.244.60.0/24'],
  noMasqCidrs: ['10.244.0.0/16'],
  masquerade: true,
};

describe('node rules repair (in a throwaway node netns)', () => {
  it('puts back the rules the plugin recorded for this node netns, and only those', async () => {
    await using node = await nodeNetns();
    await using other = await nodeNetns();
    const dir = mkdtempSync(join(tmpdir(), 'minicni-repair-'));
    try {
      const logs: string[] = [];
      const repair = new RulesRepair({
        dir,
        netns: node.path,
        exec: spawnRulesExec(node.path),
        logger: (_level, msg) => logs.push(msg),
      });
      // Before any ADD recorded rules there is nothing to repair.
      expect(await repair.repairOnce()).toEqual([]);
      writeRulesRecord(rulesRecordPath(dir, node.inode, 'bridge-a'), spec);
      // Another node's record, and an old-style empty stamp, are not this node's business.
      writeRulesRecord(rulesRecordPath(dir, other.inode, 'bridge-b'), { ...spec, network: 'mct-elsewhere' });
      writeFileSync(rulesRecordPath(dir, node.inode, 'old-stamp'), '');
      const { forward, nat } = chainNames('mct-repair');
      expect(await repair.repairOnce()).toEqual([spec]);
      expect(await node.run('iptables-save')).toContain(
        `-A FORWARD -m comment --comment "minicni mct-repair" -j ${forward}`,
      );
      expect(await node.run('iptables-save')).not.toContain('mct-elsewhere');
      await node.run('iptables', ['-F', 'FORWARD']);
      await node.run('iptables', ['-t', 'nat', '-F', nat]);
      await repair.repairOnce();
      const after = await node.run('iptables-save');
      expect(after).toContain(`-j ${forward}`);
      expect(after).toContain(`-A ${nat} -d 10.244.0.0/16 -j RETURN`);
      expect(after).toContain(`-A ${nat} -j MASQUERADE`);
      expect(logs).toContain('node rules repaired');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
