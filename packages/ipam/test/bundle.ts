import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { SOURCE_BUNDLE } from '../../../scripts/bundle-options.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Bundles a TypeScript entry of this package into node_modules/.cache so that tests can run it as a
 * separate node process without a prior package build. Dependencies stay external and resolve
 * from this package's node_modules.
 */
export async function bundle(entry: string): Promise<string> {
  // Under node_modules: ignored by lint and git, and bare imports still resolve from here.
  const outDir = join(here, '..', 'node_modules', '.cache', 'ipam-test');
  await mkdir(outDir, { recursive: true });
  const outfile = join(outDir, `${entry.replace(/\W+/g, '_')}.mjs`);
  await build({
    entryPoints: [join(here, entry)],
    ...SOURCE_BUNDLE,
    packages: 'external',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

export interface WorkerRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: Array<Record<string, unknown>>;
  stderr: string;
}

/** Runs a bundled worker with a job; optionally SIGKILLs it `killAfterReadyMs` after it printed ready. */
export function runWorker(script: string, job: unknown, killAfterReadyMs?: number): Promise<WorkerRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, IPAM_WORKER_JOB: JSON.stringify(job) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (killAfterReadyMs !== undefined && timer === undefined && out.includes('"ready":true')) {
        timer = setTimeout(() => child.kill('SIGKILL'), killAfterReadyMs);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const lines = out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .flatMap((l) => {
          try {
            const v = JSON.parse(l) as Record<string, unknown>;
            return v.ready ? [] : [v];
          } catch {
            return []; // a line cut by SIGKILL
          }
        });
      resolve({ code, signal, lines, stderr: err });
    });
  });
}
