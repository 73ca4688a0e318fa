/**
 * Where the shim installed as `name` looks for its server when neither MINICNI_AGENT_SOCKET nor
 * the config's `agentSocket` names a socket: `/run/<name>/plugin.sock`. Two plugins served on
 * one node never answer each other's calls.
 */
export function defaultSocket(name: string): string {
  checkName(name);
  return `/run/${name}/plugin.sock`;
}

/** The file the shim installed as `name` execs when no server answers: `<name>-standalone`. */
export function standaloneName(name: string): string {
  checkName(name);
  return `${name}-standalone`;
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
    throw new Error(`plugin name "${name}" must be a file name (letters, digits, ".", "_", "-")`);
}

/**
 * Where this package's build left the shim (`dist/minicni-shim`): for installers that copy it to
 * `/opt/cni/bin/<name>`, and for tests. The same path from the source and the built package.
 */
export function builtShimPath(): string {
  return new URL('../dist/minicni-shim', import.meta.url).pathname;
}
