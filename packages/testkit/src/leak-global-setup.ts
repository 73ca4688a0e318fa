import { describeLeaks, findLeaks, removeLeaks } from './leaks.js';

// Runs once around the privileged tiers. Leftovers from an earlier crashed run are removed
// loudly before; anything that survives this run fails it.
export async function setup(): Promise<void> {
  const before = await findLeaks();
  const text = describeLeaks(before);
  if (text) {
    process.stderr.write(`\n[leak-check] removing leftovers of an earlier run:\n${text}\n`);
    await removeLeaks(before);
  }
}

export async function teardown(): Promise<void> {
  const after = await findLeaks();
  const text = describeLeaks(after);
  if (text) {
    await removeLeaks(after);
    throw new Error(`[leak-check] the privileged tests left these behind:\n${text}`);
  }
  process.stderr.write('[leak-check] no test-prefixed netns, link or firewall rule left behind\n');
}
