import { cniEnv, type PluginCall } from './plugin-runner.js';

/** What a plugin printed and returned when run in this process. */
export interface InProcessOutcome {
  code: number;
  /** stdout parsed (a result or a CNI error); {} when empty. */
  json: Record<string, unknown> & {
    code?: number;
    msg?: string;
    ips?: { address: string; gateway?: string }[];
    routes?: { dst: string; gw?: string }[];
  };
  stdout: string;
  stderr: string;
}

/** `runPlugin` of @minicni/spec (passed in: the test kit does not depend on the blocks). */
export type RunPlugin<H> = (
  handlers: H,
  options: {
    supportedVersions: readonly string[];
    io: {
      env: Record<string, string>;
      stdin: string;
      stdout: (t: string) => void;
      stderr: (t: string) => void;
      exit: (code: number) => void;
    };
  },
) => Promise<number>;

/**
 * One call of a plugin's handlers in this process, with the CNI environment and config a runtime
 * would give it (the handlers decide which netns is "the node": never the runner's own).
 */
export async function callInProcess<H>(
  runPlugin: RunPlugin<H>,
  handlers: H,
  supportedVersions: readonly string[],
  call: PluginCall,
  config: unknown,
): Promise<InProcessOutcome> {
  let stdout = '';
  let stderr = '';
  const code = await runPlugin(handlers, {
    supportedVersions,
    io: {
      env: cniEnv(call),
      stdin: typeof config === 'string' ? config : JSON.stringify(config),
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      exit: () => {},
    },
  });
  const json = stdout.trim() ? (JSON.parse(stdout) as InProcessOutcome['json']) : {};
  return { code, json, stdout, stderr };
}

/** The numeric `code` of what `fn` throws (a CniError's); undefined when it does not throw. */
export function cniCodeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'number') return code;
    throw err;
  }
  return undefined;
}
