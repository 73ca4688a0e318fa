import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DEFAULT_TABLE } from '@minicni/policy';
import { AgentError, isAgentError } from './errors.js';

/**
 * Runs `nft` with `args`, `stdin` piped in, and resolves with what it printed on stdout; rejects
 * with a `POLICY` AgentError carrying nft's stderr. Injected so tests capture the text, and so a
 * test can run it inside a netns. A runner that only applies (a test's fake) may resolve with
 * nothing: only `readPolicyDrops` needs the output.
 */
export type NftRunner = (args: readonly string[], stdin?: string) => Promise<string | void>;

/** `nft` from PATH (the image carries /usr/sbin/nft), in the agent's own network namespace. */
export const spawnNft: NftRunner = (args, stdin) => spawnNftVia([], args, stdin);

/** `prefix` runs before nft (e.g. `nsenter --net=PATH --`); `[]` runs nft directly. */
export function spawnNftVia(
  prefix: readonly string[],
  args: readonly string[],
  stdin?: string,
): Promise<string> {
  const argv = [...prefix, 'nft', ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', (e) => reject(new AgentError('POLICY', `cannot run nft: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
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
export async function removePolicyTable(nft: NftRunner, table = DEFAULT_TABLE): Promise<void> {
  await nft(['-f', '-'], `table inet ${table}\ndelete table inet ${table}\n`);
}

/** Packets and bytes a counter has seen. */
export interface DropCount {
  packets: number;
  bytes: number;
}

/** The policy table's named counters: what its ingress and egress chains dropped. */
export interface PolicyDrops {
  ingress: DropCount;
  egress: DropCount;
}

/**
 * Reads the `ingress-drops` and `egress-drops` counters of `table inet <table>` with
 * `nft -j list counters table inet <table>`; undefined when the table does not exist. They count
 * since the table was last loaded (each ruleset replaces the table, and with it its counters).
 */
export async function readPolicyDrops(
  nft: NftRunner,
  table = DEFAULT_TABLE,
): Promise<PolicyDrops | undefined> {
  let out: string | void;
  try {
    out = await nft(['-j', 'list', 'counters', 'table', 'inet', table]);
  } catch (e) {
    if (isAgentError(e, 'POLICY') && /No such file or directory/.test(e.message)) return undefined;
    throw e;
  }
  if (typeof out !== 'string' || !out.trim())
    throw new AgentError('POLICY', `nft -j list counters table inet ${table} printed nothing`);
  let doc: { nftables?: { counter?: { name?: string; packets?: number; bytes?: number } }[] };
  try {
    doc = JSON.parse(out) as typeof doc;
  } catch {
    throw new AgentError('POLICY', `nft -j list counters table inet ${table}: output is not JSON`);
  }
  const counter = (name: string): DropCount => {
    const c = doc.nftables?.find((o) => o.counter?.name === name)?.counter;
    if (!c || typeof c.packets !== 'number' || typeof c.bytes !== 'number')
      throw new AgentError('POLICY', `table inet ${table} has no counter ${name} (not a minicni ruleset?)`);
    return { packets: c.packets, bytes: c.bytes };
  };
  return { ingress: counter('ingress-drops'), egress: counter('egress-drops') };
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
