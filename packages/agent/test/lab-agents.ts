import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { LabNode, MultiNodeLab } from '@minicni/testkit/multinode';
import { exec } from '@minicni/testkit';

/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** The agent CLI running inside one lab node's netns, as the DaemonSet would run it on a node. */
export class LabAgent {
  readonly node: LabNode;
  readonly #lab: MultiNodeLab;
  readonly #bundle: string;
  child: ChildProcess | undefined;
  #server: ChildProcess | undefined;
  readonly logFile: string;
  readonly readyFile: string;
  readonly #source: readonly string[] | undefined;

  /**
   * `source` replaces the node source flags (default: `--nodes-file` with the lab's node list),
   * e.g. `['--server', url]` for an API stand-in reachable from the node's netns.
   */
  constructor(lab: MultiNodeLab, node: LabNode, bundle: string, opts: { source?: readonly string[] } = {}) {
    this.#lab = lab;
    this.node = node;
    this.#bundle = bundle;
    this.#source = opts.source;
    const dir = join(lab.dir, node.name);
    mkdirSync(dir, { recursive: true });
    this.logFile = join(dir, 'agent.log');
    this.readyFile = join(dir, 'ready');
  }

  start(mode: string, extra: string[] = []): void {
    if (this.child) throw new Error(`agent on ${this.node.name} already running`);
    rmSync(this.readyFile, { force: true });
    const log = openSync(this.logFile, 'a');
    const args = [
      `--net=${this.node.ns.path}`,
      '--',
      process.execPath,
      this.#bundle,
      'run',
      '--node-name',
      this.node.name,
      ...(this.#source ?? ['--nodes-file', nodesFilePath(this.#lab)]),
      '--mode',
      mode,
      '--resync',
      '1s',
      '--metrics-address',
      '127.0.0.1:9153',
      '--ready-file',
      this.readyFile,
      '--ipam-data-dir',
      join(this.#lab.dir, this.node.name, 'ipam'),
      // Every node netns shares the machine's /run: each agent gets its own hand-off socket.
      '--policy-socket',
      join(this.#lab.dir, this.node.name, 'policy.sock'),
      ...extra,
    ];
    // nsenter execs the agent in place, so this pid is the agent's own.
    this.child = spawn('nsenter', args, { stdio: ['ignore', log, log] });
    closeSync(log);
  }

  async waitReady(ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    while (!existsSync(this.readyFile)) {
      if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) {
        throw new Error(`agent on ${this.node.name} exited ${this.child.exitCode}:\n${this.log()}`);
      }
      if (Date.now() > end)
        throw new Error(`agent on ${this.node.name} not ready within ${ms} ms:\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * The plugin served beside the agent, as the DaemonSet's `plugin` container runs it: the
   * plugin executable's `serve` in the node netns, in a process of its own. Resolves once the
   * socket is there; `stop()` stops it with the agent.
   */
  async servePlugin(executable: string, socket: string, ms = 10_000): Promise<void> {
    if (this.#server) throw new Error(`a plugin server on ${this.node.name} is already running`);
    const log = openSync(join(this.#lab.dir, this.node.name, 'plugin-server.log'), 'a');
    const args = [`--net=${this.node.ns.path}`, '--', executable, 'serve', '--socket', socket];
    this.#server = spawn('nsenter', args, { stdio: ['ignore', log, log] });
    closeSync(log);
    const end = Date.now() + ms;
    while (!existsSync(socket)) {
      if (this.#server.exitCode !== null || Date.now() > end)
        throw new Error(`plugin server on ${this.node.name} did not listen on ${socket}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const children = [this.child, this.#server];
    this.child = undefined;
    this.#server = undefined;
    await Promise.all(children.map((c) => stopChild(c, signal)));
  }

  /** Resident set size in KiB, from /proc. */
  rssKiB(): number {
    const status = readFileSync(`/proc/${this.child!.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  }

  /** User + system CPU seconds so far, from /proc. */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.child!.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  }

  /** GET a path of the agent's health server, from inside its netns. */
  async http(path: string): Promise<{ status: number; body: string }> {
    const script = `fetch('http://127.0.0.1:9153${path}').then(async r => process.stdout.write(r.status + '\\n' + await r.text()))`;
    const r = await exec('nsenter', [`--net=${this.node.ns.path}`, '--', process.execPath, '-e', script]);
    const nl = r.stdout.indexOf('\n');
    return { status: Number(r.stdout.slice(0, nl)), body: r.stdout.slice(nl + 1) };
  }

  log(): string {
    return existsSync(this.logFile)
      ? readFileSync(this.logFile, 'utf8').split('\n').slice(-40).join('\n')
      : '';
  }
}

export function nodesFilePath(lab: MultiNodeLab): string {
  return join(lab.dir, 'nodes.json');
}

/** Replaces the nodes file atomically (the agents watch its directory). */
export function writeNodesFile(lab: MultiNodeLab, names: string[]): void {
  const path = nodesFilePath(lab);
  writeFileSync(`${path}.tmp`, lab.nodesFile(names));
  renameSync(`${path}.tmp`, path);
}

/** SIGTERM (or `signal`), then SIGKILL after 5 s; resolves when the process is gone. */
async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill(signal);
  });
}
