import type { NodeInfo } from './node-info.js';

/**
 * Something that knows the cluster's nodes and says when the set changes. `onNodes` gets the
 * full current set each time (sources coalesce; consumers diff), so a consumer never has to
 * apply events in order or survive a missed one.
 */
export interface NodeSource {
  start(onNodes: (nodes: ReadonlyMap<string, NodeInfo>) => void): void;
  stop(): Promise<void>;
}

/** Logging sink shared by the agent's long-running parts; the CLI writes JSON lines. */
export type Logger = (
  level: 'info' | 'warn' | 'error',
  msg: string,
  fields?: Record<string, unknown>,
) => void;

export const silentLogger: Logger = () => {};
