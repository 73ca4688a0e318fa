import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeNetns } from '@minicni/testkit';
import { podmanChain } from '@minicni/testkit/conflists';
import { podmanFixture } from '@minicni/testkit/podman';
import { writeMinicniNetwork } from './e2e-networks.js';
import { REFERENCE_PLUGINS, hostVeths, installMinicni, nodeRules, reservations } from './e2e-plugin.js';

// podman (CNI backend, libcni inside) runs containers on [minicni, portmap, bandwidth, tuning]:
// minicni first, Debian's reference plugins chained behind it. Twice: `minicni` is the built
// executable, then the fast path as deploy/minicni.yaml installs it (minicni-shim forwarding to
// `minicni serve` in the node netns, the fallback pointed at /bin/false).

describe('podman with minicni and the reference chain plugins', () => {
  it.each(['standalone', 'shim'] as const)(
    '%s: containers get addresses from minicni, ping each other, a host port reaches one; removal leaves nothing',
    async (how) => {
      const work = mkdtempSync(join(tmpdir(), 'mct-minicni-podman-'));
      try {
        const { network, dataDir, confDir, prefix, gateway } = writeMinicniNetwork(work, {
          minicni: { mtu: 1400 },
          chained: podmanChain(),
        });

        await using node = await nodeNetns();
        await using install = await installMinicni(how, node, work);
        const served = install.served;
        const t0 = Date.now();
        {
          await using podman = await podmanFixture({
            node,
            cniPluginDirs: [install.binDir, REFERENCE_PLUGINS],
            networkConfigDir: confDir,
            env: install.env,
          });
          const startMs = Date.now() - t0;
          const t1 = Date.now();
          await podman.runDetached('a', network, ['sleep', 'inf']);
          await podman.runDetached('b', network, ['sleep', 'inf']);
          await podman.runDetached('web', network, ['httpd', '-f', '-p', '80', '-h', '/var/www'], {
            ports: ['18080:80'],
          });
          const runMs = Date.now() - t1;
          const ips = { a: '', b: '', web: '' };
          for (const name of ['a', 'b', 'web'] as const) ips[name] = await podman.inspectIp(name, network);
          expect(new Set(Object.values(ips)).size).toBe(3);
          for (const ip of Object.values(ips)) expect(ip.startsWith(prefix), ip).toBe(true);
          // minicni's store holds exactly those addresses, host-local style.
          expect(reservations(dataDir, network)).toEqual(Object.values(ips).sort());

          // The address podman reports is the one inside the container, with minicni's MTU.
          const addr = await podman.exec('a', ['ip', '-4', 'addr', 'show', 'eth0']);
          expect(addr.stdout).toContain(`${ips.a}/24`);
          expect(addr.stdout).toMatch(/mtu 1400/);
          const route = await podman.exec('a', ['ip', 'route']);
          expect(route.stdout).toContain(`default via ${gateway}`);

          for (const [from, to] of [
            ['a', ips.b],
            ['b', ips.a],
            ['web', ips.a],
            ['a', gateway],
          ] as const) {
            const ping = await podman.exec(from, ['ping', '-c', '1', '-W', '2', to]);
            expect(ping.code, `${from} -> ${to}: ${ping.stderr}${ping.stdout}`).toBe(0);
          }

          // portmap: host port 18080 on the node reaches httpd in "web" (bridge address and loopback).
          for (const host of [gateway, '127.0.0.1']) {
            const http = await node.exec('busybox', ['nc', '-w', '3', host, '18080'], {
              stdin: 'GET /index.html HTTP/1.0\r\n\r\n',
            });
            expect(http.stdout, `${host}: ${http.stderr}`).toContain('minicni testkit');
          }
          // bandwidth shaped each host veth minicni made; tuning set the sysctl in the container.
          const veths = await hostVeths(node);
          expect(veths).toHaveLength(3);
          for (const v of veths)
            expect(await node.run('tc', ['qdisc', 'show', 'dev', v])).toMatch(/qdisc tbf/);
          expect(await node.ipJson<unknown[]>('link', 'show', 'type', 'ifb')).toHaveLength(3);
          const somaxconn = await podman.exec('a', ['cat', '/proc/sys/net/core/somaxconn']);
          expect(somaxconn.stdout.trim()).toBe('512');
          // minicni's node rules: one chain per job for the network, none per container.
          const rules = await nodeRules(node);
          expect(rules.split('\n').filter((l) => l.startsWith(':MINICNI-'))).toHaveLength(2);
          expect(rules).toContain(`--to-destination ${ips.web}:80`);

          const t2 = Date.now();
          await podman.rm(['a', 'b']);
          const rmMs = Date.now() - t2;
          // podman ran DEL through the chain for the two removed: only web's address and veth remain.
          expect(reservations(dataDir, network)).toEqual([ips.web]);
          expect(await hostVeths(node)).toHaveLength(1);
          if (served) expect(served.child.exitCode).toBeNull();
          console.log(
            `minicni podman (${how}): fixture ${startMs} ms, 3 containers run in ${runMs} ms, 2 removed in ${rmMs} ms`,
          );
        }
        // Disposing the fixture removed "web" too: no address reserved, no host veth, no ifb, no DNAT.
        expect(reservations(dataDir, network)).toEqual([]);
        expect(await hostVeths(node)).toEqual([]);
        expect(await node.ipJson<unknown[]>('link', 'show', 'type', 'veth')).toEqual([]);
        expect(await node.ipJson<unknown[]>('link', 'show', 'type', 'ifb')).toEqual([]);
        expect(await node.run('iptables-save', ['-t', 'nat'])).not.toContain(':80');
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
  );
});
