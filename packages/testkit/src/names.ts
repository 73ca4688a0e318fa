import { randomBytes } from 'node:crypto';
import { recordName } from './run-registry.js';

/**
 * Every netns and host-visible device a test creates starts with this prefix, so the leak
 * check can find survivors and a person can clean up with one glob.
 */
export const TEST_PREFIX = 'mct';

/**
 * A unique test-prefixed name of at most 15 bytes (the kernel's interface name limit). Inside a
 * privileged run it is recorded, so the leak check can tell this run's devices from another's.
 */
export function testName(purpose = ''): string {
  const tag = purpose
    .replace(/[^a-z0-9]/gi, '')
    .slice(0, 4)
    .toLowerCase();
  const name = `${TEST_PREFIX}${tag}${randomBytes(3).toString('hex')}`.slice(0, 15);
  recordName(name);
  return name;
}
