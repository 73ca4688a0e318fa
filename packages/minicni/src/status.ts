import { access, constants } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CniError, ErrorCode, type StatusContext } from '@minicni/spec';
import { delegateStatus } from '@minicni/spec/invoke';
import { openIpam } from '@minicni/ipam';
import { parseBridgeConfig } from './config.js';

/**
 * STATUS (CNI 1.1): ready (exit 0) only when the node is set up (the agent's readiness file, when
 * the config names one, exists), the address store is writable, and at least one address is free.
 */
export async function status(ctx: StatusContext): Promise<void> {
  const cfg = parseBridgeConfig(ctx.config);
  const readiness = ctx.config.readinessFile;
  if (typeof readiness === 'string') {
    try {
      await access(readiness);
    } catch {
      throw new CniError(
        ErrorCode.PluginNotAvailable,
        `this node is not set up yet: ${readiness} is missing (is minicni-agent running on the node?)`,
      );
    }
  }
  if (cfg.ipam.kind === 'delegate') {
    await delegateStatus(cfg.ipam.type, ctx.rawConfig, ctx.env);
    return;
  }
  // The config first (a bad range is error 7), then the store, without creating anything: STATUS
  // only looks. A store not made yet is writable when its nearest existing parent is.
  const ipam = await openIpam({ config: cfg.ipam.section, network: ctx.config.name });
  const dataDir = String(cfg.ipam.section.dataDir);
  try {
    await access(await nearestExisting(dataDir), constants.W_OK);
  } catch (err) {
    await ipam.close();
    throw new CniError(
      ErrorCode.PluginNotAvailable,
      `the address store ${dataDir} is not writable: ${(err as Error).message}`,
    );
  }
  try {
    const stats = await ipam.stats();
    // One address is taken from every range set (dual stack): any set without a free one blocks ADD.
    const freeBySet = new Map<number, bigint>();
    for (const s of stats) freeBySet.set(s.setIndex, (freeBySet.get(s.setIndex) ?? 0n) + s.free);
    const full = [...freeBySet].filter(([, free]) => free === 0n).map(([i]) => i);
    if (full.length) {
      throw new CniError(
        ErrorCode.PluginNotAvailable,
        `no free address left in ${ctx.config.name}'s range set ${full.join(', ')}`,
      );
    }
  } finally {
    await ipam.close();
  }
}

async function nearestExisting(path: string): Promise<string> {
  for (let p = path; ; p = dirname(p)) {
    try {
      await access(p);
      return p;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || p === dirname(p)) throw err;
    }
  }
}
