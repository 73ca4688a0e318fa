import type { ChildProcess } from 'node:child_process';

export interface Serve {
  readonly child: ChildProcess;
  readonly socket: string;
  stop(): Promise<void>;
}
/**
 * Starts `<bin> serve --socket <socket>` (bin: an executable, or a command and its first
 * arguments, e.g. [node, main.js]), inside the netns at `netns` when given.
 */
export function startServe(bin: string | readonly string[], socket: string, netns?: string): Promise<Serve>;
