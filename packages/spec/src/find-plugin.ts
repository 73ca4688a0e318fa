import { nodeFs } from './builtins.js';
import { SpecError } from './errors.js';

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
