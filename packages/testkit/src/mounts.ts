/**
 * Mount and process sweeping for the runtime fixtures: whatever a runtime left under its
 * private root (overlay, shm, nsfs bind mounts) is unmounted before the root is removed, and
 * any process of ours still naming that root is killed.
 *
 * API:
 * - `mountsUnder(dir, mountinfo?)`: mount points at or below `dir`, deepest first.
 * - `unmountUnder(dir)`: unmounts them (lazily when a plain umount fails); returns what was left.
 * - `pidsMentioning(text)`: pids whose command line contains `text` (e.g. a fixture's root dir).
 * - `killPids(pids)`: SIGKILL, ignoring those already gone.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { exec } from './exec.js';

/** Mount points at or below `dir`, deepest first so children go before their parents. */
export function mountsUnder(dir: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const base = dir.replace(/\/+$/, '');
  const points = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    const point = unescapeMountPath(field);
    if (point === base || point.startsWith(`${base}/`)) points.add(point);
  }
  return [...points].sort((a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a));
}

/** Unmounts everything at or below `dir`; returns the mount points that are still there. */
export async function unmountUnder(dir: string): Promise<string[]> {
  // A point can be stacked several times (a bind over itself); loop until none is left.
  for (let round = 0; round < 5; round++) {
    const points = mountsUnder(dir);
    if (!points.length) return [];
    for (const point of points) {
      const r = await exec('umount', [point]);
      if (r.code !== 0) await exec('umount', ['-l', point]);
    }
  }
  return mountsUnder(dir);
}

export function pidsMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(text)) pids.push(Number(entry));
    } catch {
      // The process exited while we looked.
    }
  }
  return pids;
}

/** Whether `pid` is alive: it exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state field follows the parenthesised command name, which may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
