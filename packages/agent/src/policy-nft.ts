import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DEFAULT_TABLE } from '@minicni/policy';
import { AgentError } from './errors.js';

/**
 * Runs `nft` with `args`, `stdin` piped in; rejects with a `POLICY` AgentError carrying nft's
 * stderr. Injected so tests capture the text, and so a test can run it inside a netns.
 */
export type NftRunner = (args: readonly string[], stdin?: string) => Promise<void>;

/** `nft` from PATH (the image carries /usr/sbin/nft), in the agent's own network namespace. */
export const spawnNft: NftRunner = (args, stdin) => spawnNftVia([], args, stdin);

/** `prefix` runs before nft (e.g. `nsenter --net=PATH --`); `[]` runs nft directly. */
export function spawnNftVia(
  prefix: readonly string[],
  args: readonly string[],
  stdin?: string,
): Promise<void> {
  const argv = [...prefix, 'nft', ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => reject(new AgentError('POLICY', `cannot run nft: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new AgentError('POLICY', `nft ${args.join(' ')} failed (${code}): ${stderr.trim().slice(0, 2000)}`),
        );
    });
    child.stdin.on('error', () => {}); // an early exit is reported by 'close'
    child.stdin.end(stdin ?? '');
  });
}

/**
 * Deletes the policy table if present, in one transaction that first declares it (so a missing
 * table is no error): what `--network-policy off` and `uninstall` leave behind is nothing.
 */
export function removePolicyTable(nft: NftRunner, table = DEFAULT_TABLE): Promise<void> {
  return nft(['-f', '-'], `table inet ${table}\ndelete table inet ${table}\n`);
}

/**
 * Why pod traffic on one bridge could bypass the policy table, or undefined when it cannot:
 * bridged frames reach the inet forward hook only with br_netfilter loaded and
 * `net.bridge.bridge-nf-call-iptables` / `-ip6tables` set to 1 (kubeadm's preflight asks for
 * the same). The agent reports it; it does not change the host's sysctls itself.
 */
export function bridgeNetfilterProblem(
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): string | undefined {
  const off: string[] = [];
  for (const name of ['bridge-nf-call-iptables', 'bridge-nf-call-ip6tables']) {
    let value: string;
    try {
      value = read(`/proc/sys/net/bridge/${name}`).trim();
    } catch {
      return 'br_netfilter is not loaded: traffic between pods on one bridge is not policed';
    }
    if (value !== '1') off.push(`net.bridge.${name}`);
  }
  return off.length
    ? `${off.join(' and ')} not 1: traffic between pods on one bridge is not policed for that family`
    : undefined;
}
