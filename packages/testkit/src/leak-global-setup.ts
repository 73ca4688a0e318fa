import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeLeaks, findLeaks, readRegistry, removeLeaks } from './leaks.js';

const STALE_MS = 30 * 60_000;
let registryDir: string | undefined;

// Runs once around the privileged tiers. Each netns a test makes is recorded in this run's
// registry, so concurrent runs on one machine never judge each other's namespaces. Leftovers
// of dead runs (older than 30 minutes) are removed loudly first; anything of this run that
// survives, and any of our links or rules in the machine's own netns, fails the run.
export async function setup(): Promise<void> {
  registryDir = mkdtempSync(join(tmpdir(), 'minicni-test-run-'));
  process.env.MINICNI_TEST_REGISTRY = join(registryDir, 'netns');
  const stale = await findLeaks({ olderThanMs: STALE_MS });
  const text = describeLeaks(stale);
  if (text) {
    process.stderr.write(`\n[leak-check] removing leftovers of an earlier run:\n${text}\n`);
    await removeLeaks(stale);
  }
}

export async function teardown(): Promise<void> {
  const registry = readRegistry(process.env.MINICNI_TEST_REGISTRY ?? '');
  if (registryDir) rmSync(registryDir, { recursive: true, force: true });
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
