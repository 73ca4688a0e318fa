import { decodeJsonObject, readCniVersion } from './config.js';
import type { Command, EnvLike } from './env.js';
import { execPlugin, parsePluginResult, type InvokeOptions } from './exec-plugin.js';
import { findInPath } from './find-plugin.js';
import { toLatest } from './result-convert.js';
import type { Result } from './result-types.js';

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
