// Shared by the benchmarks that need a node: a throwaway node netns to run in, and long-running
// processes (an agent, a plugin server) started inside it and stopped at the end.
import { spawn, spawnSync } from 'node:child_process';
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
  return {
    child,
    started,
    log: () => log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    },
  };
}
