import { spawn } from 'node:child_process';
import type { PluginHandlers } from '@minicni/spec';
import { add } from './add.js';
import { check } from './check.js';
import { del } from './del.js';
import { gc } from './gc.js';
import type { RulesExec } from './node-rules.js';
import { status } from './status.js';

export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

export interface BridgePluginDeps {
  /** Runs iptables-save / iptables-restore (default: spawn them). */
  rulesExec?: RulesExec;
  stampDir?: string;
}

/** The bridge plugin's verbs, ready for `runPlugin`. */
export function bridgePlugin(deps: BridgePluginDeps = {}): PluginHandlers {
  const rulesExec = deps.rulesExec ?? spawnRulesTool;
  return {
    add: (ctx) => add(ctx, { rulesExec, ...(deps.stampDir ? { stampDir: deps.stampDir } : {}) }),
    del,
    check,
    status,
    gc: async (ctx) => {
      await gc(ctx);
    },
  };
}

export const spawnRulesTool: RulesExec = (file, args, stdin) =>
  new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => resolve({ code: 127, stdout, stderr: `${file}: ${err.message}` }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(stdin ?? '');
  });
