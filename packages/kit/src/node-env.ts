import { writeFileSync } from 'node:fs';
import { toolRunner, type ToolOutcome, type ToolRun } from '@minicni/spec/invoke';
import { Netlink, sysctl } from '@minicni/netlink';

export type { ToolOutcome };

/** Runs a tool (iptables-restore, say) in the node netns, `stdin` on its standard input. */
export type NodeRun = ToolRun;

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
    run: opts.run ?? toolRunner(netns),
  };
}
