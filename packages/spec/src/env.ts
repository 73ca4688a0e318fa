import { SpecError } from './errors.js';

/** The verbs a plugin can be called with. */
export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const;
export type Command = (typeof COMMANDS)[number];

/** Variables each verb must get (spec 1.1.0, "Parameters"). */
export const REQUIRED_ENV: Readonly<Record<Command, readonly string[]>> = {
  ADD: ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  CHECK: ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_IFNAME'],
  GC: ['CNI_COMMAND', 'CNI_PATH'],
  STATUS: ['CNI_COMMAND'],
  VERSION: ['CNI_COMMAND'],
};

export interface CniEnv {
  command: Command;
  containerId: string;
  /** Absent on DEL when the runtime no longer has the netns, and on STATUS/GC/VERSION. */
  netns: string | undefined;
  ifname: string;
  /** Raw CNI_ARGS (parsed separately, because known keys depend on the plugin). */
  args: string | undefined;
  /** CNI_PATH split on `:`, empty entries dropped. */
  path: string[];
}

export type EnvLike = Readonly<Record<string, string | undefined>>;

export function isCommand(v: string): v is Command {
  return (COMMANDS as readonly string[]).includes(v);
}

/**
 * Reads the CNI variables for the verb in CNI_COMMAND. Every missing required variable is
 * named in one error, so a person fixes them all at once.
 */
export function parseEnv(env: EnvLike): CniEnv {
  const cmd = env.CNI_COMMAND;
  if (cmd === undefined || cmd === '') {
    throw new SpecError('ENV_MISSING', 'required environment variables missing: CNI_COMMAND');
  }
  if (!isCommand(cmd)) {
    throw new SpecError(
      'UNKNOWN_COMMAND',
      `unknown CNI_COMMAND ${JSON.stringify(cmd)} (expected one of ${COMMANDS.join(', ')})`,
    );
  }
  const missing = REQUIRED_ENV[cmd].filter((k) => env[k] === undefined || env[k] === '');
  if (missing.length) {
    throw new SpecError(
      'ENV_MISSING',
      `required environment variables missing for ${cmd}: ${missing.join(', ')}`,
      { details: missing.join(',') },
    );
  }
  const netns = env.CNI_NETNS;
  return {
    command: cmd,
    containerId: env.CNI_CONTAINERID ?? '',
    netns: netns === undefined || netns === '' ? undefined : netns,
    ifname: env.CNI_IFNAME ?? '',
    args: env.CNI_ARGS,
    path: (env.CNI_PATH ?? '').split(':').filter(Boolean),
  };
}
