// The on-demand server: the built shim (dist/minicni-shim, stamped here with test build ids)
// installed as `echo` beside `echo-standalone`, a small plugin on runPlugin whose `serve` is
// serveCommand (run by the machine's node from this package's and spec's built dist). Every
// answer names who gave it: `served-<pid>` or `standalone-<pid>`. Everything lives in a temp dir
// (the socket via the config's agentSocket) inside a node netns; every process a test starts is
// killed in its finally. minicni's own executable on demand: packages/minicni/test/on-demand.root.test.ts.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SPEC_VERSIONS } from '@minicni/spec';
import { isRunning, pidsMentioning } from '@minicni/testkit/mounts';
import { nodeNetns, runPluginInNode, type PluginCall, type TestNetns } from '@minicni/testkit';
import { shimBuildId, stampShimBuildId } from '../src/build-id.js';
import { builtShimPath } from '../src/names.js';
import { onDemandPaths, stopOnDemandServer } from '../src/on-demand.js';
import { servePlugin } from '../src/server.js';

const SHIM = builtShimPath();
const FASTPATH_DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const SPEC_DIST = fileURLToPath(new URL('../../spec/dist/index.js', import.meta.url));

function built(): void {
  for (const f of [SHIM, FASTPATH_DIST, SPEC_DIST])
    if (!existsSync(f)) throw new Error(`${f} is missing: run \`pnpm build\` first`);
}

/** The echo plugin's executable for build `build`: standalone, or `serve ...` through serveCommand. */
function echoPlugin(build: string): string {
  return `#!${process.execPath}
import { runPlugin, SPEC_VERSIONS } from ${JSON.stringify(SPEC_DIST)};
import { serveCommand } from ${JSON.stringify(FASTPATH_DIST)};
const mode = process.argv[2] === 'serve' ? 'served' : 'standalone';
const handlers = {
  add: (ctx) => ({ interfaces: [{ name: ctx.ifname, sandbox: ctx.netns }], ips: [], dns: { domain: mode + '-' + process.pid } }),
  del: () => {},
  check: () => {},
};
if (mode === 'served') await serveCommand(process.argv.slice(3), { name: 'echo', handlers, run: { supportedVersions: SPEC_VERSIONS }, buildId: ${JSON.stringify(build)} });
else await runPlugin(handlers, { supportedVersions: SPEC_VERSIONS });
`;
}

async function until(what: string, ok: () => boolean, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A bin dir with the shim (stamped `shimBuild`) as `echo` and the plugin (`pluginBuild`) as `echo-standalone`. */
class Node implements AsyncDisposable {
  readonly dir = mkdtempSync(join(tmpdir(), 'mct-ondemand-'));
  readonly socket = join(this.dir, 'run', 'plugin.sock');
  readonly paths = onDemandPaths(this.socket);
  readonly bin = join(this.dir, 'bin');
  constructor(readonly node: TestNetns) {}

  install(shimBuild: string, pluginBuild: string, name = 'echo'): string {
    rmSync(this.bin, { recursive: true, force: true });
    mkdirSync(this.bin, { recursive: true });
    const shim = join(this.bin, name);
    writeFileSync(shim, stampShimBuildId(readFileSync(SHIM), shimBuild), { mode: 0o755 });
    writeFileSync(join(this.bin, `${name}-standalone`), echoPlugin(pluginBuild), { mode: 0o755 });
    return shim;
  }

  call(shim: string, conf: Record<string, unknown> = {}, call: Partial<PluginCall> = {}) {
    return runPluginInNode(
      this.node,
      shim,
      { command: 'ADD', containerId: 'c1', netns: '/run/netns/p1', ifname: 'eth0', ...call },
      { cniVersion: '1.0.0', name: 'echo', type: 'echo', agentSocket: this.socket, onDemand: true, ...conf },
    );
  }

  /** Who answered: 'served-<pid>' or 'standalone-<pid>'. */
  static who(r: { code: number | null; stdout: string; stderr: string; json: unknown }): string {
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return (r.json as { dns: { domain: string } }).dns.domain;
  }

  serverPid(): number | undefined {
    try {
      return Number(readFileSync(this.paths.pidFile, 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  log(): string {
    return existsSync(this.paths.logFile) ? readFileSync(this.paths.logFile, 'utf8') : '';
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const pid of pidsMentioning(this.dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('fast path on demand: the shim starts the server when nobody listens', () => {
  it('starts one detached server (own session, stdio to its log, root-only files) and the next call reuses it', async () => {
    built();
    await using node = await nodeNetns();
    await using n = new Node(node);
    const shim = n.install('b1', 'b1');
    try {
      const first = Node.who(await n.call(shim));
      expect(first).toMatch(/^served-\d+$/);
      const pid = n.serverPid()!;
      expect(first).toBe(`served-${pid}`);
      expect(isRunning(pid)).toBe(true);
      // Its own session and process group; stdin /dev/null, stdout and stderr the log.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        .slice(readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2)
        .split(' ');
      expect(Number(stat[2])).toBe(pid); // pgrp
      expect(Number(stat[3])).toBe(pid); // session
      expect(readlinkSync(`/proc/${pid}/fd/0`)).toBe('/dev/null');
      expect(readlinkSync(`/proc/${pid}/fd/1`)).toBe(n.paths.logFile);
      expect(readlinkSync(`/proc/${pid}/fd/2`)).toBe(n.paths.logFile);
      // Only PATH crosses into its environment: no CNI_* of the call that started it.
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
      expect(environ.filter((e) => !e.startsWith('UV_THREADPOOL_SIZE='))).toEqual([
        expect.stringMatching(/^PATH=/),
      ]);
      expect(statSync(n.paths.socket).mode & 0o777).toBe(0o600);
      expect(statSync(n.paths.pidFile).mode & 0o777).toBe(0o600);
      expect(statSync(n.paths.logFile).mode & 0o777).toBe(0o600);
      expect(statSync(join(n.dir, 'run')).mode & 0o777).toBe(0o700);
      expect(n.log()).toContain(`listening on ${n.paths.socket} (exits after 60 s idle)`);
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(
        expect.arrayContaining([
          'serve',
          '--socket',
          n.paths.socket,
          '--idle-exit',
          '60',
          '--build-id',
          'b1',
        ]),
      );

      for (let i = 0; i < 3; i++) expect(Node.who(await n.call(shim))).toBe(first);
      // Not asked for (no onDemand in the config): the standalone plugin, as before.
      expect(Node.who(await n.call(shim, { onDemand: false }))).toMatch(/^standalone-/);
      expect(Node.who(await n.call(shim, {}, { extraEnv: { MINICNI_ON_DEMAND: '0' } }))).toMatch(
        /^standalone-/,
      );
      expect(pidsMentioning(n.dir)).toEqual([pid]);
    } finally {
      await stopOnDemandServer(n.socket);
    }
  });

  it('exits after the idle time, removing its socket and pid file', async () => {
    built();
    await using node = await nodeNetns();
    await using n = new Node(node);
    const shim = n.install('b1', 'b1');
    const first = Node.who(await n.call(shim, { onDemandIdleSeconds: 1 }));
    const pid = n.serverPid()!;
    expect(first).toBe(`served-${pid}`);
    await until('the idle server to exit', () => !isRunning(pid));
    expect(existsSync(n.paths.socket)).toBe(false);
    expect(existsSync(n.paths.pidFile)).toBe(false);
    expect(n.log()).toContain('no call for 1 s: exiting');
    // The next call starts a new one.
    const second = Node.who(await n.call(shim, { onDemandIdleSeconds: 1 }));
    expect(second).toMatch(/^served-/);
    expect(second).not.toBe(first);
    await until('the second idle server to exit', () => pidsMentioning(n.dir).length === 0);
    // Calls arriving around the moment the server retires: each one is answered (by the old
    // server, a new one or the standalone plugin), none gets "try again" or an error.
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) {
      answers.push(Node.who(await n.call(shim, { onDemandIdleSeconds: 1 })));
      await new Promise((r) => setTimeout(r, 950 + i * 60));
    }
    expect(answers).toHaveLength(6);
    await until('the last idle server to exit', () => pidsMentioning(n.dir).length === 0);
  });

  it('refuses a server of another build: it does not start, or a running one refuses and exits; the standalone plugin answers', async () => {
    built();
    await using node = await nodeNetns();
    await using n = new Node(node);
    try {
      // The shim is build a1, the executable beside it b2: the server refuses to start.
      let shim = n.install('a1', 'b2');
      expect(shimBuildId(readFileSync(shim))).toBe('a1');
      expect(Node.who(await n.call(shim))).toMatch(/^standalone-/);
      expect(n.log()).toMatch(/this executable is build b2, the shim that started it is build a1/);
      await until('the refused server to be gone', () => pidsMentioning(n.paths.socket).length === 0);
      expect(existsSync(n.paths.socket)).toBe(false);

      // A server of build b2 runs (started by a b2 shim); a shim of build a1 calls it.
      shim = n.install('b2', 'b2');
      const served = Node.who(await n.call(shim));
      const pid = n.serverPid()!;
      expect(served).toBe(`served-${pid}`);
      shim = n.install('a1', 'b2');
      expect(Node.who(await n.call(shim))).toMatch(/^standalone-/);
      await until('the refusing server to exit', () => !isRunning(pid));
      expect(n.log()).toContain('a shim of build a1 called: exiting');
      expect(existsSync(n.paths.socket)).toBe(false);
      // An unstamped shim (build unknown) is served by any build.
      shim = n.install('', 'b2');
      expect(Node.who(await n.call(shim))).toMatch(/^served-/);
    } finally {
      await stopOnDemandServer(n.socket);
    }
  });

  it("a long-running server of another build (the agent's) refuses the call and keeps serving", async () => {
    built();
    await using node = await nodeNetns();
    await using n = new Node(node);
    const shim = n.install('a1', 'a1');
    mkdirSync(join(n.dir, 'run'), { mode: 0o700, recursive: true });
    const mismatches: string[] = [];
    await using server = await servePlugin({
      socketPath: n.socket,
      handlers: {
        add: () => ({ interfaces: [], ips: [], dns: { domain: 'agent' } }),
        del: () => {},
        check: () => {},
      },
      run: { supportedVersions: SPEC_VERSIONS },
      buildId: 'b2',
      onBuildMismatch: (b) => mismatches.push(b),
    });
    expect(Node.who(await n.call(shim, { onDemand: false }))).toMatch(/^standalone-/);
    expect(mismatches).toEqual(['a1']);
    expect(server.served).toBe(0);
    n.install('b2', 'b2');
    expect(Node.who(await n.call(join(n.bin, 'echo'), { onDemand: false }))).toBe('agent');
    expect(server.served).toBe(1);
  });

  it('a retiring server answers what connected before it unlinked, and a successor on its path keeps its socket', async () => {
    built();
    const dir = mkdtempSync(join(tmpdir(), 'mct-retire-'));
    try {
      const socketPath = join(dir, 'run', 'ondemand.sock');
      const serve = (domain: string) =>
        servePlugin({
          socketPath,
          handlers: {
            add: () => ({ interfaces: [], ips: [], dns: { domain } }),
            del: () => {},
            check: () => {},
          },
          run: { supportedVersions: SPEC_VERSIONS },
        });
      const old = await serve('old');
      // A shim that connected before the retirement and sends its request a little later.
      const early = createConnection(socketPath);
      early.on('error', () => {});
      await new Promise((r) => early.once('connect', r));
      const retired = old.retire(400);
      expect(existsSync(socketPath)).toBe(false);
      // A successor takes the path while the old one is still in its grace period.
      await using successor = await serve('new');
      expect(existsSync(socketPath)).toBe(true);
      const env = Buffer.from('CNI_COMMAND=VERSION\0');
      const conf = Buffer.from('{"cniVersion":"1.0.0"}');
      const u32 = (v: number) => Buffer.from([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
      const reply = new Promise<Buffer>((resolve) => {
        const got: Buffer[] = [];
        early.on('data', (d: Buffer) => got.push(d));
        early.on('close', () => resolve(Buffer.concat(got)));
      });
      early.end(
        Buffer.concat([
          Buffer.from('MCNI\0\x03'),
          Buffer.alloc(2),
          u32(env.length),
          env,
          u32(conf.length),
          conf,
        ]),
      );
      const r = await reply;
      expect(r.subarray(0, 6).toString('latin1')).toBe('MCNI\0\x03');
      expect(r.readUInt32BE(6)).toBe(0);
      await retired;
      expect(old.served).toBe(1);
      // Closing the old server left the successor's socket in place, and it answers.
      expect(existsSync(socketPath)).toBe(true);
      expect(readdirSync(join(dir, 'run'))).toEqual(['ondemand.sock']);
      const again = createConnection(socketPath);
      await new Promise((res, rej) => {
        again.once('connect', res);
        again.once('error', rej);
      });
      again.destroy();
      expect(successor.served).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('concurrent first calls start one server', async () => {
    built();
    await using node = await nodeNetns();
    await using n = new Node(node);
    const shim = n.install('b1', 'b1');
    try {
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          n.call(shim, {}, { containerId: `c${i}` }).then((r) => Node.who(r)),
        ),
      );
      const pid = n.serverPid()!;
      expect(new Set(answers)).toEqual(new Set([`served-${pid}`]));
      expect(pidsMentioning(n.dir)).toEqual([pid]);
      expect(n.log().match(/listening on/g)).toHaveLength(1);
    } finally {
      await stopOnDemandServer(n.socket);
    }
  });

  it('stopOnDemandServer stops it and removes its files; a pid file naming another process stops nothing', async () => {
    built();
    await using node = await nodeNetns();
    await using n = new Node(node);
    const shim = n.install('b1', 'b1');
    Node.who(await n.call(shim));
    const pid = n.serverPid()!;
    expect(await stopOnDemandServer(n.socket)).toBe(pid);
    expect(isRunning(pid)).toBe(false);
    for (const f of Object.values(n.paths)) expect(existsSync(f), f).toBe(false);
    expect(await stopOnDemandServer(n.socket)).toBeUndefined();
    // A stale pid file naming a live process that is not the server (this test runner): untouched.
    writeFileSync(n.paths.pidFile, `${process.pid}\n`);
    expect(await stopOnDemandServer(n.socket)).toBeUndefined();
    expect(existsSync(n.paths.pidFile)).toBe(false);
  });
});
