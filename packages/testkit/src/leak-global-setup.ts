import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeLeaks, findLeaks, readRegistry, removeLeaks } from './leaks.js';

const STALE_MS = 30 * 60_000;
// Vitest loads this file once per project that lists it (root and e2e), as separate module
// instances in one process: the first setup opens the run's registry, the last teardown checks
// it, once. The count lives on globalThis, which the instances share.
const shared = globalThis as typeof globalThis & {
  minicniLeakCheck?: { users: number; registryDir?: string };
};
const state = (shared.minicniLeakCheck ??= { users: 0 });

// Runs once around the privileged tiers. Each netns a test makes is recorded in this run's
// registry, so concurrent runs on one machine never judge each other's namespaces. Leftovers
// of dead runs (older than 30 minutes) are removed loudly first; anything of this run that
// survives, and any of our links or rules in the machine's own netns, fails the run.
export async function setup(): Promise<void> {
  if (state.users++ > 0) return;
  state.registryDir = mkdtempSync(join(tmpdir(), 'minicni-test-run-'));
  process.env.MINICNI_TEST_REGISTRY = join(state.registryDir, 'netns');
  const stale = await findLeaks({ olderThanMs: STALE_MS });
  const text = describeLeaks(stale);
  if (text) {
    process.stderr.write(`\n[leak-check] removing leftovers of an earlier run:\n${text}\n`);
    await removeLeaks(stale);
  }
}

export async function teardown(): Promise<void> {
  if (--state.users > 0) return;
  const registry = readRegistry(process.env.MINICNI_TEST_REGISTRY ?? '');
  if (state.registryDir) rmSync(state.registryDir, { recursive: true, force: true });
  const after = await findLeaks({ netns: registry.names, inodes: registry.inodes });
  const text = describeLeaks(after);
  if (text) {
    await removeLeaks(after);
    // Vitest reports an error thrown here but still exits 0, so fail the process explicitly.
    process.exitCode = 1;
    process.stderr.write(`\n[leak-check] FAILED: the privileged tests left these behind:\n${text}\n`);
    throw new Error(`[leak-check] the privileged tests left these behind:\n${text}`);
  }
  process.stderr.write(
    `[leak-check] ${registry.names.size} test netns created; none, and no test-prefixed link, firewall rule or minicni stamp of theirs, left behind\n`,
  );
}
