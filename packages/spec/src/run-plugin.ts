import { nodeFs } from './builtins.js';
import { parseCniArgs } from './cni-args.js';
import { decodeJsonObject, parseNetConf, readValidAttachments } from './config.js';
import type { NetConf } from './config-types.js';
import { DebugLog } from './debug-log.js';
import { parseEnv, type CniEnv, type EnvLike } from './env.js';
import { CniError, ErrorCode, SpecError, toCniError } from './errors.js';
import { validateContainerId, validateIfName, validateNetnsPath } from './names.js';
import type {
  AddContext,
  AttachmentContext,
  BaseContext,
  CheckContext,
  DelContext,
  PluginHandlers,
  PluginIo,
  RunPluginOptions,
} from './plugin-types.js';
import { convertResult } from './result-convert.js';
import { parseResult } from './result-parse.js';
import type { AnyResult, VersionResult } from './result-types.js';
import { compareVersions, isCniVersion, versionAtLeast, type CniVersion } from './versions.js';

/** Lowest config version that allows each verb (spec; Go's skel answers code 1 below it). */
const MIN_VERSION = { CHECK: '0.4.0', STATUS: '1.1.0', GC: '1.1.0' } as const;

/**
 * The plugin entry point: reads env and stdin once, validates, negotiates the version,
 * dispatches to a handler and prints either the result (in the config's version, exit 0) or
 * one CNI error JSON (exit 1). It never throws and never prints a stack; stacks go to the debug
 * log only. Resolves to the exit status it reported.
 */
export async function runPlugin(handlers: PluginHandlers, options: RunPluginOptions): Promise<number> {
  const io = options.io ?? {};
  const env: EnvLike = io.env ?? process.env;
  const stdout = io.stdout ?? ((t: string) => void process.stdout.write(t));
  const stderr = io.stderr ?? ((t: string) => void process.stderr.write(t));
  const now = io.now ?? Date.now;
  const started = now();
  const supported = [...options.supportedVersions].sort(compareVersions);
  const state: CallState = {
    stdin: Buffer.alloc(0),
    errorVersion: supported.at(-1) ?? '1.1.0',
    log: new DebugLog(options.logFile, io.appendFile ?? appendToFile),
  };
  let status = 0;
  try {
    state.stdin = await readStdin(io, env);
    state.errorVersion = versionForErrors(state.stdin, supported) ?? state.errorVersion;
    const out = await dispatch(handlers, options, env, state);
    if (out !== undefined) safeWrite(stdout, `${JSON.stringify(out)}\n`);
    state.log.write({ ...record(env, state.stdin, now), outcome: 'ok', ms: now() - started });
  } catch (err) {
    const cni = toCniError(err);
    status = 1;
    safeWrite(stdout, `${JSON.stringify(cni.toJSON(state.errorVersion))}\n`);
    const stack = err instanceof Error && !(err instanceof CniError || err instanceof SpecError);
    state.log.write({
      ...record(env, state.stdin, now),
      outcome: 'error',
      code: cni.code,
      msg: cni.message,
      ...(cni.details === undefined ? {} : { details: cni.details }),
      ...(stack ? { stack: err.stack } : {}),
      ms: now() - started,
    });
  }
  state.log.flush((msg) => safeWrite(stderr, `${msg}\n`));
  try {
    (io.exit ?? ((code: number) => void (process.exitCode = code)))(status);
  } catch {
    // An injected exit that throws must not turn into an unhandled rejection.
  }
  return status;
}

interface CallState {
  stdin: Buffer;
  errorVersion: string;
  log: DebugLog;
}

async function dispatch(
  handlers: PluginHandlers,
  options: RunPluginOptions,
  env: EnvLike,
  state: CallState,
): Promise<AnyResult | VersionResult | undefined> {
  const cniEnv = parseEnv(env);
  if (cniEnv.command === 'VERSION') {
    return { cniVersion: state.errorVersion, supportedVersions: [...options.supportedVersions] };
  }
  const config = parseNetConf(state.stdin);
  state.errorVersion = config.cniVersion;
  if (options.logFile === undefined && typeof config.logFile === 'string' && config.logFile !== '') {
    state.log = new DebugLog(config.logFile, options.io?.appendFile ?? appendToFile);
  }
  const log = state.log;
  checkVersion(config.cniVersion, cniEnv.command, options.supportedVersions);
  const base: BaseContext = {
    command: cniEnv.command,
    cniVersion: config.cniVersion,
    config,
    rawConfig: state.stdin,
    path: cniEnv.path,
    env,
    log: (message, fields) => log.write({ time: new Date().toISOString(), message, ...fields }),
  };
  switch (cniEnv.command) {
    case 'ADD': {
      const ctx = attachment(base, cniEnv, options, 'ADD') as AddContext;
      return printable(await handlers.add(ctx), config);
    }
    case 'CHECK':
      await handlers.check(attachment(base, cniEnv, options, 'CHECK') as CheckContext);
      return undefined;
    case 'DEL':
      await handlers.del(attachment(base, cniEnv, options, 'DEL') as DelContext);
      return undefined;
    case 'STATUS':
      await handlers.status?.({ ...base, command: 'STATUS' });
      return undefined;
    case 'GC':
      await handlers.gc?.({ ...base, command: 'GC', validAttachments: readValidAttachments(config) });
      return undefined;
  }
}

function checkVersion(version: CniVersion, command: string, supported: readonly string[]): void {
  if (!supported.includes(version)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      'incompatible CNI versions',
      `config is "${version}", plugin supports ${JSON.stringify(supported)}`,
    );
  }
  const min = MIN_VERSION[command as keyof typeof MIN_VERSION] as string | undefined;
  if (min !== undefined && !versionAtLeast(version, min)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `config version does not allow ${command}`,
      `${command} needs cniVersion ${min} or later; config is "${version}"`,
    );
  }
}

function attachment(
  base: BaseContext,
  e: CniEnv,
  options: RunPluginOptions,
  command: 'ADD' | 'DEL' | 'CHECK',
): AttachmentContext {
  validateContainerId(e.containerId);
  validateIfName(e.ifname);
  if (e.netns !== undefined) validateNetnsPath(e.netns);
  const args = parseCniArgs(e.args, options.knownArgs);
  return { ...base, command, containerId: e.containerId, ifname: e.ifname, netns: e.netns, args };
}

/** Validates what the handler returned and expresses it in the config's version. */
function printable(result: unknown, config: NetConf): AnyResult {
  if (typeof result !== 'object' || result === null) {
    throw new CniError(ErrorCode.Internal, 'the plugin returned no result from ADD');
  }
  const parsed = parseResult({ ...result, cniVersion: '1.1.0' }, { what: 'plugin result' });
  return convertResult(parsed, config.cniVersion);
}

async function readStdin(io: PluginIo, env: EnvLike): Promise<Buffer> {
  const src = io.stdin;
  const raw = src === undefined ? defaultStdin(env) : typeof src === 'function' ? await src() : src;
  return typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.from(raw);
}

function defaultStdin(env: EnvLike): Buffer {
  try {
    return nodeFs().readFileSync(0);
  } catch (err) {
    // VERSION may be called with no stdin at all; every other verb then fails as "empty config".
    if (env.CNI_COMMAND === 'VERSION') return Buffer.alloc(0);
    throw new CniError(ErrorCode.IoFailure, `could not read the network config from stdin: ${String(err)}`);
  }
}

/** The version errors are reported in before the config is parsed: its cniVersion if readable. */
function versionForErrors(stdin: Buffer, supported: readonly string[]): string | undefined {
  try {
    const v = decodeJsonObject(stdin).cniVersion;
    if (isCniVersion(v)) return v;
  } catch {
    // Unreadable config: fall back to the plugin's newest version.
  }
  return supported.at(-1);
}

function record(env: EnvLike, stdin: Buffer, now: () => number) {
  return {
    time: new Date(now()).toISOString(),
    command: env.CNI_COMMAND,
    containerId: env.CNI_CONTAINERID,
    netns: env.CNI_NETNS,
    ifname: env.CNI_IFNAME,
    args: env.CNI_ARGS,
    path: env.CNI_PATH,
    stdin: stdin.toString('utf8'),
  };
}

function appendToFile(path: string, text: string): void {
  nodeFs().appendFileSync(path, text);
}

function safeWrite(write: (t: string) => void, text: string): void {
  try {
    write(text);
  } catch {
    // A closed stdout/stderr (EPIPE) leaves nothing useful to do; the exit status still tells.
  }
}
