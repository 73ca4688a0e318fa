import { writeFileSync } from 'node:fs';
import { nsenterExec, spawnExec, type PluginExec } from '@minicni/spec/invoke';
import { Netlink, sysctl } from '@minicni/netlink';

/** How a tool ran in the node netns; a tool that cannot start reads as exit 127. */
export interface ToolOutcome {
  /** Exit status; null when a signal ended it. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a tool (iptables-restore, say) in the node netns, `stdin` on its standard input. */
export type NodeRun = (file: string, args: readonly string[], stdin?: string) => Promise<ToolOutcome>;

/**
 * Where a plugin acts as "the node": its own netns when a runtime runs it, or a given netns
 * (tests, tools, a process that serves the plugin for another netns). Every node-side operation
 * goes through here, so no code path can reach the caller's netns by accident.
 */
export interface NodeEnv {
  /** Path of the node netns; undefined = this process's own. */
  readonly netns: string | undefined;
  /** A netlink handle in the node netns; close it (or `using`) when done. */
  openHost(): Netlink;
  /** Writes /proc/sys/`key` as the node netns sees it. */
  setSysctl(key: string, value: number): void;
  /** Turns on routing for one IP family (a gateway or an L3 plugin needs it). */
  enableForwarding(family: 4 | 6): void;
  run: NodeRun;
}

export interface NodeEnvOptions {
  netns?: string;
  /** Runs tools another way (tests); default: spawn, through nsenter when `netns` is given. */
  run?: NodeRun;
}

export function nodeEnv(opts: NodeEnvOptions = {}): NodeEnv {
  const { netns } = opts;
  const setSysctl = (key: string, value: number): void => {
    // Our own netns: a plain write, no addon call needed.
    if (netns) sysctl.write(netns, key, value);
    else writeFileSync(`/proc/sys/${key}`, `${value}\n`);
  };
  return {
    netns,
    openHost: () => Netlink.open(netns ? { netns } : {}),
    setSysctl,
    enableForwarding: (family) =>
      setSysctl(family === 4 ? 'net/ipv4/ip_forward' : 'net/ipv6/conf/all/forwarding', 1),
    run: opts.run ?? runVia(netns ? nsenterExec(netns) : spawnExec),
  };
}

/** Tools through spec's process runner (the same one delegation uses). */
function runVia(exec: PluginExec): NodeRun {
  return async (file, args, stdin) => {
    try {
      const r = await exec({ file, args, env: process.env, stdin: stdin ?? '' });
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      return { code: 127, stdout: '', stderr: `${file}: ${(err as Error).message}` };
    }
  };
}
