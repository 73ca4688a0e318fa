import { fromSyscallError, NetlinkInputError } from './errors.js';
import { nativeAddon, type NativeAddon } from './native.js';

/** Where named network namespaces live (as with `ip netns`). */
export const NETNS_RUN_DIR = '/run/netns';

/** `x` means `/run/netns/x`; an absolute path is taken as is. */
export function netnsPath(nameOrPath: string): string {
  if (nameOrPath.startsWith('/')) return nameOrPath;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/.test(nameOrPath)) {
    throw new NetlinkInputError(`netns name "${nameOrPath}" must be letters, digits, "_", "." or "-"`);
  }
  // Plain string work: the first node:path call at start-up costs ~1 ms (docs/netlink.md).
  return `${NETNS_RUN_DIR}/${nameOrPath}`;
}

/**
 * Creates a named netns the way `ip netns add` does (a bind mount of a fresh netns onto
 * `/run/netns/<name>`, that directory made a shared mount). The new netns is made on a
 * short-lived native thread, so no JavaScript thread ever changes netns. Returns its path.
 */
export function createNetns(nameOrPath: string, addon: NativeAddon = nativeAddon()): string {
  const path = netnsPath(nameOrPath);
  try {
    addon.netnsCreate(path.slice(0, path.lastIndexOf('/')) || '/', path);
  } catch (err) {
    throw fromSyscallError(`netns add ${path}`, err);
  }
  return path;
}

/** Deletes a named netns like `ip netns del` (the netns itself lives on while something holds it). */
export function deleteNetns(nameOrPath: string, addon: NativeAddon = nativeAddon()): void {
  const path = netnsPath(nameOrPath);
  try {
    addon.netnsDelete(path);
  } catch (err) {
    throw fromSyscallError(`netns delete ${path}`, err);
  }
}
