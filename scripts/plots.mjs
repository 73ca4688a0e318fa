// Renders the charts of docs/performance.md from the benches' JSON (docs/bench/<bench>.json,
// written by each bench through writeBenchResult) to SVG files beside them, headless, with
// Vega-Lite. `pnpm plots` regenerates every chart; `pnpm plots --check` renders in memory and
// fails when a committed SVG is not what its JSON renders to (a chart out of date).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { CHARTS } from './plots/charts.mjs';

const BENCH_DIR = fileURLToPath(new URL('../docs/bench/', import.meta.url));

/** One Vega-Lite spec to SVG text; no browser, no canvas (text widths are estimated). */
export async function renderSvg(spec) {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return `${svg}\n`;
}

/**
 * Every chart whose bench JSON is present, rendered: [{ file, svg }]; `missing` lists the
 * benches with no JSON yet (their charts are not drawn, and the page says so).
 */
export async function renderAll(dir = BENCH_DIR) {
  const out = [];
  const missing = [];
  for (const chart of CHARTS) {
    const path = join(dir, `${chart.bench}.json`);
    if (!existsSync(path)) {
      missing.push(chart.bench);
      continue;
    }
    const result = JSON.parse(readFileSync(path, 'utf8'));
    out.push({ file: join(dir, `${chart.name}.svg`), svg: await renderSvg(chart.spec(result)) });
  }
  return { charts: out, missing: [...new Set(missing)] };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const { charts, missing } = await renderAll();
  let stale = 0;
  for (const { file, svg } of charts) {
    if (!check) {
      writeFileSync(file, svg);
      console.log(`rendered ${file}`);
    } else if (!existsSync(file) || readFileSync(file, 'utf8') !== svg) {
      console.error(`out of date: ${file} (run pnpm plots)`);
      stale++;
    }
  }
  for (const b of missing) console.log(`no docs/bench/${b}.json yet: its charts are not drawn`);
  if (stale) process.exitCode = 1;
}
