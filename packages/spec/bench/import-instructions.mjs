// Load-independent companion to import-cost.mjs: instructions executed (valgrind callgrind)
// by `node -e 0`, `node -e "import(empty.mjs)"` and `node -e "import('@minicni/spec')"`.
// On a shared, busy machine wall and CPU times swing by tens of ms; instruction counts do not.
// Needs valgrind (Debian package `valgrind`); each run takes ~30 s. RUNS defaults to 3.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.RUNS ?? 3);
if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.log('valgrind is not installed: skipping the instruction count (apt-get install valgrind)');
  process.exit(0);
}
const scratch = mkdtempSync(join(tmpdir(), 'spec-instr-'));
const empty = join(scratch, 'empty.mjs');
writeFileSync(empty, 'export {};\n');
const cases = {
  'node -e 0': ['-e', '0'],
  'import(empty.mjs)': ['-e', `import(${JSON.stringify(empty)})`],
  "import('@minicni/spec')": ['-e', "import('@minicni/spec')"],
};
const counts = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < RUNS; i++) {
  for (const [k, args] of Object.entries(cases)) {
    const r = spawnSync(
      'valgrind',
      ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, ...args],
      { cwd: pkgDir, encoding: 'utf8' },
    );
    const m = /Collected : (\d+)/.exec(r.stderr);
    if (r.status !== 0 || !m)
      throw new Error(`valgrind node ${args.join(' ')} failed: ${r.stderr.slice(-500)}`);
    counts[k].push(Number(m[1]));
  }
}
rmSync(scratch, { recursive: true, force: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const m = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, median(v)]));
const [bare, esm, spec] = Object.keys(cases);
console.log(`instructions (callgrind), node ${process.version}, median of ${RUNS}:`);
for (const k of Object.keys(cases)) console.log(`  ${k.padEnd(26)} ${(m[k] / 1e6).toFixed(1)} M`);
console.log(
  `  @minicni/spec adds ${((m[spec] - m[bare]) / 1e6).toFixed(1)} M over bare node (${((100 * (m[spec] - m[bare])) / m[bare]).toFixed(1)}%), ` +
    `${((m[spec] - m[esm]) / 1e6).toFixed(1)} M over an empty ES module (${((100 * (m[spec] - m[esm])) / m[bare]).toFixed(1)}% of bare node)`,
);
