import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { REFERENCE_PLUGINS, podmanChain, referenceBridge, writeConflist } from './conflists.js';
import { nodeNetns } from './netns.js';
import { testName } from './names.js';
import { PodmanError, podmanFixture } from './podman.js';
import { mountsUnder, pidsMentioning } from './mounts.js';

/**
 * The Debian reference bridge + host-local, then portmap, bandwidth and tuning chained behind it
 * (the chain minicni's own podman test uses), all state in `dir`, written to its net.d.
 */
function referenceNetwork(dir: string) {
  const third = randomInt(1, 250);
  const network = testName('net');
  const dataDir = join(dir, 'ipam');
  const confDir = join(dir, 'net.d');
  writeConflist(confDir, `${network}.conflist`, {
    cniVersion: '1.0.0',
    name: network,
    plugins: [
      referenceBridge({ subnet: `10.244.${third}.0/24`, dataDir, ipMasq: true, defaultRoute: true }),
      ...podmanChain(),
    ],
  });
  return { network, dataDir, confDir, gateway: `10.244.${third}.1`, prefix: `10.244.${third}.` };
}

describe('podman fixture (reference plugins)', () => {
  it('runs containers that get addresses, ping each other and serve on a host port; leaves nothing behind', async () => {
    const work = mkdtempSync(join(tmpdir(), 'minicni-podman-test-'));
    const net = referenceNetwork(work);
    let fixtureDir = '';
    try {
      await using node = await nodeNetns();
      {
        const started = Date.now();
        await using podman = await podmanFixture({
          node,
          cniPluginDirs: [REFERENCE_PLUGINS],
          networkConfigDir: net.confDir,
        });
        fixtureDir = podman.dir;
        const startMs = Date.now() - started;

        await podman.runDetached('a', net.network, ['sleep', 'inf']);
        await podman.runDetached('b', net.network, ['sleep', 'inf']);
        await podman.runDetached('web', net.network, ['httpd', '-f', '-p', '80', '-h', '/var/www'], {
          ports: ['18080:80'],
        });
        const ipA = await podman.inspectIp('a', net.network);
        const ipB = await podman.inspectIp('b');
        const ipWeb = await podman.inspectIp('web');
        expect(new Set([ipA, ipB, ipWeb]).size).toBe(3);
        for (const ip of [ipA, ipB, ipWeb]) expect(ip.startsWith(net.prefix)).toBe(true);

        // The address podman reports is the one inside the container.
        const addr = await podman.exec('a', ['ip', '-4', 'addr', 'show', 'eth0']);
        expect(addr.stdout).toContain(`${ipA}/24`);

        const aToB = await podman.exec('a', ['ping', '-c', '1', '-W', '2', ipB]);
        expect(aToB.code, aToB.stderr + aToB.stdout).toBe(0);
        const bToA = await podman.exec('b', ['ping', '-c', '1', '-W', '2', ipA]);
        expect(bToA.code, bToA.stderr + bToA.stdout).toBe(0);

        // portmap: the node's host port 18080 reaches httpd in "web", from inside the node netns,
        // both on the node's bridge address and on loopback.
        for (const host of [net.gateway, '127.0.0.1']) {
          const http = await node.exec('busybox', ['nc', '-w', '3', host, '18080'], {
            stdin: 'GET /index.html HTTP/1.0\r\n\r\n',
          });
          expect(http.stdout, `${host}: ${http.stderr}`).toContain('minicni testkit');
        }

        // bandwidth shaped the host side of each veth; tuning set the sysctl inside the container.
        const qdiscs = await node.run('tc', ['qdisc', 'show']);
        expect(qdiscs.match(/qdisc tbf/g)?.length ?? 0).toBeGreaterThanOrEqual(3);
        expect(await node.ipJson<unknown[]>('link', 'show', 'type', 'ifb')).toHaveLength(3);
        const somaxconn = await podman.exec('a', ['cat', '/proc/sys/net/core/somaxconn']);
        expect(somaxconn.stdout.trim()).toBe('512');

        const links = await node.ipJson<{ ifname: string }[]>('link', 'show', 'type', 'veth');
        expect(links).toHaveLength(3);
        expect(readdirSync(join(net.dataDir, net.network)).filter((f) => f.startsWith('10.'))).toHaveLength(
          3,
        );
        console.log(`podman fixture: started (image imported) in ${startMs} ms`);
      }
      // The fixture is disposed: CNI DEL ran for every container and nothing of it is left.
      const vethsAfter = await node.ipJson<unknown[]>('link', 'show', 'type', 'veth');
      expect(vethsAfter).toHaveLength(0);
      // bandwidth's ifb devices went with DEL too.
      expect(await node.ipJson<unknown[]>('link', 'show', 'type', 'ifb')).toHaveLength(0);
      expect(readdirSync(join(net.dataDir, net.network)).filter((f) => f.startsWith('10.'))).toHaveLength(0);
      expect(existsSync(fixtureDir)).toBe(false);
      expect(mountsUnder(fixtureDir)).toEqual([]);
      expect(pidsMentioning(fixtureDir)).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("surfaces a failing plugin as a PodmanError carrying podman's message", async () => {
    const work = mkdtempSync(join(tmpdir(), 'minicni-podman-test-'));
    try {
      const binDir = join(work, 'bin');
      const confDir = join(work, 'net.d');
      mkdirSync(binDir);
      mkdirSync(confDir);
      // A plugin that answers VERSION but fails ADD with a CNI error, as the spec describes.
      writeFileSync(
        join(binDir, 'mctfail'),
        [
          '#!/bin/sh',
          'cat >/dev/null',
          'if [ "$CNI_COMMAND" = VERSION ]; then',
          '  echo \'{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}\'; exit 0',
          'fi',
          'if [ "$CNI_COMMAND" = ADD ]; then',
          '  echo \'{"cniVersion":"1.0.0","code":11,"msg":"testkit says no","details":"on purpose"}\'; exit 1',
          'fi',
          'exit 0',
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
      const network = testName('net');
      writeFileSync(
        join(confDir, `${network}.conflist`),
        JSON.stringify({ cniVersion: '1.0.0', name: network, plugins: [{ type: 'mctfail' }] }),
      );
      await using node = await nodeNetns();
      await using podman = await podmanFixture({ node, cniPluginDirs: [binDir], networkConfigDir: confDir });
      const err = await podman.runDetached('x', network, ['sleep', 'inf']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PodmanError);
      expect(err).toMatchObject({ code: 'PODMAN_FAILED' });
      expect((err as PodmanError).message).toMatch(/plugin type="mctfail" failed \(add\).*testkit says no/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
