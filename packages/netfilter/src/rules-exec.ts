import { nsenterExec, spawnExec, type PluginExec } from '@minicni/spec/invoke';

export type Family = 4 | 6;

/** Runs one iptables tool; a tool that cannot be started must read as exit 127, as in a shell. */
export interface RulesExec {
  (
    file: string,
    args: readonly string[],
    stdin?: string,
  ): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/**
 * iptables tools run as child processes through spec's process runner (inherit the environment,
 * stdin piped), through `nsenter --net` into `netns` when given; a tool that cannot start reads
 * as exit 127.
 */
export function rulesExecVia(exec: PluginExec): RulesExec {
  return async (file, args, stdin) => {
    try {
      const r = await exec({ file, args, env: process.env, stdin: stdin ?? '' });
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      return { code: 127, stdout: '', stderr: `${file}: ${(err as Error).message}` };
    }
  };
}

/** The tools run in this process's netns, or in the netns at `netns` (a path) through nsenter. */
export function spawnRulesExec(netns?: string): RulesExec {
  return rulesExecVia(netns ? nsenterExec(netns) : spawnExec);
}
