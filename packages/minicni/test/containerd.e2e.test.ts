import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeNetns } from '@minicni/testkit';
import { portmapPlugin } from '@minicni/testkit/conflists';
import { containerdFixture } from '@minicni/testkit/containerd';
import { expectReadySandboxes, expectSandboxesGone } from '@minicni/testkit/cri-checks';
import { writeMinicniNetwork } from './e2e-networks.js';
import { REFERENCE_PLUGINS, hostVeths, installMinicni, nodeRules, reservations } from './e2e-plugin.js';

// containerd's CRI, driven the way kubelet drives it, with [minicni, portmap] as its network.
// Twice: with the built executable as `minicni`, and with the fast path as deploy/minicni.yaml
// installs it (minicni-shim as `minicni`, forwarding to `minicni serve` in the node netns; the
// fallback pointed at /bin/false so every call must have been served). And a third time as a
// node without the agent: the shim starts the on-demand server at the first call (30 sandboxes
// at once: one server), which serves the rest.

const SANDBOXES = Number(process.env.MINICNI_E2E_SANDBOXES ?? 30);

describe('containerd CRI with minicni', () => {
  it.each(['standalone', 'shim', 'ondemand'] as const)(
    `%s: ${SANDBOXES} pod sandboxes in parallel report the IPs on their eth0 and in the store; stop + remove leaves nothing`,
    async (how) => {
      const work = mkdtempSync(join(tmpdir(), 'mct-minicni-containerd-'));
      try {
        const { network, dataDir, confDir, prefix } = writeMinicniNetwork(work, {
          file: '10-minicni.conflist',
          chained: [portmapPlugin()],
        });
        let netnsPaths: string[] = [];
        await using node = await nodeNetns();
        await using install = await installMinicni(how, node, work);
        const served = install.served;
        {
          await using ctd = await containerdFixture({
            node,
            cniBinDir: [install.binDir, REFERENCE_PLUGINS],
            cniConfDir: confDir,
            env: install.env,
          });

          const { ids, ms: runMs } = await ctd.runPodSandboxes(SANDBOXES, { hostPort: 18082 });
          const pods = await expectReadySandboxes(ctd, node, ids, prefix);
          const { ips } = pods;
          netnsPaths = pods.netnsPaths;
          expect(reservations(dataDir, network)).toEqual([...ips].sort());
          expect(await hostVeths(node)).toHaveLength(SANDBOXES);
          const ping = await node.exec('ping', ['-c', '1', '-W', '2', ips[SANDBOXES - 1] ?? '']);
          expect(ping.code, ping.stdout + ping.stderr).toBe(0);
          const rules = await nodeRules(node);
          // One chain per job for the network, whatever the number of pods; portmap only for pod-0.
          expect(rules.split('\n').filter((l) => l.startsWith(':MINICNI-'))).toHaveLength(2);
          expect(rules).toContain(`--to-destination ${ips[0]}:80`);
          expect(rules).not.toContain(`--to-destination ${ips[1]}:80`);

          const removeMs = await ctd.removePodSandboxes(ids);
          await expectSandboxesGone(ctd, node, pods);
          expect(reservations(dataDir, network)).toEqual([]);
          expect(await hostVeths(node)).toEqual([]);
          if (served) expect(served.child.exitCode).toBeNull();
          if (install.onDemand) {
            // One server for every call, started once, still running (the idle time is 60 s).
            const log = readFileSync(install.onDemand.logFile, 'utf8');
            expect(log.match(/listening on/g), log).toHaveLength(1);
            const pid = Number(readFileSync(install.onDemand.pidFile, 'utf8'));
            expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain(install.onDemand.socket);
          }
          console.log(
            `minicni containerd (${how}): start ${ctd.startMs} ms, pause import ${ctd.importMs} ms, ` +
              `${SANDBOXES} sandboxes run in parallel in ${runMs} ms, stopped+removed in ${removeMs} ms`,
          );
        }
        expect(reservations(dataDir, network)).toEqual([]);
        expect(await hostVeths(node)).toEqual([]);
        for (const path of netnsPaths) expect(existsSync(path), path).toBe(false);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
  );
});
