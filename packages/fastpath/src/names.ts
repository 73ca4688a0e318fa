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
