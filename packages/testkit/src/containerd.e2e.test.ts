import { describe, expect, it } from 'vitest';
import { randomInt } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REFERENCE_PLUGINS, portmapPlugin, referenceBridge, writeConflist } from './conflists.js';
import { containerdFixture } from './containerd.js';
import { expectReadySandboxes, expectSandboxesGone, type SandboxNetworks } from './cri-checks.js';
import { podSandboxConfig, sandboxNetnsPath } from './cri-client.js';
import { cgroupDirs } from './host-dirs.js';
import { mountsUnder, pidsMentioning } from './mounts.js';
import { testName } from './names.js';
import { nodeNetns } from './netns.js';
import { SYSTEM_PATH } from './runtime-env.js';

// The lead's minicni test runs 30; override to measure: MINICNI_E2E_SANDBOXES=30.
const SANDBOXES = Number(process.env.MINICNI_E2E_SANDBOXES ?? 5);

describe('containerd CRI fixture (reference plugins)', () => {
  it(`runs ${SANDBOXES} pod sandboxes in parallel, reports their IPs, then stops and removes them leaving nothing`, async () => {
    const work = mkdtempSync(join(tmpdir(), 'minicni-containerd-test-'));
    const third = randomInt(1, 250);
    const network = testName('net');
    const confDir = join(work, 'net.d');
    const dataDir = join(work, 'ipam');
    writeConflist(confDir, '10-ref.conflist', {
      cniVersion: '1.0.0',
      name: network,
      plugins: [
        referenceBridge({ subnet: `10.244.${third}.0/24`, dataDir, ipMasq: true, defaultRoute: true }),
        portmapPlugin(),
      ],
    });
    const reservations = () => readdirSync(join(dataDir, network)).filter((f) => f.startsWith('10.'));
    let fixtureDir = '';
    let privateCgroups: string[] = [];
    try {
      await using node = await nodeNetns();
      {
        await using ctd = await containerdFixture({
          node,
          cniBinDir: REFERENCE_PLUGINS,
          cniConfDir: confDir,
        });
        fixtureDir = ctd.dir;
        const version = await ctd.cri.version();
        expect(version.runtimeName).toBe('containerd');
        expect(version.runtimeApiVersion).toBe('v1');

        const { ids, ms: runMs } = await ctd.runPodSandboxes(SANDBOXES, { hostPort: 18081 });
        // The sandboxes live under the fixture's own cgroup parent, never a shared one.
        privateCgroups = cgroupDirs(ctd.cgroupParent).filter((d) => existsSync(d));
        expect(privateCgroups.length).toBeGreaterThan(0);

        const pods: SandboxNetworks = await expectReadySandboxes(ctd, node, ids, `10.244.${third}.`);
        const { ips } = pods;
        expect(reservations().sort()).toEqual([...ips].sort());
        expect(await node.ipJson<unknown[]>('link', 'show', 'type', 'veth')).toHaveLength(SANDBOXES);
        const ping = await node.exec('ping', ['-c', '1', '-W', '2', ips[1] ?? '']);
        expect(ping.code, ping.stdout + ping.stderr).toBe(0);
        // CRI passes portMappings to portmap only for the sandbox that asked for a hostPort.
        const nat = await node.run('iptables-save', ['-t', 'nat']);
        expect(nat).toContain(`--to-destination ${ips[0]}:80`);
        expect(nat).not.toContain(`--to-destination ${ips[1]}:80`);

        const removeMs = await ctd.removePodSandboxes(ids);
        await expectSandboxesGone(ctd, node, pods);
        expect(reservations()).toEqual([]);
        console.log(
          `containerd fixture: start ${ctd.startMs} ms, pause import ${ctd.importMs} ms, ` +
            `${SANDBOXES} sandboxes run in ${runMs} ms, stopped+removed in ${removeMs} ms`,
        );
      }
      expect(existsSync(fixtureDir)).toBe(false);
      expect(mountsUnder(fixtureDir)).toEqual([]);
      expect(pidsMentioning(fixtureDir)).toEqual([]);
      expect(privateCgroups.filter((d) => existsSync(d))).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('disposes a containerd with live sandboxes: CNI DEL runs, daemon and shims are gone', async () => {
    const work = mkdtempSync(join(tmpdir(), 'minicni-containerd-test-'));
    const network = testName('net');
    const confDir = join(work, 'net.d');
    const dataDir = join(work, 'ipam');
    // A bin dir listed first wins over the reference dir: a wrapper records each call's verb.
    const wrapperDir = join(work, 'bin');
    const calls = join(work, 'calls');
    mkdirSync(wrapperDir);
    writeFileSync(
      join(wrapperDir, 'bridge'),
      `#!/bin/sh\necho "$CNI_COMMAND" >> ${calls}\nenv > ${calls}.env\nexec ${REFERENCE_PLUGINS}/bridge\n`,
      { mode: 0o755 },
    );
    writeConflist(confDir, '10-ref.conflist', {
      cniVersion: '1.0.0',
      name: network,
      plugins: [referenceBridge({ subnet: `10.244.${randomInt(1, 250)}.0/24`, dataDir })],
    });
    let fixtureDir = '';
    let netnsPath = '';
    // A sandbox config without a cgroup parent lands in the shared k8s.io parent.
    const sharedCgroupsBefore = cgroupDirs('k8s.io').filter((d) => existsSync(d));
    try {
      await using node = await nodeNetns();
      {
        await using ctd = await containerdFixture({
          node,
          cniBinDir: [wrapperDir, REFERENCE_PLUGINS],
          cniConfDir: confDir,
        });
        fixtureDir = ctd.dir;
        const id = await ctd.cri.runPodSandbox(podSandboxConfig('left-running'));
        netnsPath = sandboxNetnsPath(await ctd.cri.podSandboxStatus(id, true)) ?? '';
        expect(existsSync(netnsPath)).toBe(true);
        expect(readFileSync(calls, 'utf8').split('\n').filter(Boolean)).toEqual(['ADD']);
        // The plugin sees a service's environment, not the test runner's.
        const env = readFileSync(`${calls}.env`, 'utf8');
        // containerd's opt plugin puts its own bin dir first (and its lib dir on LD_LIBRARY_PATH).
        expect(env).toMatch(new RegExp(`^PATH=${ctd.dir}/opt/bin:${SYSTEM_PATH}$`, 'm'));
        expect(env).toMatch(/^PWD=\/$/m);
        expect(env).not.toMatch(/^VITEST/m);
        expect(env).toContain('CNI_NETNS=/var/run/netns/cni-');
      }
      expect(existsSync(netnsPath)).toBe(false);
      // Stop and remove each run the CNI DEL.
      expect(readFileSync(calls, 'utf8').split('\n').filter(Boolean)).toEqual(['ADD', 'DEL', 'DEL']);
      expect(readdirSync(join(dataDir, network)).filter((f) => f.startsWith('10.'))).toEqual([]);
      expect(await node.ipJson<unknown[]>('link', 'show', 'type', 'veth')).toEqual([]);
      expect(existsSync(fixtureDir)).toBe(false);
      expect(pidsMentioning(fixtureDir)).toEqual([]);
      expect(cgroupDirs('k8s.io').filter((d) => existsSync(d))).toEqual(sharedCgroupsBefore);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
