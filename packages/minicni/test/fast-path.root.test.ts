// The fast path: the native shim (packages/netlink/native/cni-shim.c, built by `pnpm build`)
// forwarding CNI calls to the plugin served in this process by servePlugin(), acting on a
// throwaway node netns.
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cniEnv,
  exec,
  nodeNetns,
  podNetns,
  runPluginInNode,
  testName,
  type PluginCall,
  type TestNetns,
} from '@minicni/testkit';
import { HOST_VETH_PATTERN } from '../src/host-veth.js';
import { servePlugin, type PluginServer } from '../src/server.js';

const netlinkDir = dirname(createRequire(import.meta.url).resolve('@minicni/netlink/package.json'));
const SHIM = join(netlinkDir, 'native', 'build', 'Release', 'minicni-shim');

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
    this.server = await servePlugin({
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

describe('fast path: minicni-shim -> servePlugin', () => {
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

  it('finds the socket in the config when the environment does not name it; the environment wins', async () => {
    shimPresent();
    await using node = await nodeNetns();
    await using f = await new Fixture(node).start();
    const noFallback = { MINICNI_STANDALONE: '/bin/false' };
    const viaConfig = await runPluginInNode(
      node,
      SHIM,
      { command: 'VERSION', extraEnv: noFallback },
      { cniVersion: '1.0.0', agentSocket: f.socket },
    );
    expect(viaConfig.code, viaConfig.stdout).toBe(0);
    expect(viaConfig.json).toMatchObject({ cniVersion: '1.0.0' });
    const envWins = await f.call(
      { command: 'VERSION' },
      { cniVersion: '1.0.0', agentSocket: join(f.dir, 'nobody.sock') },
      noFallback,
    );
    expect(envWins.code, envWins.stdout).toBe(0);
    expect(f.server.served).toBe(2);
    // A config socket nobody listens on, no env: the fallback runs (here /bin/false: exit 1).
    const dead = await runPluginInNode(
      node,
      SHIM,
      { command: 'VERSION', extraEnv: noFallback },
      { cniVersion: '1.0.0', agentSocket: join(f.dir, 'nobody.sock') },
    );
    expect(dead.code).toBe(1);
    expect(f.server.served).toBe(2);
  });

  it('with neither the environment nor the config naming a socket, the shim uses /run/minicni/plugin.sock', async () => {
    shimPresent();
    await using node = await nodeNetns();
    await using pod = await podNetns();
    await using f = await new Fixture(node).start();
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
          SHIM,
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

  it('with no server it runs the standalone plugin with the same argv, env and stdin', async () => {
    shimPresent();
    const dir = mkdtempSync(join(tmpdir(), 'mct-fallback-'));
    try {
      const out = join(dir, 'seen');
      const standalone = join(dir, 'standalone');
      writeFileSync(
        standalone,
        `#!/bin/sh\n{ echo "argv:$*"; env | grep '^CNI_' | sort; echo stdin:; cat; } > ${out}\necho '{"ok":true}'\nexit 3\n`,
      );
      chmodSync(standalone, 0o755);
      const r = await exec(SHIM, ['one', 'two'], {
        env: {
          CNI_COMMAND: 'ADD',
          CNI_CONTAINERID: 'c1',
          MINICNI_AGENT_SOCKET: join(dir, 'nobody-listens.sock'),
          MINICNI_STANDALONE: standalone,
          PATH: process.env.PATH ?? '/usr/bin:/bin',
        },
        stdin: '{"cniVersion":"1.0.0","name":"x"}',
      });
      expect(r.code).toBe(3);
      expect(r.stdout.trim()).toBe('{"ok":true}');
      expect(readFileSync(out, 'utf8')).toBe(
        'argv:one two\nCNI_COMMAND=ADD\nCNI_CONTAINERID=c1\nstdin:\n{"cniVersion":"1.0.0","name":"x"}',
      );
      // Neither the agent nor the standalone plugin: a CNI error in the config's version.
      const none = await exec(SHIM, [], {
        env: {
          CNI_COMMAND: 'ADD',
          MINICNI_AGENT_SOCKET: join(dir, 'x.sock'),
          MINICNI_STANDALONE: join(dir, 'no'),
        },
        stdin: '{"cniVersion":"0.4.0"}',
      });
      expect(none.code).toBe(1);
      expect(JSON.parse(none.stdout)).toMatchObject({ cniVersion: '0.4.0', code: 999 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers CNI error 11 when the agent drops the call before answering', async () => {
    shimPresent();
    const dir = mkdtempSync(join(tmpdir(), 'mct-drop-'));
    const sock = join(dir, 'drop.sock');
    const srv = createServer((s) => {
      s.on('error', () => {}); // the shim's hang-up is what is tested, not this socket's
      s.once('data', () => s.destroy());
    });
    await new Promise<void>((r) => srv.listen(sock, r));
    try {
      const r = await exec(SHIM, [], {
        env: { CNI_COMMAND: 'ADD', MINICNI_AGENT_SOCKET: sock, MINICNI_STANDALONE: '/bin/false' },
        stdin: '{"cniVersion":"1.0.0","name":"n"}',
      });
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ cniVersion: '1.0.0', code: 11 });
    } finally {
      await new Promise((r) => srv.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a socket that answers something else, or that another user serves', async () => {
    shimPresent();
    const dir = mkdtempSync(join(tmpdir(), 'mct-foreign-'));
    const foreign = join(dir, 'foreign.sock');
    const srv = createServer((s) => {
      // The shim stops reading at the first bytes that are not ours and hangs up; a reply it left
      // unread makes the kernel reset this end (ECONNRESET), which is expected here.
      s.on('error', () => {});
      s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    });
    await new Promise<void>((r) => srv.listen(foreign, r));
    try {
      // VERSION through the shim to `socket`, with a fallback that can only fail.
      const versionVia = (socket: string) =>
        exec(SHIM, [], {
          env: { CNI_COMMAND: 'VERSION', MINICNI_STANDALONE: '/bin/false', MINICNI_AGENT_SOCKET: socket },
          stdin: '{"cniVersion":"1.0.0"}',
        });
      const r = await versionVia(foreign);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({
        code: 999,
        msg: expect.stringMatching(/not a minicni reply/),
      });

      // A server run by nobody (uid 65534) that would answer like ours: refused before a byte.
      chmodSync(dir, 0o777);
      const squat = join(dir, 'squat.sock');
      const reply =
        "b'MCNI1\\n' + (0).to_bytes(4,'big') + (2).to_bytes(4,'big') + b'{}' + (0).to_bytes(4,'big')";
      const py =
        'import socket,sys\n' +
        's=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); print("up", flush=True)\n' +
        `c,_=s.accept(); c.sendall(${reply}); c.close()\n`;
      const child = spawn(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/python3', '-c', py, squat],
        {
          // Its BrokenPipeError (the shim hangs up without reading) is expected: not shown.
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      await new Promise<void>((res, rej) => {
        child.stdout.once('data', () => res());
        child.once('exit', (code) => rej(new Error(`the squatting server exited (${code})`)));
      });
      try {
        const q = await versionVia(squat);
        expect(q.code).toBe(1);
        expect(JSON.parse(q.stdout)).toMatchObject({
          code: 999,
          msg: expect.stringMatching(/served by another user/),
          details: expect.stringMatching(/uid 65534/),
        });
      } finally {
        child.kill('SIGKILL');
      }
    } finally {
      await new Promise((r) => srv.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers a request that arrives one byte at a time', async () => {
    await using node = await nodeNetns();
    await using f = await new Fixture(node).start();
    const env = Buffer.from('CNI_COMMAND=VERSION\0');
    const stdin = Buffer.from('{"cniVersion":"1.0.0"}');
    const u32 = (v: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(v);
      return b;
    };
    const req = Buffer.concat([Buffer.from('MCNI1\n'), u32(env.length), env, u32(stdin.length), stdin]);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const got: Buffer[] = [];
      const c = createConnection(f.socket, () => {
        let i = 0;
        const next = (): void => {
          if (i === req.length) return void c.end();
          c.write(req.subarray(i, ++i));
          setTimeout(next, 1);
        };
        next();
      });
      c.on('data', (d) => got.push(d));
      c.on('end', () => resolve(Buffer.concat(got)));
      c.on('error', reject);
    });
    expect(reply.subarray(0, 6).toString()).toBe('MCNI1\n');
    expect(reply.readUInt32BE(6)).toBe(0);
    const out = reply.subarray(14, 14 + reply.readUInt32BE(10)).toString();
    expect(JSON.parse(out)).toMatchObject({ cniVersion: '1.0.0', supportedVersions: expect.any(Array) });
    expect(f.server.served).toBe(1);
  });

  it('keeps serving after a garbage client; refuses a second server; replaces a stale socket', async () => {
    shimPresent();
    await using node = await nodeNetns();
    await using f = await new Fixture(node).start();
    await new Promise<void>((resolve) => {
      const c = createConnection(f.socket, () => c.write('GET / HTTP/1.1\r\n\r\n'));
      c.on('close', () => resolve());
      c.on('error', () => resolve());
    });
    const v = await f.call({ command: 'VERSION' }, '{"cniVersion":"1.1.0"}');
    expect(v.code).toBe(0);
    await expect(servePlugin({ socketPath: f.socket })).rejects.toThrow(/another server is listening/);
    await f.server.close();
    expect(existsSync(f.socket)).toBe(false);
    // A socket file whose server died (bound, never listening) is taken over.
    const bound = await exec('python3', [
      '-c',
      'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])',
      f.socket,
    ]);
    expect(bound.code, bound.stderr).toBe(0);
    expect(existsSync(f.socket)).toBe(true);
    await using again = await servePlugin({ socketPath: f.socket });
    expect((await f.call({ command: 'VERSION' }, '{"cniVersion":"1.1.0"}')).code).toBe(0);
    expect(again.served).toBe(1);
  });

  it('refuses a socket directory others can write and a path that is not a socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mct-perm-'));
    try {
      chmodSync(dir, 0o777);
      await expect(servePlugin({ socketPath: join(dir, 'p.sock') })).rejects.toThrow(/writable by others/);
      chmodSync(dir, 0o700);
      writeFileSync(join(dir, 'p.sock'), 'not a socket');
      await expect(servePlugin({ socketPath: join(dir, 'p.sock') })).rejects.toThrow(/is not a socket/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
