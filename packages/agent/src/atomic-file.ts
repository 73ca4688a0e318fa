import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AgentError } from './errors.js';

/**
 * Writes a file so readers see the old content or the new, never a torn one: a temp file in
 * the same directory, fsync, rename over the target, fsync the directory. kubelet and
 * containerd read the CNI config directory at any moment, and a node can lose power.
 */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', mode);
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // rename() replaces the directory entry; a running copy of an old binary keeps its inode,
    // which is why this never fails with ETXTBSY where an in-place write would.
    renameSync(tmp, path);
    syncDir(dir);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new AgentError('INSTALL_IO', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Copies a file atomically (see writeFileAtomic); returns false when the target already matches. */
export function copyFileAtomic(src: string, dest: string, mode = 0o755): boolean {
  let data: Buffer;
  try {
    data = readFileSync(src);
  } catch (e) {
    throw new AgentError('INSTALL_IO', `cannot read ${src}: ${(e as Error).message}`, { cause: e });
  }
  if (sameContent(dest, data, mode)) return false;
  writeFileAtomic(dest, data, mode);
  return true;
}

/** Whether a file exists with exactly this content (and mode, when given). */
export function sameContent(path: string, data: string | Buffer, mode?: number): boolean {
  try {
    if (mode !== undefined && (statSync(path).mode & 0o777) !== mode) return false;
    return sha256(readFileSync(path)) === sha256(typeof data === 'string' ? Buffer.from(data) : data);
  } catch {
    return false;
  }
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself already happened.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
