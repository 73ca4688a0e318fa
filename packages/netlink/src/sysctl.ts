import { fs } from './builtins.js';
import { fromSyscallError, NetlinkInputError } from './errors.js';
import { nativeAddon, type NativeAddon } from './native.js';
import { netnsPath } from './netns.js';

/**
 * `net/ipv4/ip_forward` or `net.ipv4.ip_forward` to a path under /proc/sys. Every dot of the
 * dotted form is a separator, so keys naming an interface with a dot (`eth0.100`) need the slash form.
 */
export function sysctlPath(key: string): string {
  const rel = key.includes('/') ? key : key.replace(/\./g, '/');
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..') || !/^[\w.\-/]+$/.test(rel)) {
    throw new NetlinkInputError(
      `sysctl key "${key}" is not a path under /proc/sys (e.g. net/ipv4/ip_forward)`,
    );
  }
  return `/proc/sys/${rel}`;
}

/**
 * Per-netns sysctls: the file is opened from inside the netns (net/* entries belong to the netns
 * of whoever opens them), then read or written from here.
 */
export const sysctl = {
  /** The value, trimmed (`'1'`). */
  read(netns: string, key: string, addon: NativeAddon = nativeAddon()): string {
    const path = sysctlPath(key);
    const fd = openIn(addon, netns, path, fs.constants.O_RDONLY, `sysctl read ${key} in ${netns}`);
    try {
      const buf = Buffer.alloc(4096);
      let len = 0;
      for (;;) {
        const n = fs.readSync(fd, buf, len, buf.length - len, null);
        len += n;
        if (n === 0 || len >= buf.length) break;
      }
      return buf.toString('utf8', 0, len).trim();
    } catch (err) {
      throw fromSyscallError(`sysctl read ${key} in ${netns}`, err);
    } finally {
      fs.closeSync(fd);
    }
  },

  write(netns: string, key: string, value: string | number, addon: NativeAddon = nativeAddon()): void {
    const path = sysctlPath(key);
    const op = `sysctl write ${key}=${value} in ${netns}`;
    const fd = openIn(addon, netns, path, fs.constants.O_WRONLY, op);
    try {
      fs.writeSync(fd, `${value}\n`);
    } catch (err) {
      throw fromSyscallError(op, err);
    } finally {
      fs.closeSync(fd);
    }
  },
};

function openIn(addon: NativeAddon, netns: string, path: string, flags: number, op: string): number {
  try {
    return addon.openInNetns(netnsPath(netns), path, flags, 0);
  } catch (err) {
    throw fromSyscallError(op, err);
  }
}
