import {
  closeSync,
  fstatSync,
  openSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
  constants,
} from 'node:fs';

export class LockTimeoutError extends Error {
  readonly code = 'LOCK_TIMEOUT';
}

/**
 * A lock file created exclusively and holding its owner's pid. A holder that died (SIGKILL)
 * leaves the file behind; the next taker sees the pid is gone and takes over. Used only where
 * contention is rare and short (the first ADDs on a node ensuring its rules), so polling is fine.
 *
 * The takeover is atomic: two waiters that both saw the same dead holder can never both end up
 * holding the lock (see `removeStale`).
 */
export async function withPidLock<T>(
  path: string,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number; pollMs?: number; alive?: (pid: number) => boolean } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  const alive = opts.alive ?? processAlive;
  let mine: number | undefined;
  for (;;) {
    mine = create(path);
    if (mine !== undefined) break;
    const held = inspect(path);
    if (!held) continue; // released meanwhile
    // A waiter that is removing it already is left to finish: poll as for a live holder.
    if (held.pid !== undefined && !alive(held.pid) && removeStale(path, held.ino, alive)) continue;
    if (Date.now() > deadline)
      throw new LockTimeoutError(`timed out waiting for ${path} (held by pid ${held.pid ?? '?'})`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 10));
  }
  try {
    return await fn();
  } finally {
    release(path, mine);
  }
}

/**
 * Unlinking a stale lock file by name is a check-then-act: between reading the dead pid and the
 * unlink, another waiter may already have removed that file and taken the lock with a new one,
 * which the unlink would then delete, letting a third waiter in beside it. So every waiter that
 * would remove the lock file with inode X must first hold `<path>.break-X` (itself a lock made
 * the same way). Then a file at `path` is only ever unlinked by its live holder or by the one
 * holder of the break lock of its inode, who re-reads the file it opened (inode and pid from one
 * open file) before unlinking; nothing else can replace that file meanwhile (creating needs the
 * name free). A waiter that died holding a break lock leaves it stale, and it is broken the same
 * way, one level down. False when another waiter holds the break lock: it is removing the file.
 */
function removeStale(path: string, ino: number, alive: (pid: number) => boolean): boolean {
  const breakPath = `${path}.break-${ino}`;
  const mine = create(breakPath);
  if (mine === undefined) {
    const breaker = inspect(breakPath);
    return breaker?.pid !== undefined && !alive(breaker.pid) && removeStale(breakPath, breaker.ino, alive);
  }
  try {
    // Changed meanwhile (released, or taken over and released): the caller looks again.
    const now = inspect(path);
    if (now?.ino === ino && now.pid !== undefined && !alive(now.pid)) unlinkSync(path);
    return true;
  } finally {
    release(breakPath, mine);
  }
}

/** Creates the lock file with our pid; its inode, or undefined when it exists already. */
function create(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw err;
  }
  try {
    writeSync(fd, String(process.pid));
    return fstatSync(fd).ino;
  } finally {
    closeSync(fd);
  }
}

/** The inode and holder pid of the file now at `path`, read from one open file. */
function inspect(path: string): { ino: number; pid: number | undefined } | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const buf = Buffer.alloc(32);
    const n = Number(buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, 0)));
    return { ino: fstatSync(fd).ino, pid: Number.isInteger(n) && n > 0 ? n : undefined };
  } finally {
    closeSync(fd);
  }
}

/** Unlinks our own lock file: only while the file at `path` is still the one we created. */
function release(path: string, ino: number): void {
  try {
    if (statSync(path).ino === ino) unlinkSync(path);
  } catch {
    // gone already: nothing to release
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
