import { SpecError } from './errors.js';

/** The spec 1.0 pattern for container IDs and network names. */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateContainerId(id: string): void {
  if (id === '') throw new SpecError('CONTAINER_ID_INVALID', 'CNI_CONTAINERID is empty');
  if (!NAME_PATTERN.test(id)) {
    throw new SpecError(
      'CONTAINER_ID_INVALID',
      `CNI_CONTAINERID ${JSON.stringify(id)} has characters outside [a-zA-Z0-9_.-] or does not start with a letter or digit`,
      { details: id },
    );
  }
}

export function validateNetworkName(name: string): void {
  if (name === '') throw new SpecError('NETWORK_NAME_INVALID', 'the network config has no "name"');
  if (!NAME_PATTERN.test(name)) {
    throw new SpecError(
      'NETWORK_NAME_INVALID',
      `network name ${JSON.stringify(name)} has characters outside [a-zA-Z0-9_.-] or does not start with a letter or digit`,
      { details: name },
    );
  }
}

const IFNAME_MAX_BYTES = 15;

/** Linux interface name rules: 1-15 bytes, not `.` or `..`, no `/`, `:` or whitespace. */
export function validateIfName(name: string): void {
  const fail = (why: string): never => {
    throw new SpecError('IFNAME_INVALID', `CNI_IFNAME ${JSON.stringify(name)} ${why}`, { details: name });
  };
  if (name === '') fail('is empty');
  if (Buffer.byteLength(name) > IFNAME_MAX_BYTES) fail(`is longer than ${IFNAME_MAX_BYTES} bytes`);
  if (name === '.' || name === '..') fail('is "." or ".."');
  if (/[/:\s]/.test(name)) fail('contains "/", ":" or whitespace');
  // The kernel reads a "%" in a new link's name as a template (eth%d becomes eth0, eth1 ...).
  if (name.includes('%')) fail('contains "%" (the kernel would treat it as a name template)');
  // NUL cannot travel through the environment; other control characters break `ip` output.
  if (/\p{Cc}/u.test(name)) fail('contains a control character');
}

/**
 * A netns path must be absolute and clean. Existence is the plugin's business (DEL must
 * succeed when it is gone), so it is not checked here.
 */
export function validateNetnsPath(path: string): void {
  const fail = (why: string): never => {
    throw new SpecError('NETNS_INVALID', `CNI_NETNS ${JSON.stringify(path)} ${why}`, { details: path });
  };
  if (!path.startsWith('/')) fail('is not an absolute path');
  if (/\p{Cc}/u.test(path)) fail('contains a control character');
  if (path.split('/').some((seg) => seg === '..')) fail('contains ".."');
}
