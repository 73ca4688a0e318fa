import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeRulesSpec } from './node-rules.js';

/**
 * Records of the node rules a plugin ensured, one file per (node netns, instance), holding the
 * spec as JSON: `<dir>/<netns inode>-<instance>`. The plugin writes one after ensuring rules (and
 * may use its existence to skip the work on later ADDs); an agent re-ensures what the records of
 * its own netns say, so it needs no knowledge of any plugin's configuration. /run is emptied on
 * reboot, and so are the records: the first ADD after it ensures and records again.
 */
export const DEFAULT_RULES_DIR = '/run/minicni/rules';

/** The record of `instance` (letters, digits, `-`, `_`, `.`) for the node netns with this inode. */
export function rulesRecordPath(dir: string, netnsInode: number, instance: string): string {
  if (!/^[\w.-]+$/.test(instance))
    throw new Error(`rules record instance must be a plain name, got ${instance}`);
  return join(dir, `${netnsInode}-${instance}`);
}

/** Writes a record atomically (a reader never sees half of one). */
export function writeRulesRecord(path: string, spec: NodeRulesSpec): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(spec)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * The specs recorded for one node netns, the newest per network (a network whose config changed
 * has an older record too; the newest is what its plugin last ensured). Records that are empty or
 * not a spec (an older plugin's stamps) are skipped; a missing dir is no records.
 */
export function readRulesRecords(dir: string, netnsInode: number): NodeRulesSpec[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const newest = new Map<string, { mtimeMs: number; spec: NodeRulesSpec }>();
  const prefix = `${netnsInode}-`;
  for (const name of names) {
    if (!name.startsWith(prefix) || name.endsWith('.tmp')) continue;
    const path = join(dir, name);
    let spec: NodeRulesSpec | undefined;
    let mtimeMs: number;
    try {
      mtimeMs = statSync(path).mtimeMs;
      spec = asSpec(JSON.parse(readFileSync(path, 'utf8')));
    } catch {
      continue;
    }
    if (!spec) continue;
    const seen = newest.get(spec.network);
    if (!seen || seen.mtimeMs <= mtimeMs) newest.set(spec.network, { mtimeMs, spec });
  }
  return [...newest.values()].map((r) => r.spec).sort((a, b) => a.network.localeCompare(b.network));
}

function asSpec(v: unknown): NodeRulesSpec | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { network, podCidrs, masquerade, noMasqCidrs } = v as Record<string, unknown>;
  const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
  if (typeof network !== 'string' || !strings(podCidrs) || typeof masquerade !== 'boolean') return undefined;
  if (noMasqCidrs !== undefined && !strings(noMasqCidrs)) return undefined;
  return { network, podCidrs, masquerade, ...(noMasqCidrs ? { noMasqCidrs } : {}) };
}
