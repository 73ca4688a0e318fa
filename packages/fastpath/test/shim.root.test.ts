// The fast path on its own: the shim (native/shim.c, built into dist/minicni-shim by `pnpm build`)
// and servePlugin() serving a small plugin written on runPlugin in this process. Fallbacks, the
// versioned wire, and the socket's rules; the bridge plugin behind the shim is tested in
// packages/minicni/test/fast-path.root.test.ts, the ptp example in examples/ptp-plugin/test.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CniError, ErrorCode, SPEC_VERSIONS, type PluginHandlers } from '@minicni/spec';
import {
  exec,
  nodeNetns,
  runPluginInNode,
  testName,
  type PluginCall,
  type TestNetns,
} from '@minicni/testkit';
import { servePlugin, type PluginServer } from '../src/server.js';
import { builtShimPath } from '../src/names.js';

const SHIM = builtShimPath();

function shimPresent(): void {
  if (!existsSync(SHIM)) throw new Error(`${SHIM} is missing: run \`pnpm build\` first`);
}

/** A plugin small enough to read: ADD answers the CNI_* variables it got, DEL fails with code 11. */
const echo: PluginHandlers = {
  add: (ctx) => ({ interfaces: [{ name: ctx.ifname, sandbox: ctx.netns }], ips: [] }),
  del: () => {
    throw new CniError(ErrorCode.TryAgainLater, 'echo refuses DEL');
  },
  check: () => {},
};

const serve = (socketPath: string) =>
  servePlugin({ socketPath, handlers: echo, run: { supportedVersions: SPEC_VERSIONS } });

class Fixture implements AsyncDisposable {
  readonly dir = mkdtempSync(join(tmpdir(), 'mct-fast-'));
  readonly socket = join(this.dir, 'run', 'plugin.sock');
  server!: PluginServer;
  constructor(readonly node: TestNetns) {}

  async start(): Promise<this> {
    this.server = await serve(this.socket);
    return this;
  }

  call(call: PluginCall, config: unknown, env: Record<string, string> = {}) {
    return runPluginInNode(
      this.node,
      SHIM,
      { ...call, extraEnv: { MINICNI_AGENT_SOCKET: this.socket, ...env } },
      config,
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.server?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The 6-byte header of protocol `version`: "MCNI", u16. */
function header(version: number): Buffer {
  const b = Buffer.from('MCNI\0\0');
  b.writeUInt16BE(version, 4);
  return b;
}

describe('fast path: the shim -> servePlugin', () => {
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

  it('answers CNI error 11 when the server drops the call before answering', async () => {
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
        "b'MCNI\\x00\\x03' + (0).to_bytes(4,'big') + (2).to_bytes(4,'big') + b'{}' + (0).to_bytes(4,'big')";
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
    // Protocol 3: no build id (u16 0), the environment, the config.
    const req = Buffer.concat([header(3), Buffer.alloc(2), u32(env.length), env, u32(stdin.length), stdin]);
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
    expect(reply.subarray(0, 6)).toEqual(header(3));
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
    await expect(serve(f.socket)).rejects.toThrow(/another server is listening/);
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
    await using again = await serve(f.socket);
    expect((await f.call({ command: 'VERSION' }, '{"cniVersion":"1.1.0"}')).code).toBe(0);
    expect(again.served).toBe(1);
  });

  it('refuses a socket directory others can write and a path that is not a socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mct-perm-'));
    try {
      chmodSync(dir, 0o777);
      await expect(serve(join(dir, 'p.sock'))).rejects.toThrow(/writable by others/);
      chmodSync(dir, 0o700);
      writeFileSync(join(dir, 'p.sock'), 'not a socket');
      await expect(serve(join(dir, 'p.sock'))).rejects.toThrow(/is not a socket/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves any runPlugin plugin: its result and its CNI errors come back as a standalone run prints them', async () => {
    shimPresent();
    await using node = await nodeNetns();
    await using f = await new Fixture(node).start();
    const add = await f.call(
      { command: 'ADD', containerId: 'c1', netns: '/run/netns/p1', ifname: 'net7' },
      {
        cniVersion: '1.0.0',
        name: 'echo',
        type: 'echo',
      },
    );
    expect(add.code, add.stdout + add.stderr).toBe(0);
    expect(add.json).toEqual({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'net7', sandbox: '/run/netns/p1' }],
      ips: [],
    });
    const del = await f.call(
      { command: 'DEL', containerId: 'c1', ifname: 'net7' },
      {
        cniVersion: '0.4.0',
        name: 'echo',
        type: 'echo',
      },
    );
    expect(del.code).toBe(1);
    expect(del.json).toEqual({ cniVersion: '0.4.0', code: 11, msg: 'echo refuses DEL' });
    expect(f.server.served).toBe(2);
  });

  it('falls back to the standalone plugin when the server speaks another protocol version, and a server answers another version without running it', async () => {
    shimPresent();
    const dir = mkdtempSync(join(tmpdir(), 'mct-version-'));
    const other = join(dir, 'v4.sock');
    // A server of protocol 4: reads the request, answers its own header alone (ran nothing).
    const srv = createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end(header(4)));
    });
    await new Promise<void>((r) => srv.listen(other, r));
    try {
      const standalone = join(dir, 'standalone');
      writeFileSync(standalone, `#!/bin/sh\ncat > ${join(dir, 'stdin')}\necho '{"standalone":true}'\n`);
      chmodSync(standalone, 0o755);
      const r = await exec(SHIM, [], {
        env: { CNI_COMMAND: 'ADD', MINICNI_AGENT_SOCKET: other, MINICNI_STANDALONE: standalone },
        stdin: '{"cniVersion":"1.0.0","name":"v"}',
      });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ standalone: true });
      expect(readFileSync(join(dir, 'stdin'), 'utf8')).toBe('{"cniVersion":"1.0.0","name":"v"}');

      // Our server, asked in protocol 1 (the first release's "MCNI1\n" frame): header alone, nothing run.
      await using server = await serve(join(dir, 'run', 'p.sock'));
      const reply = await new Promise<Buffer>((resolve, reject) => {
        const got: Buffer[] = [];
        const c = createConnection(server.socketPath, () => {
          c.end(Buffer.concat([Buffer.from('MCNI1\n'), Buffer.alloc(4), Buffer.alloc(4)]));
        });
        c.on('data', (d) => got.push(d));
        c.on('end', () => resolve(Buffer.concat(got)));
        c.on('error', reject);
      });
      expect(reply).toEqual(header(3));
      expect(server.served).toBe(0);
    } finally {
      await new Promise((r) => srv.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('installed as X, it falls back to X-standalone beside it and looks for /run/X/plugin.sock', async () => {
    shimPresent();
    const dir = mkdtempSync(join(tmpdir(), 'mct-named-'));
    try {
      // A name nothing on this machine serves: /run/<name> does not exist.
      const name = testName('plug');
      expect(existsSync(`/run/${name}`)).toBe(false);
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      copyFileSync(SHIM, join(bin, name));
      writeFileSync(join(bin, `${name}-standalone`), '#!/bin/sh\necho "{\\"argv0\\":\\"$0\\"}"\n');
      chmodSync(join(bin, `${name}-standalone`), 0o755);
      const viaName = await exec(join(bin, name), [], {
        env: { CNI_COMMAND: 'VERSION' },
        stdin: '{"cniVersion":"1.0.0"}',
      });
      expect(viaName.code, viaName.stdout + viaName.stderr).toBe(0);
      expect(JSON.parse(viaName.stdout)).toEqual({ argv0: join(bin, `${name}-standalone`) });
      // Nothing beside it and no server: a CNI error that names both.
      rmSync(join(bin, `${name}-standalone`));
      const none = await exec(join(bin, name), [], {
        env: { CNI_COMMAND: 'VERSION' },
        stdin: '{"cniVersion":"1.0.0"}',
      });
      expect(none.code).toBe(1);
      expect(JSON.parse(none.stdout)).toMatchObject({
        code: 999,
        details: expect.stringContaining(`/run/${name}/plugin.sock`),
      });
      expect(JSON.parse(none.stdout).details).toContain(`${name}-standalone`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
