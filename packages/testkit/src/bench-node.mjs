// Shared by the benchmarks that need a node: a throwaway node netns to run in, long-running
// processes (an agent, a plugin server) started inside it and stopped at the end, and a CNI call
// the way a runtime makes one. Plain JS, so the .mjs benches and the TypeScript tests share it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs the calling bench script again inside a new netns named `<prefix>-<pid>`, deleted after,
 * and returns false; in that inner run (`--inner` argument) returns true: the bench does its work
 * only then. The machine's own network is never touched.
 */
export function inThrowawayNodeNetns(scriptUrl, prefix) {
  if (process.argv[2] === '--inner') {
    spawnSync('ip', ['link', 'set', 'lo', 'up']);
    return true;
  }
  const node = `${prefix}-${process.pid.toString(36)}`;
  spawnSync('ip', ['netns', 'add', node], { stdio: 'inherit' });
  try {
    const script = fileURLToPath(scriptUrl);
    const r = spawnSync('nsenter', [`--net=/run/netns/${node}`, '--', process.execPath, script, '--inner'], {
      stdio: 'inherit',
    });
    process.exitCode = r.status ?? 1;
  } finally {
    spawnSync('ip', ['netns', 'del', node]);
  }
  return false;
}

/**
 * Starts a long-running process; `started` settles once `ready()` holds (or rejects with its
 * output if it exits first); `stop()` sends SIGTERM, then SIGKILL after 5 s.
 */
export function startProcess(file, args, ready) {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const started = new Promise((res, rej) => {
    const timer = setInterval(() => {
      if (ready()) {
        clearInterval(timer);
        res();
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        rej(new Error(`${file} exited ${child.exitCode}: ${log}`));
      }
    }, 20);
  });
  return { child, started, log: () => log, stop: () => stopChild(child) };
}

/** SIGTERM (a server finishes its calls in flight), SIGKILL after 5 s; resolves once it is gone. */
export async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

/**
 * One CNI call as a runtime makes it: `plugin.bin` (behind `wrap`, e.g. `/usr/bin/time -f %M`)
 * with the CNI_* variables for the pod netns `/run/netns/<netns>`, `plugin.path` as CNI_PATH and
 * `plugin.env` on top, the config `plugin.conf` on stdin. Resolves to its exit code, wall time in
 * ms, stdout and stderr.
 */
export function cniCall(plugin, command, netns, containerId, wrap = []) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const [file, ...args] = [...wrap, plugin.bin];
    const c = spawn(file, args, {
      env: {
        PATH: process.env.PATH,
        CNI_COMMAND: command,
        CNI_CONTAINERID: containerId,
        CNI_NETNS: `/run/netns/${netns}`,
        CNI_IFNAME: 'eth0',
        CNI_PATH: plugin.path,
        ...plugin.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => resolve({ code, ms: Number(process.hrtime.bigint() - t0) / 1e6, out, err }));
    c.stdin.end(JSON.stringify(plugin.conf));
  });
}

/** The machine a figure was measured on, as every bench result records it. */
export function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    node: process.version,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/**
 * Writes one bench's result to `docs/bench/<name>.json` (committed; the charts in
 * docs/performance.md are rendered from these files), with the date and the machine, and
 * returns the path. `MINICNI_BENCH_OUT` names another directory (a scratch run).
 */
export function writeBenchResult(name, result) {
  const dir =
    process.env.MINICNI_BENCH_OUT ?? fileURLToPath(new URL('../../../docs/bench/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const body = { bench: name, date: new Date().toISOString(), machine: machine(), ...result };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}
