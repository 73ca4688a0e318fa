import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exec, nodeNetns } from '@minicni/testkit';
import { containerdFixture } from '@minicni/testkit/containerd';

const repo = resolve(import.meta.dirname, '../../..');
const TAG = 'docker.io/minicni/agent:e2e';

// deploy/build-image.sh builds an OCI layout tar without Docker; a throwaway containerd in a
// node netns imports it with `ctr images import` and runs the agent's installer from it.
describe('the agent image', () => {
  it('builds without Docker, imports with ctr, and its installer and agent run from it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minicni-image-'));
    try {
      const tar = join(dir, 'agent.oci.tar');
      const build = await exec('bash', [join(repo, 'deploy/build-image.sh'), '--out', tar, '--tag', TAG], {
        timeoutMs: 240_000,
      });
      expect(build.code, build.stderr).toBe(0);
      process.stdout.write(`\n${build.stdout}`);
      const listing = (await exec('tar', ['-tf', tar])).stdout.split('\n');
      expect(listing).toEqual(expect.arrayContaining(['./index.json', './oci-layout']));

      await using node = await nodeNetns();
      const conf = join(dir, 'net.d');
      mkdirSync(conf);
      await using containerd = await containerdFixture({
        node,
        cniBinDir: '/usr/lib/cni',
        cniConfDir: conf,
        requireNetworkReady: false,
      });
      const imported = await containerd.ctr(['-n', 'k8s.io', 'images', 'import', tar]);
      expect(imported.code, imported.stderr).toBe(0);
      const images = await containerd.ctr(['-n', 'k8s.io', 'images', 'ls', '-q']);
      expect(images.stdout.split('\n')).toContain(TAG);

      // Run the image's own runtime and installer against a fake node filesystem.
      const host = join(dir, 'host');
      mkdirSync(host);
      const run = await containerd.ctr([
        '-n',
        'k8s.io',
        'run',
        '--rm',
        '--net-host',
        '--mount',
        `type=bind,src=${host},dst=/host,options=rbind:rw`,
        TAG,
        'mctimage',
        '/usr/local/bin/node',
        '/opt/minicni/minicni-agent.mjs',
        'install',
        '--node-name',
        'n1',
        '--pod-cidr',
        '10.244.9.0/24',
        '--cni-conf-dir',
        '/host/etc/cni/net.d',
        '--cni-bin-dir',
        '/host/opt/cni/bin',
        ...(existsSync(join(repo, 'packages/minicni/dist/minicni'))
          ? [
              '--plugin',
              '/opt/minicni/bin/minicni-shim=minicni',
              '--plugin',
              '/opt/minicni/bin/minicni=minicni-standalone',
            ]
          : []),
      ]);
      expect(run.code, `ctr run: ${run.stdout}${run.stderr}\n${containerd.log().slice(-1500)}`).toBe(0);
      const conflist = JSON.parse(readFileSync(join(host, 'etc/cni/net.d/10-minicni.conflist'), 'utf8'));
      expect(conflist.plugins[0]).toMatchObject({ type: 'minicni', subnet: '10.244.9.0/24' });
      if (existsSync(join(repo, 'packages/minicni/dist/minicni'))) {
        // As deploy/minicni.yaml installs them: the shim as `minicni`, the plugin beside it.
        expect(statSync(join(host, 'opt/cni/bin/minicni')).mode & 0o111).not.toBe(0);
        expect(statSync(join(host, 'opt/cni/bin/minicni-standalone')).mode & 0o111).not.toBe(0);
        expect(statSync(join(host, 'opt/cni/bin/minicni')).size).toBeLessThan(4 << 20);
      }

      // The agent itself from the image (its Node runtime, libraries and netlink addon),
      // routing in the node's netns: a peer on the node's segment gets a host-gw route.
      await node.run('ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
      await node.run('ip', ['addr', 'add', '10.244.250.11/24', 'dev', 'eth0']);
      await node.run('ip', ['link', 'set', 'eth0', 'up']);
      await node.run('ip', ['link', 'set', 'eth0p', 'up']);
      writeFileSync(
        join(host, 'nodes.json'),
        JSON.stringify({
          nodes: [
            { name: 'n1', internalIPs: ['10.244.250.11'], podCIDRs: ['10.244.1.0/24'] },
            { name: 'n2', internalIPs: ['10.244.250.12'], podCIDRs: ['10.244.2.0/24'] },
          ],
        }),
      );
      // Foreground `ctr run` (its output is the agent's log) while the test looks at the kernel.
      const running = containerd.ctr([
        '-n',
        'k8s.io',
        'run',
        '--rm',
        '--net-host',
        // Privileged as in the DaemonSet: routes need CAP_NET_ADMIN (without it: EPERM, never ready).
        '--privileged',
        '--mount',
        `type=bind,src=${host},dst=/host,options=rbind:rw`,
        TAG,
        'mctagentrun',
        '/usr/local/bin/node',
        '/opt/minicni/minicni-agent.mjs',
        'run',
        '--node-name',
        'n1',
        '--nodes-file',
        '/host/nodes.json',
        '--mode',
        'auto',
        '--ready-file',
        '/host/ready',
        '--metrics-address',
        'off',
      ]);
      let routes: { dst: string; gateway: string }[] = [];
      try {
        const end = Date.now() + 20_000;
        while (!existsSync(join(host, 'ready')) && Date.now() < end)
          await new Promise((r) => setTimeout(r, 100));
        routes = await node.ipJson<{ dst: string; gateway: string }[]>('route', 'show', 'proto', '77');
      } finally {
        await containerd.ctr(['-n', 'k8s.io', 'task', 'kill', '-s', 'SIGTERM', 'mctagentrun']);
      }
      const out = await running;
      expect(
        routes.map((r) => `${r.dst} via ${r.gateway}`),
        `${out.stdout}${out.stderr}`,
      ).toEqual(['10.244.2.0/24 via 10.244.250.12']);
      expect(out.stderr + out.stdout).toMatch(/agent stopped; routes left in place/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
