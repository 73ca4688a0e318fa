import { closeSync, openSync, readFileSync, unlinkSync, writeSync, constants } from 'node:fs';

export class LockTimeoutError extends Error {
  readonly code = 'LOCK_TIMEOUT';
}

/**
 * A lock file created exclusively and holding its owner's pid. A holder that died (SIGKILL)
 * leaves the file behind; the next taker sees the pid is gone and takes over. Used only where
 * contention is rare and short (the first ADDs on a node ensuring its rules), so polling is fine.
 */
export async function withPidLock<T>(
  path: string,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number; pollMs?: number; alive?: (pid: number) => boolean } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  const alive = opts.alive ?? processAlive;
  for (;;) {
    try {
      const fd = openSync(
        path,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readPid(path);
    if (holder !== undefined && !alive(holder)) {
      // Remove only if it is still the dead holder's file (another taker may have replaced it).
      if (readPid(path) === holder) unlinkSync(path);
      continue;
    }
    if (Date.now() > deadline)
      throw new LockTimeoutError(`timed out waiting for ${path} (held by pid ${holder ?? '?'})`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 10));
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(path);
    } catch {
      // already taken over after we were presumed dead: nothing to release
    }
  }
}

function readPid(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8'));
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
