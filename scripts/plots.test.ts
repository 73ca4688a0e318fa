import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderAll as render } from './plots.mjs';

describe('performance charts', () => {
  it('every committed chart is what its committed bench JSON renders to', async () => {
    const { charts } = await render();
    for (const { file, svg } of charts) {
      expect(existsSync(file), `${file} missing: run pnpm plots`).toBe(true);
      expect(readFileSync(file, 'utf8') === svg, `${file} out of date: run pnpm plots`).toBe(true);
    }
  });

  it('draws a burst chart from a storm result, with its data in the SVG', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plots-'));
    try {
      const calls = (base: number) => ({ add: [base, base * 2, base * 3], del: [base, base + 1] });
      writeFileSync(
        join(dir, 'storm.json'),
        JSON.stringify({
          bench: 'storm',
          date: '2026-12-03T00:00:00Z',
          machine: { cpus: 2, cpuModel: 'Test CPU', kernel: '6.1', node: 'v20' },
          parallel: 100,
          rounds: 3,
          addWallMs: { fastPath: 1700, reference: 10000 },
          delWallMs: { fastPath: 1500, reference: 8300 },
          callMs: { 'minicni fast path': calls(100), reference: calls(1000) },
        }),
      );
      const { charts, missing } = await render(dir);
      const names = charts.map((c) => c.file.slice(dir.length + 1));
      expect(names).toEqual(['storm-calls.svg', 'storm-walls.svg']);
      expect(missing).not.toContain('storm');
      for (const c of charts) {
        expect(c.svg.startsWith('<svg')).toBe(true);
        expect(c.svg).toContain('Test CPU');
        expect(c.svg).toContain('minicni fast path');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
