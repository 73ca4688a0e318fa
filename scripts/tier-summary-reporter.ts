import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints one plain line per test tier after the run, e.g. `root: 120 passed, 0 failed, 0 skipped`,
 * then a total in the same form, so every tier's count is visible in CI logs at a glance.
 */
export default class TierSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const tiers = new Map<string, { passed: number; failed: number; skipped: number }>();
    for (const mod of testModules) {
      const name = mod.project.name || 'default';
      const t = tiers.get(name) ?? { passed: 0, failed: 0, skipped: 0 };
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') t.passed++;
        else if (state === 'failed') t.failed++;
        else t.skipped++;
      }
      // A module that failed to load has no tests but must still count as a failure.
      if (mod.state() === 'failed' && !mod.children.size) t.failed++;
      tiers.set(name, t);
    }
    const total = { passed: 0, failed: 0, skipped: 0 };
    const lines = ['', 'tests per tier:'];
    for (const name of [
      'unit',
      'root',
      'e2e',
      ...[...tiers.keys()].filter((n) => !['unit', 'root', 'e2e'].includes(n)),
    ]) {
      const t = tiers.get(name);
      if (!t) continue;
      lines.push(`${name}: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`);
      total.passed += t.passed;
      total.failed += t.failed;
      total.skipped += t.skipped;
    }
    lines.push(`total: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`, '');
    process.stdout.write(lines.join('\n'));
  }
}
