import { createHash } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir } from './sea-addon.js';
import type { NodeRulesSpec } from './node-rules.js';

export const DEFAULT_STAMP_DIR = '/run/minicni/rules';

type StampNode = { netns: string | undefined; stampDir: string };

function netnsInode(node: StampNode): number {
  return statSync(node.netns ?? '/proc/self/ns/net').ino;
}

/**
 * Remembers that a network's node rules were ensured in this node netns, so ADD spawns nothing
 * for them after the first pod. The key holds the netns inode, the bridge's MAC (random, set when
 * the bridge is created, so a new netns that reuses an inode never matches) and a hash of the
 * rules. /run is emptied on reboot, and the agent re-ensures the rules periodically in case
 * someone flushed them.
 */
export function rulesStampPath(spec: NodeRulesSpec, bridgeMac: string, node: StampNode): string {
  const hash = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
  return join(node.stampDir, `${netnsInode(node)}-${bridgeMac.replace(/:/g, '')}-${hash}`);
}

/**
 * One lock per node netns for ensuring rules: every concurrent first ADD on a node computes the
 * same path (the stamp path cannot serve, it depends on the bridge). Only the slow path (no stamp
 * yet) takes it, so only that path makes sure the private directory exists.
 */
export function rulesLockPath(node: StampNode): string {
  ensurePrivateDir(node.stampDir);
  return join(node.stampDir, `${netnsInode(node)}.lock`);
}

export function hasStamp(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

export function writeStamp(path: string): void {
  writeFileSync(path, '');
}
