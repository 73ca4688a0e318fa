import type { CliIo } from '../src/cli.js';
import type { NftRunner } from '../src/policy-nft.js';

/**
 * What the CLI tests share: an io that records what `main` writes (its stop signal already
 * resolved unless given), and the flags of `minicni-agent run` against the API stand-in.
 */

/** An io for `main` that keeps stdout and stderr; `nft` is the only way to the policy table. */
export function capturingIo(
  nft: NftRunner,
  more: Partial<CliIo> = {},
): { io: CliIo; out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    env: {},
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    stopSignal: Promise.resolve(),
    nft,
    ...more,
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

/** `run` for node n1 in host-gw mode against `server`, no metrics listener, rules in `rulesDir`. */
export function runArgs(server: string, rulesDir: string, readyFile = 'off'): string[] {
  return [
    'run',
    '--server',
    server,
    '--node-name',
    'n1',
    '--mode',
    'host-gw',
    '--metrics-address',
    'off',
    '--ready-file',
    readyFile,
    '--rules-dir',
    rulesDir,
  ];
}
