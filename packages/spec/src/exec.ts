import { nodeChildProcess } from './builtins.js';

/** One process run: what a runtime or a delegating plugin hands to a plugin binary. */
export interface ExecRequest {
  file: string;
  args?: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  stdin: string | Uint8Array;
  timeoutMs?: number;
}

export interface ExecOutcome {
  /** Exit status; null when killed by a signal. */
  code: number | null;
  signal?: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a process to completion. Rejects only when it cannot be started, with the OS error
 * (its `code`, e.g. ETXTBSY, is what the retry logic looks at).
 */
export type PluginExec = (req: ExecRequest) => Promise<ExecOutcome>;

/** The default exec: node:child_process, loaded on first use to keep `import` cheap. */
export const spawnExec: PluginExec = (req) => {
  const { spawn } = nodeChildProcess();
  return new Promise<ExecOutcome>((resolve, reject) => {
    const child = spawn(req.file, [...(req.args ?? [])], {
      env: req.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(req.timeoutMs === undefined ? {} : { timeout: req.timeoutMs }),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    // A plugin that exits without reading stdin closes the pipe under us; that is not an error.
    child.stdin.on('error', () => {});
    child.stdin.end(req.stdin);
  });
};

/**
 * Wraps an exec so every process runs inside a network namespace (`nsenter --net=<path>`),
 * keeping the caller's mounts. This is how tests run plugins in a throwaway "node" netns.
 */
export function nsenterExec(netnsPath: string, inner: PluginExec = spawnExec): PluginExec {
  return (req) =>
    inner({ ...req, file: 'nsenter', args: [`--net=${netnsPath}`, '--', req.file, ...(req.args ?? [])] });
}

/** How a tool ran; a tool that cannot start reads as exit 127, as in a shell. */
export interface ToolOutcome {
  /** Exit status; null when a signal ended it. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a tool (iptables-restore, say) with `stdin` on its standard input. */
export type ToolRun = (file: string, args: readonly string[], stdin?: string) => Promise<ToolOutcome>;

/**
 * Tools run through a process runner, with this process's environment: in this netns, or in the
 * netns at `netns` (a path) through nsenter. A tool that cannot start is exit 127, not a throw,
 * so callers read one outcome whatever went wrong.
 */
export function toolRunner(netns?: string, exec?: PluginExec): ToolRun {
  const run = exec ?? (netns ? nsenterExec(netns) : spawnExec);
  return async (file, args, stdin) => {
    try {
      const r = await run({ file, args, env: process.env, stdin: stdin ?? '' });
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      return { code: 127, stdout: '', stderr: `${file}: ${(err as Error).message}` };
    }
  };
}
