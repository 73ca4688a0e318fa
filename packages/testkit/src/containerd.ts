/**
 * A disposable containerd (1.6, config version 2) with its CRI plugin, started by hand inside
 * a test's node netns and driven through the CRI the way kubelet drives it.
 *
 * API:
 * - `containerdFixture(opts: ContainerdOptions): Promise<Containerd>`:
 *   `opts.node` ({path}: a `TestNetns`), `opts.cniBinDir`, `opts.cniConfDir` (the CRI plugin's
 *   `cni.bin_dir` / `conf_dir`; `max_conf_num = 1`; containerd 1.6 takes one bin dir, so given
 *   several, e.g. `[dirOfMinicni, '/usr/lib/cni']`, the fixture links their plugins into one
 *   private dir, the first dir winning a name), `opts.env` (extra environment on top of
 *   `runtimeEnv()`: containerd hands its environment to the plugins), `opts.netnsUnderState` (pod netns under the private
 *   state dir instead of /run/netns, default false as on a real node), `opts.requireNetworkReady`
 *   (wait for the NetworkReady condition too, default true: needs a conflist in cniConfDir),
 *   `opts.startTimeoutMs` (default 30 s), `opts.nodePaths` ({nodePath: testPath}: containerd,
 *   the CNI plugins it runs and the containers it starts see each test dir or file at the node
 *   path, e.g. `/opt/cni/bin` or `/run/minicni`, through bind mounts in a mount namespace of
 *   containerd's own; the machine's own paths are untouched, only missing mount points are
 *   created on it and removed again. Other mounts, /run/netns among them, stay shared.)
 *   Starts `nsenter --net=<node> containerd --config <file>` with private root, state, socket
 *   and runc root under a temp dir, `sandbox_image = "localhost/pause:test"`,
 *   `restrict_oom_score_adj = true`, runc v2; waits until CRI Version and Status answer, then
 *   imports the pause image (`ctr -n k8s.io images import`) and waits until CRI sees it.
 * - `containerd.sandboxConfig(name, opts?) -> PodSandboxConfig`: `podSandboxConfig` with the
 *   fixture's private `cgroupParent` (a pod config without one lands in the shared `k8s.io`).
 * - `containerd.cri: CriClient` (see cri-client.ts), `containerd.socket`, `containerd.dir`,
 *   `containerd.startMs` (spawn -> CRI ready), `containerd.importMs` (pause image import).
 * - `containerd.ctr(args) -> ExecResult`: `ctr -a <socket> ...`.
 * - `containerd.log() -> string`: containerd's log so far (for failure messages).
 * - `containerd.removeAllSandboxes() -> number`: StopPodSandbox + RemovePodSandbox on every
 *   sandbox (CNI DEL runs), returns how many there were.
 * - `containerd.runPodSandboxes(count, {hostPort?}) -> {ids, ms}`: RunPodSandbox for `pod-0`..
 *   `pod-<count-1>` at once (`sandboxConfig`; `pod-0` alone maps `hostPort` to its port 80).
 * - `containerd.removePodSandboxes(ids) -> ms`: StopPodSandbox + RemovePodSandbox on those, at once.
 * - `await using` / `[Symbol.asyncDispose]`: removes every sandbox, stops containerd (SIGTERM,
 *   then SIGKILL), kills leftover shims and their children, removes their sockets and any pod
 *   netns left, unmounts everything under the temp dir and deletes it, and removes the shared
 *   directories it caused (cgroup parents, /run/containerd/s, /var/lib/cni/results) once empty.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  criClient,
  podSandboxConfig,
  sandboxNetnsPath,
  type CriClient,
  type PodSandboxConfig,
  type PodSandboxConfigOptions,
} from './cri-client.js';
import { exec, type ExecResult } from './exec.js';
import { PAUSE_IMAGE, pauseImageTar } from './images.js';
import { cgroupDirs, HostDirs } from './host-dirs.js';
import { killPids, pidsMentioning, unmountUnder } from './mounts.js';
import { runtimeEnv } from './runtime-env.js';
import { testName } from './names.js';

export interface ContainerdOptions {
  node: { readonly path: string };
  cniBinDir: string | readonly string[];
  cniConfDir: string;
  env?: Record<string, string>;
  netnsUnderState?: boolean;
  requireNetworkReady?: boolean;
  startTimeoutMs?: number;
  nodePaths?: Readonly<Record<string, string>>;
}

export type ContainerdErrorCode =
  'CONTAINERD_START_FAILED' | 'CONTAINERD_IMPORT_FAILED' | 'CONTAINERD_DISPOSE_FAILED';

export class ContainerdError extends Error {
  constructor(
    readonly code: ContainerdErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ContainerdError';
  }
}

/** The namespace the CRI plugin keeps kubelet's images and sandboxes in. */
export const CRI_NAMESPACE = 'k8s.io';

export class Containerd implements AsyncDisposable {
  readonly dir: string;
  readonly socket: string;
  readonly cri: CriClient;
  /** A cgroup parent of this fixture's own, removed on dispose (`sandboxConfig` uses it). */
  readonly cgroupParent = `/${testName('cg')}`;
  startMs = 0;
  importMs = 0;
  readonly #opts: ContainerdOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  #disposed = false;
  readonly #hostDirs: HostDirs;

  private constructor(dir: string, opts: ContainerdOptions) {
    this.dir = dir;
    this.socket = join(dir, 'containerd.sock');
    this.cri = criClient(this.socket);
    this.#opts = opts;
    this.#hostDirs = HostDirs.note([
      ...cgroupDirs(this.cgroupParent),
      // Where sandboxes go when their config names no cgroup parent (the CRI namespace).
      ...cgroupDirs(CRI_NAMESPACE),
      '/run/containerd/s',
      // `ctr run` (no CRI runtime options) uses runc's default root and a fifo dir here.
      `/run/containerd/runc/${CRI_NAMESPACE}`,
      '/run/containerd/runc',
      '/run/containerd/fifo',
      '/run/containerd',
      '/var/lib/cni/results',
      '/var/lib/cni',
      ...Object.keys(opts.nodePaths ?? {}).flatMap(withAncestors),
    ]);
  }

  static async create(opts: ContainerdOptions): Promise<Containerd> {
    const dir = mkdtempSync(join(tmpdir(), 'minicni-containerd-'));
    const fx = new Containerd(dir, opts);
    try {
      await fx.#start();
      await fx.#importPause();
    } catch (err) {
      await fx[Symbol.asyncDispose]().catch(() => {});
      throw err;
    }
    return fx;
  }

  /** `podSandboxConfig` with this fixture's private cgroup parent, so no shared cgroup is made. */
  sandboxConfig(name: string, opts: PodSandboxConfigOptions = {}): PodSandboxConfig {
    return podSandboxConfig(name, { cgroupParent: this.cgroupParent, ...opts });
  }

  ctr(args: readonly string[]): Promise<ExecResult> {
    return exec('ctr', ['-a', this.socket, ...args]);
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, 'containerd.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async removeAllSandboxes(): Promise<number> {
    const items = await this.cri.listPodSandbox();
    await this.removePodSandboxes(items.map((s) => s.id));
    return items.length;
  }

  /**
   * RunPodSandbox for `count` sandboxes `pod-0`.. at once, each with `sandboxConfig`; with
   * `hostPort`, `pod-0` alone maps that TCP port to its port 80. The ids in pod order, and how
   * long the lot took.
   */
  async runPodSandboxes(
    count: number,
    opts: { hostPort?: number } = {},
  ): Promise<{ ids: string[]; ms: number }> {
    const started = Date.now();
    const ids = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        this.cri.runPodSandbox(
          this.sandboxConfig(`pod-${i}`, {
            portMappings:
              i === 0 && opts.hostPort !== undefined
                ? [{ protocol: 'TCP', containerPort: 80, hostPort: opts.hostPort }]
                : [],
          }),
        ),
      ),
    );
    return { ids, ms: Date.now() - started };
  }

  /** StopPodSandbox + RemovePodSandbox (CNI DEL runs) on each sandbox, all at once; returns the ms taken. */
  async removePodSandboxes(ids: readonly string[]): Promise<number> {
    const started = Date.now();
    await Promise.all(
      ids.map(async (id) => {
        await this.cri.stopPodSandbox(id);
        await this.cri.removePodSandbox(id);
      }),
    );
    return Date.now() - started;
  }

  async #start(): Promise<void> {
    for (const sub of ['root', 'state', 'runc', 'opt']) mkdirSync(join(this.dir, sub));
    const cniBinDir = binDir(this.dir, this.#opts.cniBinDir);
    writeFileSync(join(this.dir, 'config.toml'), containerdConfig(this.dir, this.#opts, cniBinDir));
    const logFd = openSync(join(this.dir, 'containerd.log'), 'a');
    const started = Date.now();
    // Started from / like a service, so plugins do not inherit the test's working dir.
    const command = [
      'nsenter',
      `--net=${this.#opts.node.path}`,
      '--wd=/',
      '--',
      'containerd',
      '--config',
      join(this.dir, 'config.toml'),
    ];
    const [file, ...args] = withNodePaths(this.#opts.nodePaths ?? {}, command);
    const child = spawn(file!, args, { stdio: ['ignore', logFd, logFd], env: runtimeEnv(this.#opts.env) });
    closeSync(logFd);
    this.#child = child;
    let exitInfo: string | undefined;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = `exited ${code ?? signal}`;
        resolve();
      });
      child.once('error', (err) => {
        exitInfo = `could not start: ${err.message}`;
        resolve();
      });
    });

    const deadline = started + (this.#opts.startTimeoutMs ?? 30_000);
    const requireNetwork = this.#opts.requireNetworkReady ?? true;
    let last = 'socket not there yet';
    while (Date.now() < deadline) {
      if (exitInfo) {
        throw new ContainerdError('CONTAINERD_START_FAILED', `containerd ${exitInfo}:\n${tail(this.log())}`);
      }
      if (existsSync(this.socket)) {
        try {
          await this.cri.version();
          const status = await this.cri.status();
          const conditions = status.status?.conditions ?? [];
          const unmet = conditions.filter(
            (c) => !c.status && (c.type === 'RuntimeReady' || (requireNetwork && c.type === 'NetworkReady')),
          );
          if (conditions.length && !unmet.length) {
            this.startMs = Date.now() - started;
            return;
          }
          last =
            unmet.map((c) => `${c.type}: ${c.reason} ${c.message}`).join('; ') || 'no conditions reported';
        } catch (err) {
          last = (err as Error).message;
        }
      }
      await sleep(50);
    }
    throw new ContainerdError(
      'CONTAINERD_START_FAILED',
      `containerd did not become ready in time (${last}):\n${tail(this.log())}`,
    );
  }

  async #importPause(): Promise<void> {
    const started = Date.now();
    const r = await this.ctr(['-n', CRI_NAMESPACE, 'images', 'import', await pauseImageTar()]);
    if (r.code !== 0) {
      throw new ContainerdError('CONTAINERD_IMPORT_FAILED', `ctr images import failed: ${r.stderr.trim()}`);
    }
    // The CRI plugin learns about the image from an event; RunPodSandbox would try a registry
    // pull if it ran before that.
    for (let i = 0; i < 200; i++) {
      if (await this.cri.imageStatus(PAUSE_IMAGE)) {
        this.importMs = Date.now() - started;
        return;
      }
      await sleep(25);
    }
    throw new ContainerdError(
      'CONTAINERD_IMPORT_FAILED',
      `the CRI plugin does not see ${PAUSE_IMAGE} after import`,
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const problems: string[] = [];
    const netnsPaths = new Set<string>();
    if (this.#child && existsSync(this.socket)) {
      try {
        const items = await this.cri.listPodSandbox();
        await Promise.all(
          items.map(async (s) => {
            const path = sandboxNetnsPath(
              await this.cri.podSandboxStatus(s.id, true).catch(() => ({ status: null, info: {} })),
            );
            // Only netns the CRI plugin made (cni-<uuid>), never the node's or anyone else's.
            if (
              path &&
              (/^(\/var)?\/run\/netns\/cni-[0-9a-f-]+$/.test(path) || path.startsWith(`${this.dir}/`))
            ) {
              netnsPaths.add(path);
            }
            await this.cri.stopPodSandbox(s.id);
            await this.cri.removePodSandbox(s.id);
          }),
        );
      } catch (err) {
        problems.push(`removing sandboxes: ${(err as Error).message}`);
      }
    }
    this.cri.close();
    await this.#stopDaemon();

    // Whatever survived: shims (their command line names our socket), the pause processes they
    // started, the shims' sockets, and pod netns the CRI plugin did not remove.
    const shimSockets = this.#shimSockets();
    // A shim exits on its own shortly after its sandbox is removed; only one still there after
    // a grace period is a leftover.
    let shims = pidsMentioning(this.dir);
    for (let i = 0; i < 40 && shims.length; i++) {
      await sleep(50);
      shims = pidsMentioning(this.dir);
    }
    if (shims.length) problems.push(`killed ${shims.length} leftover process(es)`);
    killPids([...childrenOf(shims), ...shims]);
    for (const sock of shimSockets) rmSync(sock, { force: true });
    for (const path of netnsPaths) {
      if (!existsSync(path)) continue;
      problems.push(`pod netns ${path} was left behind`);
      await exec('umount', [path]);
      rmSync(path, { force: true });
    }
    const stuck = await unmountUnder(this.dir);
    if (stuck.length) problems.push(`still mounted: ${stuck.join(', ')}`);
    else rmSync(this.dir, { recursive: true, force: true });
    const inUse = this.#hostDirs.removeCreated().filter((d) => d.includes(this.cgroupParent));
    if (inUse.length) problems.push(`cgroups still in use: ${inUse.join(', ')}`);
    if (problems.length) {
      throw new ContainerdError('CONTAINERD_DISPOSE_FAILED', `containerd cleanup: ${problems.join('; ')}`);
    }
  }

  async #stopDaemon(): Promise<void> {
    const child = this.#child;
    if (!child || !this.#exited || child.exitCode !== null || child.signalCode !== null) return;
    // nsenter execs containerd in place, so the child's pid is containerd's.
    child.kill('SIGTERM');
    const stopped = await Promise.race([this.#exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!stopped) {
      child.kill('SIGKILL');
      await this.#exited;
    }
  }

  /** Shim sockets live outside our dir (/run/containerd/s/<hash>); each bundle records its own. */
  #shimSockets(): string[] {
    const bundles = join(this.dir, 'state', 'io.containerd.runtime.v2.task', CRI_NAMESPACE);
    const sockets: string[] = [];
    let ids: string[] = [];
    try {
      ids = readdirSync(bundles);
    } catch {
      return sockets;
    }
    for (const id of ids) {
      try {
        const address = readFileSync(join(bundles, id, 'address'), 'utf8').trim();
        if (address.startsWith('unix://')) sockets.push(address.slice('unix://'.length));
      } catch {
        // No address file: the shim never started or cleaned up after itself.
      }
    }
    return sockets;
  }
}

export function containerdFixture(opts: ContainerdOptions): Promise<Containerd> {
  return Containerd.create(opts);
}

function childrenOf(parents: readonly number[]): number[] {
  if (!parents.length) return [];
  const set = new Set(parents);
  const kids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (set.has(ppid)) kids.push(Number(entry));
    } catch {
      // Gone.
    }
  }
  return kids;
}

/** `path` and each of its parents up to the root, deepest first. */
function withAncestors(path: string): string[] {
  const out: string[] = [];
  for (let p = path; p !== '/' && p !== '.'; p = dirname(p)) out.push(p);
  return out;
}

/**
 * `command` run in a new mount namespace where each node path is a bind mount of its test dir or
 * file. The mount that holds each target is made private there first, so no bind can propagate
 * back to the machine (on a machine whose / is shared); mounts made elsewhere, like the pod netns
 * under the shared /run/netns, still propagate both ways. `unshare` and `sh` exec in place, so
 * the child's pid stays containerd's.
 */
function withNodePaths(nodePaths: Readonly<Record<string, string>>, command: readonly string[]): string[] {
  const pairs = Object.entries(nodePaths);
  if (!pairs.length) return [...command];
  for (const [target, source] of pairs) {
    const isDir = statSync(source).isDirectory();
    mkdirSync(isDir ? target : dirname(target), { recursive: true });
    if (!isDir && !existsSync(target)) writeFileSync(target, '');
  }
  const script =
    'set -e; while [ "$1" != -- ]; do ' +
    'mount --make-private "$(findmnt -n -o TARGET --target "$1")"; mount --bind "$2" "$1"; shift 2; done; ' +
    'shift; exec "$@"';
  return [
    'unshare',
    '--mount',
    '--propagation',
    'unchanged',
    '--',
    'sh',
    '-c',
    script,
    'sh',
    ...pairs.flat(),
    '--',
    ...command,
  ];
}

/** containerd 1.6 takes a single CNI bin dir: merge several into one of symlinks. */
function binDir(dir: string, dirs: string | readonly string[]): string {
  if (typeof dirs === 'string') return dirs;
  const merged = join(dir, 'cni-bin');
  mkdirSync(merged, { recursive: true });
  const seen = new Set<string>();
  for (const from of dirs) {
    for (const name of readdirSync(from)) {
      if (seen.has(name)) continue;
      seen.add(name);
      symlinkSync(join(from, name), join(merged, name));
    }
  }
  return merged;
}

function tail(text: string, lines = 30): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** The config file's text; pure, so a unit test can read what containerd will be told. */
export function containerdConfig(dir: string, opts: ContainerdOptions, cniBinDir: string): string {
  const q = (s: string) => JSON.stringify(s);
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    // containerd 1.6 reads config version 2 (version 3 arrived with 2.0).
    'version = 2',
    `root = ${q(join(dir, 'root'))}`,
    `state = ${q(join(dir, 'state'))}`,
    // Snapshotters that cannot work here only slow the start and fill the log.
    'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", ' +
      '"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]',
    '',
    '[grpc]',
    `  address = ${q(join(dir, 'containerd.sock'))}`,
    '[ttrpc]',
    `  address = ${q(join(dir, 'containerd.sock.ttrpc'))}`,
    '',
    '[plugins]',
    '  [plugins."io.containerd.internal.v1.opt"]',
    `    path = ${q(join(dir, 'opt'))}`,
    `  [${cri}]`,
    `    sandbox_image = ${q('localhost/pause:test')}`,
    // No CAP_SYS_RESOURCE here: lowering oom_score_adj below containerd's own would fail.
    '    restrict_oom_score_adj = true',
    // A random stream port, so several fixtures can run at once.
    '    stream_server_address = "127.0.0.1"',
    '    stream_server_port = "0"',
    `    netns_mounts_under_state_dir = ${opts.netnsUnderState ? 'true' : 'false'}`,
    `    [${cri}.containerd]`,
    '      snapshotter = "overlayfs"',
    '      default_runtime_name = "runc"',
    `      [${cri}.containerd.runtimes.runc]`,
    '        runtime_type = "io.containerd.runc.v2"',
    `        [${cri}.containerd.runtimes.runc.options]`,
    `          Root = ${q(join(dir, 'runc'))}`,
    '          SystemdCgroup = false',
    `    [${cri}.cni]`,
    `      bin_dir = ${q(cniBinDir)}`,
    `      conf_dir = ${q(opts.cniConfDir)}`,
    '      max_conf_num = 1',
    '',
  ].join('\n');
}
