/**
 * A disposable podman (CNI backend) running inside a test's node netns.
 *
 * API:
 * - `podmanFixture(opts: PodmanOptions): Promise<Podman>`:
 *   `opts.node` ({path}: a `TestNetns`), `opts.cniPluginDirs` (where podman finds plugins),
 *   `opts.networkConfigDir` (the dir of conflists; `--network <conflist name>` picks one),
 *   `opts.env` (extra environment on top of `runtimeEnv()`: podman hands its whole environment
 *   to the plugins, so they see a service's PATH/HOME, not the test runner's environment).
 *   Writes a private containers.conf (network_backend cni, runc, cgroupfs, file locks and
 *   events, default_ulimits) and storage.conf (overlay under a temp root), then imports the
 *   busybox image as `localhost/bb:latest` (`BB_IMAGE`).
 * - `podman.podman(args, opts?) -> ExecResult`: any podman command, never throws.
 * - `podman.run(args, opts?) -> stdout`: any podman command, throws `PodmanError` on failure.
 * - `podman.runDetached(name, network, cmd, {ports?, capAdd?, extraArgs?}) -> container id`:
 *   `podman run -d` with NET_RAW (so ping works) and `-p` for each port (`"8080:80"`).
 * - `podman.exec(container, cmd) -> ExecResult`.
 * - `podman.inspectIp(container, network?) -> string`: the container's IPv4 address on that
 *   network (the first one when not given).
 * - `podman.rm(containers?)`: force-removes those containers, or all when none given.
 * - `await using` / `[Symbol.asyncDispose]`: removes every container (CNI DEL runs), kills
 *   conmon/runtime processes still naming the private root, unmounts everything under it,
 *   removes leftover container netns files, deletes the temp dir, and removes the shared
 *   directories it caused (libpod_parent cgroups, /var/lib/cni/results) once they are empty.
 *
 * podman runs under `nsenter --net=<node>` (never `ip netns exec`, which remounts /sys and
 * breaks runc), so bridges, addresses and firewall rules land in the node netns only.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, type ExecOptions, type ExecResult } from './exec.js';
import { busyboxRootfsTar } from './images.js';
import { cgroupDirs, HostDirs } from './host-dirs.js';
import { killPids, pidsMentioning, unmountUnder } from './mounts.js';
import { runtimeEnv } from './runtime-env.js';

export const BB_IMAGE = 'localhost/bb:latest';

export interface PodmanOptions {
  node: { readonly path: string };
  cniPluginDirs: readonly string[];
  networkConfigDir: string;
  env?: Record<string, string>;
}

export interface DetachedOptions {
  /** `-p` values such as `"18080:80"` or `"18080:80/tcp"`. */
  ports?: readonly string[];
  /** Capabilities added on top of NET_RAW. */
  capAdd?: readonly string[];
  extraArgs?: readonly string[];
  image?: string;
}

export type PodmanErrorCode = 'PODMAN_FAILED' | 'PODMAN_NO_ADDRESS' | 'PODMAN_DISPOSE_FAILED';

export class PodmanError extends Error {
  constructor(
    readonly code: PodmanErrorCode,
    message: string,
    readonly result?: ExecResult,
  ) {
    super(message);
    this.name = 'PodmanError';
  }
}

export class Podman implements AsyncDisposable {
  readonly dir: string;
  readonly node: { readonly path: string };
  readonly #env: NodeJS.ProcessEnv;
  #disposed = false;
  // podman with cgroupfs puts containers and conmon under libpod_parent, runc keeps state in its
  // default root, libcni caches results, and image copies record blobs in a machine-wide cache.
  readonly #hostDirs = HostDirs.note([
    ...cgroupDirs('libpod_parent/conmon'),
    ...cgroupDirs('libpod_parent'),
    '/run/runc',
    '/var/lib/cni/results',
    '/var/lib/cni',
    '/var/lib/containers/cache/blob-info-cache-v1.boltdb',
    '/var/lib/containers/cache',
    '/var/lib/containers',
  ]);

  private constructor(dir: string, opts: PodmanOptions) {
    this.dir = dir;
    this.node = opts.node;
    this.#env = runtimeEnv({
      CONTAINERS_CONF: join(dir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
      ...opts.env,
    });
  }

  static async create(opts: PodmanOptions): Promise<Podman> {
    const dir = mkdtempSync(join(tmpdir(), 'minicni-podman-'));
    for (const sub of ['root', 'runroot', 'tmp']) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, 'containers.conf'), containersConf(dir, opts));
    writeFileSync(join(dir, 'storage.conf'), storageConf(dir));
    const podman = new Podman(dir, opts);
    try {
      await podman.run(['import', '--change', 'CMD ["/bin/sh"]', await busyboxRootfsTar(), BB_IMAGE]);
    } catch (err) {
      await podman[Symbol.asyncDispose]();
      throw err;
    }
    return podman;
  }

  podman(args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return exec('nsenter', [`--net=${this.node.path}`, '--wd=/', '--', 'podman', ...args], {
      ...opts,
      env: { ...this.#env, ...opts.env },
    });
  }

  async run(args: readonly string[], opts: ExecOptions = {}): Promise<string> {
    const r = await this.podman(args, opts);
    if (r.code !== 0) {
      throw new PodmanError(
        'PODMAN_FAILED',
        `podman ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim() || r.stdout.trim()}`,
        r,
      );
    }
    return r.stdout;
  }

  async runDetached(
    name: string,
    network: string,
    cmd: readonly string[],
    opts: DetachedOptions = {},
  ): Promise<string> {
    const args = ['run', '-d', '--name', name, '--network', network, '--cap-add', 'NET_RAW'];
    for (const cap of opts.capAdd ?? []) args.push('--cap-add', cap);
    for (const port of opts.ports ?? []) args.push('-p', port);
    args.push(...(opts.extraArgs ?? []), opts.image ?? BB_IMAGE, ...cmd);
    return (await this.run(args)).trim();
  }

  exec(container: string, cmd: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.podman(['exec', ...(opts.stdin ? ['-i'] : []), container, ...cmd], opts);
  }

  async inspectIp(container: string, network?: string): Promise<string> {
    const out = await this.run(['inspect', '--format', '{{json .NetworkSettings.Networks}}', container]);
    const networks = JSON.parse(out) as Record<string, { IPAddress?: string }> | null;
    const entry = network ? networks?.[network] : Object.values(networks ?? {})[0];
    if (!entry?.IPAddress) {
      throw new PodmanError(
        'PODMAN_NO_ADDRESS',
        `container ${container} has no address${network ? ` on network ${network}` : ''}: ${out.trim()}`,
      );
    }
    return entry.IPAddress;
  }

  async rm(containers: readonly string[] = []): Promise<void> {
    await this.run(['rm', '-f', '-t', '0', ...(containers.length ? containers : ['--all'])]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const sandboxes = await this.#sandboxKeys();
    const removed = await this.podman(['rm', '-f', '-t', '0', '--all']);
    // conmon and the containers' processes carry the root in their command line.
    killPids(pidsMentioning(this.dir));
    for (const netns of sandboxes) {
      if (!existsSync(netns)) continue;
      await exec('umount', [netns]);
      rmSync(netns, { force: true });
    }
    const stuck = await unmountUnder(this.dir);
    if (!stuck.length) rmSync(this.dir, { recursive: true, force: true });
    this.#hostDirs.removeCreated();
    if (removed.code !== 0 || stuck.length) {
      throw new PodmanError(
        'PODMAN_DISPOSE_FAILED',
        `podman cleanup was incomplete: ${removed.stderr.trim()} ${stuck.length ? `still mounted: ${stuck.join(', ')}` : ''}`,
        removed,
      );
    }
  }

  /** The netns files of this podman's containers, to remove any the runtime failed to. */
  async #sandboxKeys(): Promise<string[]> {
    const r = await this.podman(['ps', '-aq']);
    const ids = r.stdout.split(/\s+/).filter(Boolean);
    if (r.code !== 0 || !ids.length) return [];
    const out = await this.podman(['inspect', '--format', '{{.NetworkSettings.SandboxKey}}', ...ids]);
    return (
      out.stdout
        .split('\n')
        .map((s) => s.trim())
        // Only the netns podman made itself (netns-<uuid>), never the node's or anyone else's.
        .filter((s) => /^\/run\/netns\/netns-[0-9a-f-]+$/.test(s) && s !== this.node.path)
    );
  }
}

export function podmanFixture(opts: PodmanOptions): Promise<Podman> {
  return Podman.create(opts);
}

/** containers.conf text; pure, so a unit test can read what podman will be told. */
export function containersConf(
  dir: string,
  opts: Pick<PodmanOptions, 'cniPluginDirs' | 'networkConfigDir'>,
): string {
  return [
    '[containers]',
    // Without explicit limits podman fails on setrlimit here (no CAP_SYS_RESOURCE, nofile 20000).
    'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
    '',
    '[network]',
    'network_backend = "cni"',
    `cni_plugin_dirs = ${tomlArray(opts.cniPluginDirs)}`,
    `network_config_dir = ${tomlString(opts.networkConfigDir)}`,
    '',
    '[engine]',
    // crun fails on these machines' hybrid cgroups; there is no systemd to manage cgroups.
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    // File locks and events keep every podman instance's state inside its own dir (shm locks
    // in /dev/shm would be shared with any other podman on the machine).
    'lock_type = "file"',
    'events_logger = "file"',
    `events_logfile_path = ${tomlString(join(dir, 'events.log'))}`,
    `tmp_dir = ${tomlString(join(dir, 'tmp'))}`,
    '',
  ].join('\n');
}

export function storageConf(dir: string): string {
  return [
    '[storage]',
    'driver = "overlay"',
    `graphroot = ${tomlString(join(dir, 'root'))}`,
    `runroot = ${tomlString(join(dir, 'runroot'))}`,
    '',
  ].join('\n');
}

function tomlString(s: string): string {
  return JSON.stringify(s);
}

function tomlArray(items: readonly string[]): string {
  return `[${items.map(tomlString).join(', ')}]`;
}
