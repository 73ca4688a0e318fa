// minicni on a node without the agent: the built shim (dist/minicni-shim, stamped with the
// executable's build id) installed as `minicni` beside the single executable as
// `minicni-standalone`, with "onDemand": true. The first call starts `minicni-standalone serve`
// itself, the next ones reuse it, and `minicni uninstall` stops it. The socket directory is a temp
// dir (agentSocket), never /run/minicni; the mechanism on its own is tested in
// packages/fastpath/test/on-demand.root.test.ts.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeNetns, podNetns, runPluginInNode, type PluginCall, type TestNetns } from '@minicni/testkit';
import { onDemandPaths, shimBuildId } from '@minicni/fastpath';
import { isRunning } from '@minicni/testkit/mounts';

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const PLUGIN = join(DIST, 'minicni');
const SHIM = join(DIST, 'minicni-shim');

class Fixture implements AsyncDisposable {
  readonly dir = mkdtempSync(join(tmpdir(), 'mct-mcod-'));
  readonly socket = join(this.dir, 'run', 'plugin.sock');
  readonly paths = onDemandPaths(this.socket);
  readonly bin = join(this.dir, 'bin');
  readonly shim = join(this.bin, 'minicni');
  readonly standalone = join(this.bin, 'minicni-standalone');
  constructor(readonly node: TestNetns) {
    for (const f of [PLUGIN, SHIM])
      if (!existsSync(f)) throw new Error(`${f} is missing: run \`pnpm build\` first`);
    mkdirSync(this.bin);
    copyFileSync(SHIM, this.shim); // a copy: the shim finds minicni-standalone beside its own file
    symlinkSync(PLUGIN, this.standalone);
  }

  call(call: PluginCall) {
    return runPluginInNode(
      this.node,
      this.shim,
      { path: '/usr/lib/cni', ...call },
      {
        cniVersion: '1.1.0',
        name: 'mct-od',
        type: 'minicni',
        bridge: 'mctod0',
        subnet: '10.244.43.0/24',
        dataDir: join(this.dir, 'data'),
        agentSocket: this.socket,
        onDemand: true,
      },
    );
  }

  serverPid(): number | undefined {
    return existsSync(this.paths.pidFile) ? Number(readFileSync(this.paths.pidFile, 'utf8')) : undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // Whatever a failing test left: every process naming this dir.
    for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(this.dir)) process.kill(Number(p), 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('minicni on a node without the agent: the on-demand server', () => {
  it('the first ADD starts `minicni-standalone serve`, later calls reuse it, `minicni uninstall` stops it', async () => {
    await using node = await nodeNetns();
    await using f = new Fixture(node);
    await using pod1 = await podNetns();
    await using pod2 = await podNetns();
    const add1 = await f.call({ command: 'ADD', containerId: 'odc1', netns: pod1.path, ifname: 'eth0' });
    expect(add1.code, add1.stdout + add1.stderr).toBe(0);
    expect(add1.json).toMatchObject({ ips: [{ address: expect.stringMatching(/^10\.244\.43\.\d+\/24$/) }] });
    const pid = f.serverPid()!;
    expect(isRunning(pid)).toBe(true);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv.slice(0, 8)).toEqual([
      f.standalone,
      'serve',
      '--socket',
      f.paths.socket,
      '--idle-exit',
      '60',
      '--pid-file',
      f.paths.pidFile,
    ]);
    // The shim passes its build id; the executable started only because it is its own.
    const build = shimBuildId(readFileSync(SHIM));
    expect(build).toMatch(/^[0-9a-f]{24}$/);
    expect(argv.slice(8, 10)).toEqual(['--build-id', build]);
    const version = await node.exec(f.standalone, ['version']);
    expect(version.stdout).toContain(`build ${build}`);

    const add2 = await f.call({ command: 'ADD', containerId: 'odc2', netns: pod2.path, ifname: 'eth0' });
    expect(add2.code, add2.stdout + add2.stderr).toBe(0);
    const check = await f.call({ command: 'STATUS' });
    expect(check.code, check.stdout).toBe(0);
    expect(f.serverPid()).toBe(pid);
    expect(readFileSync(f.paths.logFile, 'utf8').match(/listening on/g)).toHaveLength(1);
    for (const [id, pod] of [
      ['odc1', pod1],
      ['odc2', pod2],
    ] as const) {
      const del = await f.call({ command: 'DEL', containerId: id, netns: pod.path, ifname: 'eth0' });
      expect(del.code, del.stdout + del.stderr).toBe(0);
    }
    expect(isRunning(pid)).toBe(true);

    const un = await node.exec(f.standalone, ['uninstall', '--socket', f.socket]);
    expect(un.code, un.stderr).toBe(0);
    expect(un.stdout).toContain(`minicni: on-demand plugin server (pid ${pid}) stopped`);
    expect(un.stdout).toContain('minicni: node rules removed');
    expect(isRunning(pid)).toBe(false);
    for (const p of Object.values(f.paths)) expect(existsSync(p), p).toBe(false);
    const again = await node.exec(f.standalone, ['uninstall', '--socket', f.socket]);
    expect(again.stdout).toContain('no on-demand plugin server was running');
    const bad = await node.exec(f.standalone, ['uninstall', '--socket']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('minicni: --socket needs a value\n');
  });
});
