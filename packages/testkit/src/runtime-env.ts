/**
 * The environment a runtime fixture starts podman or containerd with. Runtimes hand their whole
 * environment to the CNI plugins, so the test runner's own (npx's node_modules/.bin on PATH,
 * VITEST_*, NODE_OPTIONS...) must not leak into what a plugin sees: the plugins get what a
 * node's service manager would give, plus whatever the test adds on purpose.
 *
 * API:
 * - `SYSTEM_PATH`: the PATH a Debian root service gets.
 * - `runtimeEnv(extra?, from?) -> env`: PATH, HOME (and TMPDIR when set), then `extra`.
 */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function runtimeEnv(
  extra: Record<string, string> = {},
  from: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  return {
    PATH: SYSTEM_PATH,
    HOME: from.HOME ?? '/root',
    ...(from.TMPDIR ? { TMPDIR: from.TMPDIR } : {}),
    ...extra,
  };
}
