import { writeFileSync } from 'node:fs';
import { Netlink, sysctl } from '@minicni/netlink';
import { spawnRulesExec, type RulesExec } from '@minicni/netfilter';
import { DEFAULT_STAMP_DIR } from './rules-stamp.js';

/**
 * Where the plugin acts as "the node": its own netns when run by a runtime, or a given netns
 * (tests, tools, an agent embedding the plugin). Everything that touches the node goes through
 * here, so no code path can reach the caller's netns by accident.
 */
export interface NodeEnv {
  /** Path of the node netns; undefined = this process's own. */
  readonly netns: string | undefined;
  openHost(): Netlink;
  setSysctl(key: string, value: number): void;
  rulesExec: RulesExec;
  /** Where "rules ensured" stamps live. */
  readonly stampDir: string;
}

export interface NodeEnvOptions {
  netns?: string;
  rulesExec?: RulesExec;
  stampDir?: string;
}

export function nodeEnv(opts: NodeEnvOptions = {}): NodeEnv {
  const { netns } = opts;
  return {
    netns,
    openHost: () => Netlink.open(netns ? { netns } : {}),
    setSysctl: (key, value) => {
      // Our own netns: a plain write, no addon call needed.
      if (netns) sysctl.write(netns, key, value);
      else writeFileSync(`/proc/sys/${key}`, `${value}\n`);
    },
    rulesExec: opts.rulesExec ?? spawnRulesExec(netns),
    stampDir: opts.stampDir ?? DEFAULT_STAMP_DIR,
  };
}
