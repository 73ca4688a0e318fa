import { NetlinkInputError } from './errors.js';

/** A link by name (`eth0`) or index (`3`). */
export type LinkRef = string | number;

/** Checks a Linux interface name: 1-15 bytes, not `.` or `..`, no `/`, `:` or whitespace. */
export function checkIfname(name: string, what = 'interface name'): string {
  const bytes = Buffer.byteLength(name);
  // A '%' would make the kernel pick a name from a template (eth%d -> eth0) instead of this one.
  if (bytes < 1 || bytes > 15 || name === '.' || name === '..' || /[/:\s%]/.test(name)) {
    throw new NetlinkInputError(
      `${what} "${name}" is invalid: use 1-15 bytes, not "." or "..", without "/", ":", "%" or whitespace`,
    );
  }
  return name;
}

export function checkIndex(index: number): number {
  if (!Number.isInteger(index) || index <= 0 || index > 0x7fffffff) {
    throw new NetlinkInputError(`interface index ${index} is not a positive integer`);
  }
  return index;
}

export function checkLinkRef(ref: LinkRef): LinkRef {
  return typeof ref === 'number' ? checkIndex(ref) : checkIfname(ref);
}

export function checkUint(value: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new NetlinkInputError(`${what} ${value} is not an integer in 0-${max}`);
  }
  return value;
}
