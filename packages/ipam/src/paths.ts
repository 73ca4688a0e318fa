import { isAbsolute, join, normalize } from 'node:path';
import { IpamError } from './errors.js';

/** CNI 1.0's network-name rule; also what keeps `<dataDir>/<network>` inside dataDir. */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function isNetworkName(name: unknown): name is string {
  return typeof name === 'string' && NETWORK_NAME.test(name) && name.length <= 200;
}

export function assertNetworkName(name: unknown): asserts name is string {
  if (!isNetworkName(name)) {
    throw new IpamError(
      'UNSAFE_PATH',
      `network name ${JSON.stringify(name)} is not allowed: use letters, digits, '_', '.', '-' (not starting with '.' or '-'), at most 200 characters`,
    );
  }
}

/** An absolute, already-normal path without NUL; anything else could point outside where it seems to. */
export function assertDataDir(dir: unknown): asserts dir is string {
  if (typeof dir !== 'string' || dir === '' || dir.includes('\0') || !isAbsolute(dir)) {
    throw new IpamError('UNSAFE_PATH', `dataDir ${JSON.stringify(dir)} must be an absolute path`);
  }
  const parts = dir.split('/');
  if (
    parts.includes('..') ||
    parts.includes('.') ||
    normalize(dir).replace(/\/$/, '') !== dir.replace(/\/$/, '')
  ) {
    throw new IpamError(
      'UNSAFE_PATH',
      `dataDir ${JSON.stringify(dir)} must be a normalised path (no "." or ".." segments)`,
    );
  }
}

export function networkDir(dataDir: string, network: string): string {
  assertDataDir(dataDir);
  assertNetworkName(network);
  return join(dataDir, network);
}

export const RANGE_ID = /^\d{1,4}$/;
