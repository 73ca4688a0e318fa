import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { exec, run, type ExecOptions, type ExecResult } from './exec.js';
import { testName } from './names.js';
import { recordNetns } from './run-registry.js';

export const NETNS_DIR = '/run/netns';

/**
 * Where the minicni executable keeps its "node rules ensured" stamps (minicni's
 * `DEFAULT_STAMP_DIR`; a minicni test checks the two agree). Each is named after the node netns
 * inode: state of the node that must go with the node, since a test node's /run is the machine's.
 */
export const MINICNI_STAMP_DIR = '/run/minicni/rules';

/**
 * The stamps and rules locks named after one of `inodes`: `<inode>-...`, `<inode>.lock`, and the
 * lock's `<inode>.lock.break-<n>` that a waiter killed while taking over a stale lock leaves.
 */
export function nodeStamps(inodes: ReadonlySet<number>): string[] {
  let names: string[];
  try {
    names = readdirSync(MINICNI_STAMP_DIR);
  } catch {
    return [];
  }
  return names
    .filter((n) => inodes.has(Number(/^(\d+)(?:-|\.lock(?:$|\.break-))/.exec(n)?.[1])))
    .map((n) => join(MINICNI_STAMP_DIR, n));
}

/** Removes the stamps and the rules lock keyed by a netns inode. */
export function removeNodeStamps(inode: number): void {
  for (const p of nodeStamps(new Set([inode]))) rmSync(p, { force: true });
}

/**
 * A throwaway network namespace made with `ip netns add`. Dispose it (`await using`) and it is
 * deleted with everything inside it, even when the test failed.
 */
export class TestNetns implements AsyncDisposable {
  readonly name: string;
  readonly path: string;
  /** The netns inode (what minicni's stamps are named after). */
  inode = 0;
  #disposed = false;

  private constructor(name: string) {
    this.name = name;
    this.path = `${NETNS_DIR}/${name}`;
  }

  static async create(purpose = 'ns'): Promise<TestNetns> {
    const ns = new TestNetns(testName(purpose));
    await run('ip', ['netns', 'add', ns.name]);
    ns.inode = statSync(ns.path).ino;
    recordNetns(ns.name, ns.inode);
    await run('ip', ['-n', ns.name, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * Runs a command with this netns as its network namespace. `nsenter --net` keeps the
   * caller's mounts (unlike `ip netns exec`, which remounts /sys and breaks runc).
   */
  exec(file: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    return exec('nsenter', [`--net=${this.path}`, '--', file, ...args], opts);
  }

  run(file: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<string> {
    return run('nsenter', [`--net=${this.path}`, '--', file, ...args], opts);
  }

  /** `ip -j ...` inside this netns, parsed. */
  async ipJson<T = unknown>(...args: string[]): Promise<T> {
    const out = await run('ip', ['-n', this.name, '-j', ...args]);
    return (out.trim() ? JSON.parse(out) : []) as T;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    // Kill anything a test left running in here first, or the netns outlives its name.
    await exec('ip', ['netns', 'pids', this.name]).then(async (r) => {
      const pids = r.stdout.split(/\s+/).filter(Boolean);
      if (pids.length) await exec('kill', ['-9', ...pids]);
    });
    // While the inode is still ours (a later netns may reuse it).
    removeNodeStamps(this.inode);
    const r = await exec('ip', ['netns', 'del', this.name]);
    if (r.code !== 0 && !/No such file/.test(r.stderr)) {
      throw new Error(`could not delete netns ${this.name}: ${r.stderr.trim()}`);
    }
  }
}

/** A "node": a netns standing in for a Kubernetes node, where the plugin and runtimes run. */
export function nodeNetns(): Promise<TestNetns> {
  return TestNetns.create('node');
}

/** A "pod": the sandbox netns a runtime would hand the plugin as CNI_NETNS. */
export function podNetns(): Promise<TestNetns> {
  return TestNetns.create('pod');
}
