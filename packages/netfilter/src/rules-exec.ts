import { toolRunner, type PluginExec, type ToolRun } from '@minicni/spec/invoke';

export type Family = 4 | 6;

/** Runs one iptables tool; a tool that cannot be started must read as exit 127, as in a shell. */
export type RulesExec = ToolRun;

/** iptables tools through any `@minicni/spec` process runner (spec's `toolRunner`). */
export function rulesExecVia(exec: PluginExec): RulesExec {
  return toolRunner(undefined, exec);
}

/** The tools run in this process's netns, or in the netns at `netns` (a path) through nsenter. */
export function spawnRulesExec(netns?: string): RulesExec {
  return toolRunner(netns);
}
