import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LockTimeoutError, withPidLock } from './pid-lock.js';

const dirs: string[] = [];
const lockPath = () => {
  const d = mkdtempSync(join(tmpdir(), 'minicni-lock-'));
  dirs.push(d);
  return join(d, 'x.lock');
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('withPidLock', () => {
  it('serialises critical sections and removes the file after', async () => {
    const path = lockPath();
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withPidLock(
          path,
          async () => {
            inside++;
            maxInside = Math.max(maxInside, inside);
            await new Promise((r) => setTimeout(r, 2));
            inside--;
          },
          { pollMs: 1 },
        ),
      ),
    );
    expect(maxInside).toBe(1);
    expect(existsSync(path)).toBe(false);
  });

  it('takes over from a holder that died, and times out on a live one', async () => {
    const path = lockPath();
    writeFileSync(path, '999999');
    expect(await withPidLock(path, async () => 'ok', { alive: () => false })).toBe('ok');
    writeFileSync(path, String(process.pid));
    await expect(withPidLock(path, async () => 'never', { timeoutMs: 30, pollMs: 5 })).rejects.toBeInstanceOf(
      LockTimeoutError,
    );
  });
});
