import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { privilegedTierGate } from './scripts/tier-gate.js';

// Workspace packages resolve to their TypeScript source through this export condition,
// so tests never need a prior build.
const conditions = ['@minicni/source', 'import', 'module', 'node', 'default'];
const sources = ['packages/*/src/**', 'examples/*/src/**', 'packages/*/test/**', 'examples/*/test/**'];
const pick = (suffix: string) => sources.map((dir) => `${dir}/*${suffix}`);

const gate = privilegedTierGate();

function tier(name: string, include: string[], extra: TestProjectInlineConfiguration['test'] = {}) {
  return {
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@minicni/source'] } },
    test: {
      name,
      include,
      environment: 'node',
      ...extra,
    },
  } satisfies TestProjectInlineConfiguration;
}

// The root harness (scripts/) has unit tests too.
const unit = tier('unit', [...pick('.test.ts'), 'scripts/*.test.ts'], {
  exclude: ['**/*.root.test.ts', '**/*.e2e.test.ts', '**/node_modules/**', '**/dist/**'],
});

// Privileged tiers share one network stack per machine: run files one at a time, and check
// after the whole run that no test-prefixed netns, link or firewall rule survived.
const privileged = {
  fileParallelism: false,
  testTimeout: 60_000,
  hookTimeout: 60_000,
  globalSetup: ['./scripts/leak-global-setup.ts'],
};
const root = tier('root', pick('.root.test.ts'), privileged);
const e2e = tier('e2e', pick('.e2e.test.ts'), { ...privileged, testTimeout: 300_000, hookTimeout: 300_000 });

export default defineConfig({
  test: {
    projects: gate.runPrivileged ? [unit, root, e2e] : [unit],
    reporters: ['default', './scripts/tier-summary-reporter.ts'],
  },
});
