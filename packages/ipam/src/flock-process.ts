import { spawn } from 'node:child_process';
import { IpamError } from './errors.js';
import type { LockProvider } from './file-store.js';

/**
 * A LockProvider that takes a real flock(2) on host-local's `lock` file by running util-linux
 * `flock` for the duration of the section (one process per section). For tools and tests that
 * must serialise with a running host-local; a plugin should inject a flock from native code
 * instead, because this spawns on every call.
 */
export function utilLinuxFlock(binary = 'flock', timeoutMs = 10_000): LockProvider {
  return (lockPath) =>
    new Promise((resolve, reject) => {
      // flock keeps the lock while `cat` runs; closing cat's stdin ends both and drops the lock.
      const child = spawn(
        binary,
        ['-x', '-w', String(Math.ceil(timeoutMs / 1000)), lockPath, 'sh', '-c', 'echo locked; exec cat'],
        {
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let err = '';
      let locked = false;
      const exited = new Promise<void>((r) => child.once('close', () => r()));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (!locked && out.includes('locked')) {
          locked = true;
          resolve(async () => {
            child.stdin.end();
            await exited;
          });
        }
      });
      child.on('error', (cause) =>
        reject(new IpamError('STORE_IO', `cannot run ${binary} for ${lockPath}`, { cause })),
      );
      child.on('close', (code) => {
        if (!locked)
          reject(new IpamError('STORE_IO', `could not lock ${lockPath} (flock exit ${code}): ${err.trim()}`));
      });
    });
}
