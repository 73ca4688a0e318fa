import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ts from 'typescript';
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

  it('takes over when the waiter that was removing a stale lock died too, and leaves no break lock', async () => {
    const path = lockPath();
    writeFileSync(path, '999999999');
    const breakPath = `${path}.break-${statSync(path).ino}`;
    writeFileSync(breakPath, '999999998');
    expect(await withPidLock(path, async () => 'ok')).toBe('ok');
    expect(readdirSync(dirname(path))).toEqual([]);
  });

  it('waits for a live waiter that is removing the stale lock', async () => {
    const path = lockPath();
    writeFileSync(path, '999999999');
    const breakPath = `${path}.break-${statSync(path).ino}`;
    writeFileSync(breakPath, String(process.pid));
    await expect(withPidLock(path, async () => 'never', { timeoutMs: 30, pollMs: 5 })).rejects.toBeInstanceOf(
      LockTimeoutError,
    );
    rmSync(breakPath);
    expect(await withPidLock(path, async () => 'ok')).toBe('ok');
  });
});

// Real processes racing for a lock whose holder keeps dying: each child takes the lock a few
// times and then SIGKILLs itself inside the critical section, leaving a stale lock file with a
// dead pid for the others, who poll every millisecond, to race to take over. Inside, a child
// claims a marker file with O_EXCL: a claim that fails means two holders at once. The children
// load the lock with a node:fs that pauses up to 2 ms before each call, so the gap between any
// check and the act that relies on it is wide enough for another process to slip in (the old
// read-pid-then-unlink takeover fails this test every run).
describe('withPidLock across processes', () => {
  it('lets at most one of many stale-lock takers hold the lock at a time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minicni-lock-race-'));
    dirs.push(dir);
    const source = readFileSync(join(import.meta.dirname, 'pid-lock.ts'), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(join(dir, 'pid-lock.mjs'), outputText.replace(`from 'node:fs'`, `from './jittery-fs.mjs'`));
    writeFileSync(join(dir, 'jittery-fs.mjs'), JITTERY_FS);
    writeFileSync(join(dir, 'taker.mjs'), TAKER);
    const lock = join(dir, 'rules.lock');
    const log = join(dir, 'log');
    writeFileSync(lock, '999999999'); // the first holder died before any taker came

    const CONCURRENT = 6;
    const TOTAL = 24;
    let started = 0;
    const deaths: Promise<NodeJS.Signals | null>[] = [];
    const startOne = (): Promise<NodeJS.Signals | null> => {
      started++;
      const child = spawn(
        process.execPath,
        [join(dir, 'taker.mjs'), lock, join(dir, 'inside'), log, String(1 + (started % 3))],
        {
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
      return new Promise((resolve) =>
        child.once('exit', (_code, signal) => {
          if (started < TOTAL) deaths.push(startOne());
          resolve(signal);
        }),
      );
    };
    for (let i = 0; i < CONCURRENT; i++) deaths.push(startOne());
    const signals: (NodeJS.Signals | null)[] = [];
    while (signals.length < deaths.length) signals.push(await deaths[signals.length]!);

    const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    expect(lines.filter((l) => l.startsWith('overlap'))).toEqual([]);
    // Every child got the lock as often as it meant to and died holding it: each death left a
    // stale lock that the next holder took over.
    expect(signals).toEqual(Array(TOTAL).fill('SIGKILL'));
    const expected = Array.from({ length: TOTAL }, (_, i) => 1 + ((i + 1) % 3)).reduce((a, b) => a + b, 0);
    expect(lines.filter((l) => l.startsWith('in')).length).toBe(expected);
  }, 60_000);
});

const JITTERY_FS = `
import * as fs from 'node:fs';
const cell = new Int32Array(new SharedArrayBuffer(4));
const jitter = (f) => (...args) => {
  Atomics.wait(cell, 0, 0, Math.random() * 2);
  return f(...args);
};
export const constants = fs.constants;
${['closeSync', 'fstatSync', 'openSync', 'readFileSync', 'readSync', 'statSync', 'unlinkSync', 'writeSync']
  .map((name) => `export const ${name} = jitter(fs.${name});`)
  .join('\n')}
`;

const TAKER = `
import { appendFileSync, closeSync, openSync, unlinkSync, constants } from 'node:fs';
import { withPidLock } from './pid-lock.mjs';
const [lock, inside, log, times] = process.argv.slice(2);
for (let n = 1; ; n++) {
  await withPidLock(lock, async () => {
    try {
      closeSync(openSync(inside, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY));
    } catch {
      appendFileSync(log, 'overlap ' + process.pid + '\\n');
    }
    appendFileSync(log, 'in ' + process.pid + '\\n');
    await new Promise((r) => setTimeout(r, 1));
    try { unlinkSync(inside); } catch {}
    if (n >= Number(times)) process.kill(process.pid, 'SIGKILL');
  }, { pollMs: 1, timeoutMs: 30000 });
}
`;
