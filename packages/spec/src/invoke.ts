import { nodeFs } from './builtins.js';
import { CniError, SpecError } from './errors.js';
import { spawnExec, type ExecOutcome, type PluginExec } from './exec.js';
import { isObject } from './json-check.js';
import { decodeJsonObject, readCniVersion } from './config.js';
import { toLatest } from './result-convert.js';
import { parseResult } from './result-parse.js';
import type { AnyResult, Result } from './result-types.js';
import type { Command, EnvLike } from './env.js';

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
 * Finds a plugin binary in the CNI_PATH directories. A name with `/` is refused: a config must
 * not be able to point a root process at an arbitrary file.
 */
export function findInPath(
  type: string,
  paths: readonly string[],
  exists: (path: string) => boolean = defaultExists,
): string {
  if (type === '' || type.includes('/') || type === '.' || type === '..') {
    throw new SpecError(
      'PLUGIN_NAME_INVALID',
      `plugin name ${JSON.stringify(type)} is not a plain file name`,
    );
  }
  if (paths.length === 0) {
    throw new SpecError('PLUGIN_NOT_FOUND', `cannot find plugin "${type}": CNI_PATH is empty`);
  }
  for (const dir of paths) {
    const candidate = `${dir.replace(/\/+$/, '')}/${type}`;
    if (exists(candidate)) return candidate;
  }
  throw new SpecError('PLUGIN_NOT_FOUND', `cannot find plugin "${type}" in CNI_PATH ${paths.join(':')}`);
}

function defaultExists(path: string): boolean {
  try {
    return nodeFs().statSync(path).isFile();
  } catch {
    return false;
  }
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

async function delegate(
  command: Command,
  type: string,
  stdin: string | Uint8Array,
  env: EnvLike,
  opts: InvokeOptions,
): Promise<{ stdout: string; pluginPath: string }> {
  const paths = opts.path ?? (env.CNI_PATH ?? '').split(':').filter(Boolean);
  const pluginPath = findInPath(type, paths, opts.exists);
  const stdout = await execPlugin(pluginPath, stdin, { ...env, CNI_COMMAND: command }, opts);
  return { stdout, pluginPath };
}

/**
 * Runs a delegated plugin's ADD (typically IPAM: `delegateAdd(config.ipam.type, ctx.rawConfig,
 * ctx.env)`) and returns its result in the 1.1.0 shape.
 */
export async function delegateAdd(
  type: string,
  stdin: string | Uint8Array,
  env: EnvLike = process.env,
  opts: InvokeOptions = {},
): Promise<Result> {
  const version = readCniVersion(decodeJsonObject(stdin));
  const { stdout, pluginPath } = await delegate('ADD', type, stdin, env, opts);
  return toLatest(parsePluginResult(pluginPath, stdout, version));
}

export async function delegateDel(
  type: string,
  stdin: string | Uint8Array,
  env: EnvLike = process.env,
  opts: InvokeOptions = {},
): Promise<void> {
  await delegate('DEL', type, stdin, env, opts);
}

export async function delegateCheck(
  type: string,
  stdin: string | Uint8Array,
  env: EnvLike = process.env,
  opts: InvokeOptions = {},
): Promise<void> {
  await delegate('CHECK', type, stdin, env, opts);
}

export async function delegateStatus(
  type: string,
  stdin: string | Uint8Array,
  env: EnvLike = process.env,
  opts: InvokeOptions = {},
): Promise<void> {
  await delegate('STATUS', type, stdin, env, opts);
}

export async function delegateGc(
  type: string,
  stdin: string | Uint8Array,
  env: EnvLike = process.env,
  opts: InvokeOptions = {},
): Promise<void> {
  await delegate('GC', type, stdin, env, opts);
}

/**
 * ADD through a delegate, then `use` its result; when `use` fails, the delegate's DEL runs
 * (so the IPAM reservation is released) and the original error is rethrown. A failing DEL is
 * attached to the error as `cleanupError`, never hiding the first failure.
 */
export async function withDelegatedAdd<T>(
  type: string,
  stdin: string | Uint8Array,
  env: EnvLike,
  use: (result: Result) => Promise<T> | T,
  opts: InvokeOptions = {},
): Promise<T> {
  const result = await delegateAdd(type, stdin, env, opts);
  try {
    return await use(result);
  } catch (err) {
    try {
      await delegateDel(type, stdin, env, opts);
    } catch (cleanupError) {
      if (typeof err === 'object' && err !== null) {
        Object.defineProperty(err, 'cleanupError', { value: cleanupError, enumerable: false });
      }
    }
    throw err;
  }
}
