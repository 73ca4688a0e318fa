// Import cost of @minicni/spec: `node -e "import('@minicni/spec')"` against a bare `node -e 0`,
// the cases interleaved so machine noise hits all alike; medians of RUNS spawns each.
// Wall time is what a runtime waits; CPU time (user+sys of the child, from bash's `time`) is
// what the process itself spent, and stays meaningful when the shared machine is busy.
// The `import(empty.mjs)` case separates Node's own ESM-loader start-up (paid by any ESM
// import from `-e`) from what this package adds.
// Run: `pnpm --filter @minicni/spec build && pnpm --filter @minicni/spec bench`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.RUNS ?? 30);
const TARGET_MS = 5;

if (!existsSync(join(pkgDir, 'dist/index.js'))) {
  console.error('dist/index.js is missing: run `pnpm --filter @minicni/spec build` first');
  process.exit(2);
}
const scratch = mkdtempSync(join(tmpdir(), 'spec-bench-'));
const empty = join(scratch, 'empty.mjs');
writeFileSync(empty, 'export {};\n');

// Inside one process, after an empty ES module has started Node's ESM loader: the time and CPU
// of `await import('@minicni/spec')` alone (this package's resolution, read, compile, evaluate).
const probe = join(scratch, 'probe.mjs');
writeFileSync(
  probe,
  `const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
await import(${JSON.stringify(empty)});
const c0 = cpu(); const t0 = performance.now();
await import('@minicni/spec');
process.stderr.write(\`probe \${performance.now() - t0} \${cpu() - c0}\\n\`);
`,
);

const node = process.execPath;
const cases = {
  'node -e 0': ['-e', '0'],
  'import(empty.mjs)': ['-e', `import(${JSON.stringify(empty)})`],
  "import('@minicni/spec')": ['-e', "import('@minicni/spec')"],
};

function run(args) {
  const quoted = [node, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%3U %3S'; time ${quoted} >/dev/null`], {
    cwd: pkgDir,
    encoding: 'utf8',
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${r.stderr}`);
  const [user, sys] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { wall, cpu: (user + sys) * 1000 };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

for (const args of Object.values(cases)) run(args); // warm the page cache
const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, { wall: [], cpu: [] }]));
for (let i = 0; i < RUNS; i++) {
  for (const [k, args] of Object.entries(cases)) {
    const r = run(args);
    samples[k].wall.push(r.wall);
    samples[k].cpu.push(r.cpu);
  }
}
const inProcess = { wall: [], cpu: [] };
for (let i = 0; i < RUNS; i++) {
  // The probe resolves '@minicni/spec' from the package directory (self-reference).
  const r = spawnSync(node, ['--input-type=module', '-e', readFileSync(probe, 'utf8')], {
    cwd: pkgDir,
    encoding: 'utf8',
  });
  const m = /probe (\S+) (\S+)/.exec(r.stderr);
  if (!m) throw new Error(`probe failed: ${r.stderr}`);
  inProcess.wall.push(Number(m[1]));
  inProcess.cpu.push(Number(m[2]));
}
rmSync(scratch, { recursive: true, force: true });

const med = (k, m) => median(samples[k][m]);
const [bare, emptyImport, spec] = Object.keys(cases);
console.log(`@minicni/spec import cost: node ${process.version}, ${RUNS} interleaved runs per case, medians`);
console.log(`  ${'case'.padEnd(26)} ${'wall ms'.padStart(8)} ${'cpu ms'.padStart(8)}`);
for (const k of Object.keys(cases)) {
  console.log(
    `  ${k.padEnd(26)} ${med(k, 'wall').toFixed(1).padStart(8)} ${med(k, 'cpu').toFixed(1).padStart(8)}`,
  );
}
for (const m of ['wall', 'cpu']) {
  const overBare = med(spec, m) - med(bare, m);
  const overEsm = med(spec, m) - med(emptyImport, m);
  console.log(
    `  ${m}: +${overBare.toFixed(1)} ms over bare node (ratio ${(med(spec, m) / med(bare, m)).toFixed(3)}), ` +
      `+${overEsm.toFixed(1)} ms over importing an empty ES module; target <= ${TARGET_MS} ms: ` +
      `${overBare <= TARGET_MS ? 'met over bare node' : overEsm <= TARGET_MS ? 'met over the ESM baseline only' : 'NOT met'}`,
  );
}
console.log(
  `  in-process, after the ESM loader is up: import('@minicni/spec') takes ${median(inProcess.wall).toFixed(1)} ms wall, ` +
    `${median(inProcess.cpu).toFixed(1)} ms CPU (median of ${RUNS})`,
);
