// Shared by the benchmarks that need a node: a throwaway node netns to run in, long-running
// processes (an agent, a plugin server) started inside it and stopped at the end, and a CNI call
// the way a runtime makes one. Plain JS, so the .mjs benches and the TypeScript tests share it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs the calling bench script again inside a new netns named `<prefix>-<pid>`, deleted after,
 * and returns false; in that inner run (`--inner` argument) returns true: the bench does its work
 * only then. The machine's own network is never touched. Around the inner run sits the benches'
 * leak check (`benchLeaks`): whatever the bench left behind is reported, removed, and fails the
 * run. The inner run names its pod netns with `benchNetnsName()` so the check can find them.
 */
export function inThrowawayNodeNetns(scriptUrl, prefix) {
  if (process.argv[2] === '--inner') {
    spawnSync('ip', ['link', 'set', 'lo', 'up']);
    return true;
  }
  const node = `${prefix}-${process.pid.toString(36)}`;
  const tag = process.pid.toString(36);
  const before = machineSnapshot();
  // The test kit's fixtures a bench uses (TestNetns, testName) record what they make here.
  const registryDir = mkdtempSync(join(os.tmpdir(), 'minicni-bench-registry-'));
  const registry = join(registryDir, 'netns');
  spawnSync('ip', ['netns', 'add', node], { stdio: 'inherit' });
  const inode = netnsInode(node);
  let leaks = [];
  try {
    const script = fileURLToPath(scriptUrl);
    const r = spawnSync('nsenter', [`--net=/run/netns/${node}`, '--', process.execPath, script, '--inner'], {
      stdio: 'inherit',
      env: { ...process.env, MINICNI_BENCH_TAG: tag, MINICNI_TEST_REGISTRY: registry },
    });
    process.exitCode = r.status ?? 1;
  } finally {
    leaks = benchLeaks({ node, inode, tag, before, registry });
    spawnSync('ip', ['netns', 'del', node]);
    rmSync(registryDir, { recursive: true, force: true });
  }
  if (leaks.length) {
    console.error(`[bench leak-check] left behind, now removed:\n  ${leaks.join('\n  ')}`);
    process.exitCode = 1;
  } else {
    console.log(
      '[bench leak-check] no process, pod netns, stamp, link or firewall rule of the bench left behind',
    );
  }
  return false;
}

/** A pod netns name for a bench: `<prefix><n>-<tag>`, found by the leak check if left behind. */
let benchSeq = 0;
export function benchNetnsName(prefix) {
  return `${prefix}${(benchSeq++).toString(36)}-${process.env.MINICNI_BENCH_TAG ?? process.pid.toString(36)}`;
}

const STAMP_DIR = '/run/minicni/rules';
const OUR_MARKERS = ['minicni', 'MINICNI', 'mcni'];

function netnsInode(name) {
  try {
    return statSync(`/run/netns/${name}`).ino;
  } catch {
    return undefined;
  }
}

function lines(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

/** The machine netns's links and firewall lines of ours, to compare after the bench. */
function machineSnapshot() {
  const links = lines('ip', ['-o', 'link', 'show']).map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '');
  const rules = ['iptables-save', 'ip6tables-save']
    .flatMap((t) => lines(t, []))
    .concat(lines('nft', ['list', 'ruleset']))
    .filter((l) => OUR_MARKERS.some((m) => l.includes(m)))
    .map((l) => l.trim().replace(/\[\d+:\d+\]$/, ''));
  return {
    links: new Set(links.filter((n) => OUR_MARKERS.some((m) => n.startsWith(m)))),
    rules: new Set(rules),
  };
}

/**
 * What a bench left: processes still in its node netns (killed), its pod netns (deleted), the
 * minicni stamps and locks named after its node netns (removed), and links or firewall rules of
 * ours new in the machine's own netns (reported only: nothing of the machine's is changed here).
 */
export function benchLeaks({ node, inode, tag, before, registry }) {
  const leaks = [];
  const inodes = new Set(inode === undefined ? [] : [inode]);
  const fixtures = registry
    ? readFileSafe(registry)
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' '))
    : [];
  const living = new Set(lines('ip', ['netns', 'list']).map((l) => l.split(' ')[0]));
  for (const [name, ino] of fixtures) {
    inodes.add(Number(ino));
    if (!living.has(name)) continue;
    leaks.push(`fixture netns ${name}`);
    for (const pid of lines('ip', ['netns', 'pids', name])) spawnSync('kill', ['-9', pid]);
    spawnSync('ip', ['netns', 'del', name]);
  }
  const pids = lines('ip', ['netns', 'pids', node]);
  for (const pid of pids) {
    const cmd = readFileSafe(`/proc/${pid}/cmdline`).replace(/\0/g, ' ').trim();
    leaks.push(`process ${pid} in the node netns: ${cmd}`);
    spawnSync('kill', ['-9', pid]);
  }
  for (const ns of lines('ip', ['netns', 'list']).map((l) => l.split(' ')[0])) {
    if (ns !== node && ns.endsWith(`-${tag}`)) {
      leaks.push(`pod netns ${ns}`);
      spawnSync('ip', ['netns', 'del', ns]);
    }
  }
  {
    let names = [];
    try {
      names = readdirSync(STAMP_DIR);
    } catch {
      // no stamp dir
    }
    // The plugin's records of the node's rules (and their locks) name the node netns's inode:
    // that netns is deleted next, so its records go with it, as a node's go when it is wiped.
    for (const n of names.filter((x) => inodes.has(Number(/^(\d+)(?:-|\.lock)/.exec(x)?.[1])))) {
      rmSync(join(STAMP_DIR, n), { force: true });
    }
  }
  const after = machineSnapshot();
  for (const l of after.links) if (!before.links.has(l)) leaks.push(`link ${l} in the machine's netns`);
  for (const r of after.rules)
    if (!before.rules.has(r)) leaks.push(`firewall rule in the machine's netns: ${r}`);
  return leaks;
}

function readFileSafe(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
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
