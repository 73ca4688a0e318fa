import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeNetns, testName } from '@minicni/testkit';
import { containerdFixture } from '@minicni/testkit/containerd';
import { sandboxIps, sandboxNetnsPath } from '@minicni/testkit/cri-client';
import {
  REFERENCE_PLUGINS,
  agentSocket,
  hostVeths,
  installMinicni,
  nodeRules,
  reservations,
} from './e2e-plugin.js';

// containerd's CRI, driven the way kubelet drives it, with [minicni, portmap] as its network.
// Twice: with the built executable as `minicni`, and with the fast path as deploy/minicni.yaml
// installs it (minicni-shim as `minicni`, forwarding to `minicni serve` in the node netns; the
// fallback pointed at /bin/false so every call must have been served).

const SANDBOXES = Number(process.env.MINICNI_E2E_SANDBOXES ?? 30);

describe('containerd CRI with minicni', () => {
  it.each(['standalone', 'shim'] as const)(
    `%s: ${SANDBOXES} pod sandboxes in parallel report the IPs on their eth0 and in the store; stop + remove leaves nothing`,
    async (how) => {
      const work = mkdtempSync(join(tmpdir(), 'mct-minicni-containerd-'));
      try {
        const third = randomInt(1, 250);
        const network = testName('net');
        const dataDir = join(work, 'data');
        const confDir = join(work, 'net.d');
        mkdirSync(confDir);
        writeFileSync(
          join(confDir, '10-minicni.conflist'),
          JSON.stringify({
            cniVersion: '1.0.0',
            name: network,
            plugins: [
              {
                type: 'minicni',
                bridge: testName('br'),
                subnet: `10.244.${third}.0/24`,
                dataDir,
                agentSocket: agentSocket(work),
              },
              { type: 'portmap', capabilities: { portMappings: true } },
            ],
          }),
        );
        const netnsPaths: string[] = [];
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

          const t0 = Date.now();
          const ids = await Promise.all(
            Array.from({ length: SANDBOXES }, (_, i) =>
              ctd.cri.runPodSandbox(
                ctd.sandboxConfig(`pod-${i}`, {
                  portMappings: i === 0 ? [{ protocol: 'TCP', containerPort: 80, hostPort: 18082 }] : [],
                }),
              ),
            ),
          );
          const runMs = Date.now() - t0;
          expect(new Set(ids).size).toBe(SANDBOXES);

          const statuses = await Promise.all(ids.map((id) => ctd.cri.podSandboxStatus(id, true)));
          const ips: string[] = [];
          for (const res of statuses) {
            expect(res.status?.state).toBe('SANDBOX_READY');
            const [ip, ...more] = sandboxIps(res.status);
            expect(more).toEqual([]);
            expect(ip).toMatch(new RegExp(`^10\\.244\\.${third}\\.\\d+$`));
            ips.push(ip ?? '');
            const path = sandboxNetnsPath(res) ?? '';
            expect(path).toMatch(/^(\/var)?\/run\/netns\/cni-/);
            netnsPaths.push(path);
            // The reported IP is the one on eth0 inside that sandbox's netns.
            const inside = await node.exec('nsenter', [
              `--net=${path}`,
              'ip',
              '-4',
              '-o',
              'addr',
              'show',
              'eth0',
            ]);
            expect(inside.stdout, inside.stderr).toContain(`${ip}/24`);
          }
          expect(new Set(ips).size).toBe(SANDBOXES);
          expect(reservations(dataDir, network)).toEqual([...ips].sort());
          expect(await hostVeths(node)).toHaveLength(SANDBOXES);
          const ping = await node.exec('ping', ['-c', '1', '-W', '2', ips[SANDBOXES - 1] ?? '']);
          expect(ping.code, ping.stdout + ping.stderr).toBe(0);
          const rules = await nodeRules(node);
          // One chain per job for the network, whatever the number of pods; portmap only for pod-0.
          expect(rules.split('\n').filter((l) => l.startsWith(':MINICNI-'))).toHaveLength(2);
          expect(rules).toContain(`--to-destination ${ips[0]}:80`);
          expect(rules).not.toContain(`--to-destination ${ips[1]}:80`);

          const t1 = Date.now();
          await Promise.all(
            ids.map(async (id) => {
              await ctd.cri.stopPodSandbox(id);
              await ctd.cri.removePodSandbox(id);
            }),
          );
          const removeMs = Date.now() - t1;
          expect(await ctd.cri.listPodSandbox()).toEqual([]);
          expect(reservations(dataDir, network)).toEqual([]);
          expect(await hostVeths(node)).toEqual([]);
          expect(await node.ipJson<unknown[]>('link', 'show', 'type', 'veth')).toEqual([]);
          expect(await node.run('iptables-save', ['-t', 'nat'])).not.toContain(`${ips[0]}:80`);
          for (const path of netnsPaths) expect(existsSync(path), path).toBe(false);
          if (served) expect(served.child.exitCode).toBeNull();
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
