import { CniError, SpecError } from './errors.js';
import { spawnExec, type ExecOutcome, type PluginExec } from './exec.js';
import { isObject } from './json-check.js';
import { parseResult } from './result-parse.js';
import type { AnyResult } from './result-types.js';
import type { EnvLike } from './env.js';

/** How plugins are found and started when delegating or running a conflist. */
export interface InvokeOptions {
  exec?: PluginExec;
  /** Checks that a candidate plugin file exists (default: fs.statSync, a regular file). */
  exists?: (path: string) => boolean;
  /** Directories to search; default: CNI_PATH from the env passed in. */
  path?: readonly string[];
  /** Attempts when the binary is being replaced ("text file busy"); default 5. */
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
  timeoutMs?: number;
}

/**
 * Runs a plugin binary once with the given env and stdin, retrying while the kernel reports
 * ETXTBSY (the binary is being written by an installer). A non-zero exit becomes the plugin's
 * own CNI error when it printed one on stdout, else an error carrying its stderr.
 */
export async function execPlugin(
  pluginPath: string,
  stdin: string | Uint8Array,
  env: EnvLike,
  opts: InvokeOptions = {},
): Promise<string> {
  const exec = opts.exec ?? spawnExec;
  const attempts = opts.attempts ?? 5;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let outcome: ExecOutcome | undefined;
  for (let i = 1; ; i++) {
    try {
      outcome = await exec({
        file: pluginPath,
        env,
        stdin,
        ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      });
      break;
    } catch (err) {
      const busy = (err as { code?: unknown }).code === 'ETXTBSY';
      if (busy && i < attempts) {
        await sleep(100 * i);
        continue;
      }
      throw new SpecError(
        'PLUGIN_EXEC_FAILED',
        `could not run ${pluginPath}: ${(err as Error).message ?? String(err)}`,
        {
          cause: err,
        },
      );
    }
  }
  if (outcome.code === 0) return outcome.stdout;
  throw pluginFailure(pluginPath, outcome);
}

function pluginFailure(pluginPath: string, o: ExecOutcome): Error {
  try {
    const j: unknown = JSON.parse(o.stdout);
    if (isObject(j) && typeof j.code === 'number' && typeof j.msg === 'string') {
      return new CniError(j.code, j.msg, typeof j.details === 'string' ? j.details : undefined);
    }
  } catch {
    // Not a CNI error on stdout: fall back to stderr below.
  }
  const how = o.code === null ? `was killed by ${o.signal ?? 'a signal'}` : `exited ${o.code}`;
  const text = (o.stderr.trim() || o.stdout.trim()).slice(0, 2000);
  return new SpecError('PLUGIN_EXEC_FAILED', `plugin ${pluginPath} ${how}${text ? `: ${text}` : ''}`);
}

/** Parses a plugin's stdout as a result; a result must exist and be valid. */
export function parsePluginResult(pluginPath: string, stdout: string, confVersion: string): AnyResult {
  let j: unknown;
  try {
    j = JSON.parse(stdout);
  } catch {
    throw new SpecError(
      'PLUGIN_OUTPUT_INVALID',
      `plugin ${pluginPath} printed no JSON result: ${stdout.slice(0, 200)}`,
    );
  }
  return parseResult(j, {
    defaultVersion: confVersion,
    code: 'PLUGIN_OUTPUT_INVALID',
    what: `result of ${pluginPath}`,
  });
}
