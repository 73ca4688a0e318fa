import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
  constants,
} from 'node:fs';
import { join } from 'node:path';

// Set by scripts/build-sea.mjs (esbuild `define`) to the sha256 of the addon packed as an asset.
declare const __MINICNI_ADDON_SHA256__: string;

export const DEFAULT_NATIVE_DIR = '/run/minicni/native';

export class AddonExtractError extends Error {
  readonly code = 'ADDON_EXTRACT_FAILED';
}

export interface SeaApi {
  isSea(): boolean;
  getAsset(key: string): ArrayBuffer;
}

/**
 * Inside the single executable, writes the netlink addon asset to disk so it can be dlopen'ed,
 * and returns its path (undefined when not running as a single executable).
 *
 * The plugin runs as root, so a planted `.node` file would be root code execution: the file is
 * written only into a directory owned by us with mode 0700 (never /tmp), under a name holding its
 * content hash, created exclusively and renamed into place, and any existing file is re-hashed
 * before use.
 */
export function extractSeaAddon(
  sea: SeaApi,
  dir = DEFAULT_NATIVE_DIR,
  expected = typeof __MINICNI_ADDON_SHA256__ === 'string' ? __MINICNI_ADDON_SHA256__ : undefined,
): string | undefined {
  if (!sea.isSea()) return undefined;
  if (!expected) throw new AddonExtractError('this executable was built without an addon hash');
  const bytes = Buffer.from(sea.getAsset('netlink.node'));
  if (sha256(bytes) !== expected)
    throw new AddonExtractError('the packed netlink addon does not match its recorded hash');
  ensurePrivateDir(dir);
  const target = join(dir, `netlink-${expected.slice(0, 32)}.node`);
  try {
    if (sha256(readFileSync(target)) === expected) return target;
  } catch {
    // absent: write it below
  }
  const tmp = join(dir, `.netlink-${process.pid}-${Date.now()}.tmp`);
  const fd = openSync(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o500,
  );
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target);
  return target;
}

/** Creates `dir` (and parents) 0700, then refuses it unless it is a real directory of ours that nobody else can write. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const uid = process.geteuid?.() ?? 0;
  let path = '';
  for (const part of dir.split('/').filter(Boolean)) {
    path += `/${part}`;
    const st = lstatSync(path);
    if (st.isSymbolicLink() || !st.isDirectory())
      throw new AddonExtractError(`${path} is not a plain directory`);
    if (path === dir && (st.uid !== uid || (st.mode & 0o077) !== 0)) {
      throw new AddonExtractError(
        `${dir} must be owned by uid ${uid} with mode 0700 (it is ${st.uid}, ${(st.mode & 0o777).toString(8)})`,
      );
    }
    if (path !== dir && (st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0) {
      throw new AddonExtractError(`${path} is writable by anyone: refusing to place root code below it`);
    }
  }
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
