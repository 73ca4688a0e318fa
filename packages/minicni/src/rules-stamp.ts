import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RULES_DIR, rulesRecordPath, writeRulesRecord, type NodeRulesSpec } from '@minicni/netfilter';
import { ensurePrivateDir } from './sea-addon.js';

/** The stamps are @minicni/netfilter's rules records: the agent re-ensures what they hold. */
export const DEFAULT_STAMP_DIR = DEFAULT_RULES_DIR;

type StampNode = { netns: string | undefined; stampDir: string };

function netnsInode(node: StampNode): number {
  return statSync(node.netns ?? '/proc/self/ns/net').ino;
}

/**
 * Remembers that a network's node rules were ensured in this node netns, so ADD spawns nothing
 * for them after the first pod. The key holds the netns inode, the bridge's MAC (random, set when
 * the bridge is created, so a new netns that reuses an inode never matches) and a hash of the
 * rules. It holds the spec (a netfilter rules record), so the agent can re-ensure the rules
 * periodically in case someone flushed them. /run is emptied on reboot.
 */
export function rulesStampPath(spec: NodeRulesSpec, bridgeMac: string, node: StampNode): string {
  const hash = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
  return rulesRecordPath(node.stampDir, netnsInode(node), `${bridgeMac.replace(/:/g, '')}-${hash}`);
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

export function writeStamp(path: string, spec: NodeRulesSpec): void {
  writeRulesRecord(path, spec);
}
