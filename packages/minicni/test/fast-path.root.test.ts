// The bridge plugin behind the fast path: the shim (@minicni/fastpath, built by `pnpm build`)
// forwarding CNI calls to minicni served in this process by serveBridgePlugin(), acting on a
// throwaway node netns. The shim and server on their own (fallbacks, the wire, the socket rules)
// are tested in packages/fastpath/test/shim.root.test.ts.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cniEnv,
  nodeNetns,
  podNetns,
  runPluginInNode,
  testName,
  type PluginCall,
  type TestNetns,
} from '@minicni/testkit';
import { HOST_VETH_PATTERN } from '../src/host-veth.js';
import { serveBridgePlugin } from '../src/serve.js';
import { builtShimPath, type PluginServer } from '@minicni/fastpath';

const SHIM = builtShimPath();

function shimPresent(): void {
  if (!existsSync(SHIM)) throw new Error(`${SHIM} is missing: run \`pnpm build\` first`);
}

class Fixture implements AsyncDisposable {
  readonly dir = mkdtempSync(join(tmpdir(), 'mct-fast-'));
  readonly socket = join(this.dir, 'run', 'plugin.sock');
  readonly dataDir = join(this.dir, 'data');
  server!: PluginServer;
  constructor(readonly node: TestNetns) {}

  async start(): Promise<this> {
    this.server = await serveBridgePlugin({
      socketPath: this.socket,
      plugin: { netns: this.node.path, stampDir: join(this.dir, 'stamps') },
    });
    return this;
  }

  conf(bridge: string, extra: Record<string, unknown> = {}) {
    return {
      cniVersion: '1.1.0',
      name: 'mct-fast',
      type: 'minicni',
      bridge,
      subnet: '10.244.41.0/24',
      ipMasq: true,
      dataDir: this.dataDir,
      ...extra,
    };
  }

  call(call: PluginCall, config: unknown, env: Record<string, string> = {}) {
    return runPluginInNode(
      this.node,
      SHIM,
      {
        path: '/usr/lib/cni',
        ...call,
        extraEnv: { MINICNI_AGENT_SOCKET: this.socket, ...env },
      },
      config,
    );
  }

  reserved(): string[] {
    const d = join(this.dataDir, 'mct-fast');
    return existsSync(d) ? readdirSync(d).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.server?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const fds = () => readdirSync('/proc/self/fd').length;

describe('fast path: the shim -> minicni served by serveBridgePlugin', () => {
  it('ADD, CHECK and DEL through the shim wire a pod and leave nothing behind', async () => {
    shimPresent();
    await using node = await nodeNetns();
    await using pod = await podNetns();
    await using f = await new Fixture(node).start();
    const c = f.conf(testName('br'));
    const at = { containerId: 'ctr-fast', netns: pod.path, ifname: 'eth0' };
    const add = await f.call({ command: 'ADD', ...at }, c);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(add.json).toMatchObject({
      cniVersion: '1.1.0',
      ips: [{ address: '10.244.41.2/24', gateway: '10.244.41.1' }],
      interfaces: [{ name: c.bridge }, {}, { name: 'eth0', sandbox: pod.path }],
    });
    const addrs = await pod.ipJson<{ ifname: string; addr_info: { local: string }[] }[]>(
      'addr',
      'show',
      'eth0',
    );
    expect(addrs[0]!.addr_info.map((a) => a.local)).toContain('10.244.41.2');
    expect((await node.exec('ping', ['-c1', '-W2', '10.244.41.2'])).code).toBe(0);

    const check = await f.call({ command: 'CHECK', ...at }, { ...c, prevResult: add.json });
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout).toBe('');

    const del = await f.call({ command: 'DEL', ...at }, c);
    expect(del.code, del.stdout).toBe(0);
    expect(f.reserved()).toEqual([]);
    const hostLinks = await node.ipJson<{ ifname: string }[]>('link', 'show');
    expect(hostLinks.filter((l) => HOST_VETH_PATTERN.test(l.ifname))).toEqual([]);
    // DEL again (idempotent) and with the netns gone.
    expect((await f.call({ command: 'DEL', ...at }, c)).code).toBe(0);
    expect(f.server.served).toBe(4);
  });

  it('passes errors, VERSION and every CNI_* variable through unchanged', async () => {
    shimPresent();
    await using node = await nodeNetns();
    await using f = await new Fixture(node).start();
    const version = await f.call({ command: 'VERSION' }, '{"cniVersion":"0.4.0"}');
    expect(version.code).toBe(0);
    expect(version.json).toEqual({
      cniVersion: '0.4.0',
      supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
    const bad = await f.call(
      { command: 'ADD', containerId: 'x', netns: '/run/netns/none', ifname: 'eth0' },
      '{oops',
    );
    expect(bad.code).toBe(1);
    expect(bad.json).toMatchObject({ code: 6 });
    expect(bad.stdout).not.toMatch(/\n\s+at /);
    const missing = await f.call({ command: 'ADD' }, f.conf(testName('br')));
    expect(missing.code).toBe(1);
    expect(missing.json).toMatchObject({ code: 4 });
    expect((missing.json as { msg: string }).msg).toMatch(/CNI_CONTAINERID/);
    // A hostile name in CNI_ARGS is refused by the served plugin exactly as standalone.
    const args = await f.call(
      { command: 'ADD', containerId: 'ctr', netns: '/run/netns/none', ifname: 'eth0', args: 'IP=not-an-ip' },
      f.conf(testName('br')),
    );
    expect(args.code).toBe(1);
    expect(f.reserved()).toEqual([]);
  });

  it('40 parallel ADDs give 40 distinct addresses; 100 ADD/DEL cycles leak no descriptor', async () => {
    shimPresent();
    await using node = await nodeNetns();
    const pods = await Promise.all(Array.from({ length: 40 }, () => podNetns()));
    try {
      await using f = await new Fixture(node).start();
      const c = f.conf(testName('br'));
      const adds = await Promise.all(
        pods.map((p, i) =>
          f.call({ command: 'ADD', containerId: `par-${i}`, netns: p.path, ifname: 'eth0' }, c),
        ),
      );
      expect(adds.map((a) => a.code)).toEqual(adds.map(() => 0));
      const ips = new Set(adds.map((a) => (a.json as { ips: { address: string }[] }).ips[0]!.address));
      expect(ips.size).toBe(40);
      const dels = await Promise.all(
        pods.map((p, i) =>
          f.call({ command: 'DEL', containerId: `par-${i}`, netns: p.path, ifname: 'eth0' }, c),
        ),
      );
      expect(dels.map((d) => d.code)).toEqual(dels.map(() => 0));
      expect(f.reserved()).toEqual([]);

      const before = fds();
      for (let i = 0; i < 100; i++) {
        const at = { containerId: `cyc-${i}`, netns: pods[0]!.path, ifname: 'eth0' };
        expect((await f.call({ command: 'ADD', ...at }, c)).code).toBe(0);
        expect((await f.call({ command: 'DEL', ...at }, c)).code).toBe(0);
      }
      expect(fds()).toBe(before);
      expect(f.reserved()).toEqual([]);
      const hostLinks = await node.ipJson<{ ifname: string }[]>('link', 'show');
      expect(hostLinks.filter((l) => HOST_VETH_PATTERN.test(l.ifname))).toEqual([]);
      expect(f.server.inFlight).toBe(0);
    } finally {
      await Promise.all(pods.map((p) => p[Symbol.asyncDispose]()));
    }
  }, 120_000);

  it('with neither the environment nor the config naming a socket, the shim uses /run/minicni/plugin.sock', async () => {
    shimPresent();
    await using node = await nodeNetns();
    await using pod = await podNetns();
    await using f = await new Fixture(node).start();
    // Installed as `minicni`, as on a node: the name picks /run/minicni/plugin.sock.
    const installed = join(f.dir, 'bin', 'minicni');
    mkdirSync(dirname(installed));
    copyFileSync(SHIM, installed);
    // The shim runs in a mount namespace of its own whose /run is a fresh tmpfs with the
    // fixture's socket directory bound onto /run/minicni: the default path as on a real node,
    // while the machine's /run is never touched. The fallback is /bin/false (exit 1), so only
    // an answer from the server passes.
    const viaDefault = (call: PluginCall, config: unknown) =>
      node.exec(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          '--',
          'sh',
          '-c',
          'mount -t tmpfs tmpfs /run && mkdir /run/minicni && mount --bind "$1" /run/minicni && exec "$2"',
          'sh',
          dirname(f.socket),
          installed,
        ],
        {
          env: cniEnv({ ...call, extraEnv: { MINICNI_STANDALONE: '/bin/false' } }),
          stdin: JSON.stringify(config),
        },
      );
    const version = await viaDefault({ command: 'VERSION' }, { cniVersion: '1.1.0' });
    expect(version.code, version.stdout + version.stderr).toBe(0);
    expect(JSON.parse(version.stdout)).toMatchObject({ cniVersion: '1.1.0' });
    const c = f.conf(testName('br'));
    expect(c).not.toHaveProperty('agentSocket');
    const at = { containerId: 'ctr-default', netns: pod.path, ifname: 'eth0', path: '/usr/lib/cni' };
    const add = await viaDefault({ command: 'ADD', ...at }, c);
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(f.reserved()).toEqual(['10.244.41.2']);
    expect((await node.exec('ping', ['-c1', '-W2', '10.244.41.2'])).code).toBe(0);
    const del = await viaDefault({ command: 'DEL', ...at }, c);
    expect(del.code, del.stdout + del.stderr).toBe(0);
    expect(f.reserved()).toEqual([]);
    expect(f.server.served).toBe(3);
  });
});
