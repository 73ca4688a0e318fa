import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  describeLeaks,
  findLeaks,
  hostLinks,
  isOurLinkName,
  linkKey,
  removeLeaks,
  ruleLines,
} from '@minicni/testkit/leaks';
import { readRegistry, REGISTRY_ENV } from '@minicni/testkit/run-registry';
import { TEST_PREFIX } from '@minicni/testkit/names';
import { pluginVethPatterns } from './host-veth-patterns.js';

const STALE_MS = 30 * 60_000;
// Vitest loads this file once per project that lists it (root and e2e), as separate module
// instances in one process: the first setup opens the run's registry, the last teardown checks
// it, once. The state lives on globalThis, which the instances share.
const shared = globalThis as typeof globalThis & {
  minicniLeakCheck?: {
    users: number;
    registryDir?: string;
    baseline?: Set<string>;
    baselineRules?: Set<string>;
  };
};
const state = (shared.minicniLeakCheck ??= { users: 0 });

// Runs once around the privileged tiers. Each netns a test makes, and each name testName()
// gives out, is recorded in this run's registry, so concurrent runs on one machine never judge
// each other's namespaces or links. The links and rules of ours already in the machine's netns
// when the run begins (a node really running minicni has minicni0 and its pods' veths) are the
// baseline: never judged, never removed. Setup removes nothing; anything of this run that
// survives, and any new link or rule of ours in the machine's own netns, fails the run.
export async function setup(): Promise<void> {
  if (state.users++ > 0) return;
  state.registryDir = mkdtempSync(join(tmpdir(), 'minicni-test-run-'));
  process.env[REGISTRY_ENV] = join(state.registryDir, 'netns');
  const vethPatterns = pluginVethPatterns();
  const present = (await hostLinks()).filter((l) => isOurLinkName(l.name, vethPatterns));
  state.baseline = new Set(present.map(linkKey));
  state.baselineRules = new Set(await ruleLines());
  const stale = await findLeaks({
    olderThanMs: STALE_MS,
    baseline: state.baseline,
    baselineRules: state.baselineRules,
  });
  const leftovers = [
    ...stale.netns.map((n) => `ip netns del ${n}`),
    ...present.filter((l) => l.name.startsWith(TEST_PREFIX)).map((l) => `ip link del ${l.name}`),
  ];
  if (leftovers.length) {
    process.stderr.write(
      `\n[leak-check] test-prefixed leftovers of an earlier run, not this run's, so left in place; remove them with:\n  ${leftovers.join('\n  ')}\n`,
    );
  }
}

export async function teardown(): Promise<void> {
  if (--state.users > 0) return;
  const registry = readRegistry(process.env[REGISTRY_ENV] ?? '');
  if (state.registryDir) rmSync(state.registryDir, { recursive: true, force: true });
  const after = await findLeaks({
    netns: registry.netns,
    inodes: registry.inodes,
    names: registry.names,
    vethPatterns: pluginVethPatterns(),
    baseline: state.baseline,
    baselineRules: state.baselineRules,
  });
  const text = describeLeaks(after);
  if (text) {
    await removeLeaks(after);
    // Vitest reports an error thrown here but still exits 0, so fail the process explicitly.
    process.exitCode = 1;
    process.stderr.write(`\n[leak-check] FAILED: the privileged tests left these behind:\n${text}\n`);
    throw new Error(`[leak-check] the privileged tests left these behind:\n${text}`);
  }
  process.stderr.write(
    `[leak-check] ${registry.netns.size} test netns created; none, and no new link (test-prefixed or a plugin's host veth), firewall rule or minicni stamp of theirs, left behind\n`,
  );
}
