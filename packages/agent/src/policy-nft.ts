import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
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

/** What `nft -i` prints for `describe tcp dport`: the end of each command's answer. */
const SENTINEL = 'describe tcp dport';
const SENTINEL_OUT = '(basetype integer), 16 bits';
/** Above this size a transaction goes through `nft -f` (a whole table is one spawn anyway). */
const SESSION_MAX_TEXT = 64 * 1024;

/**
 * An `NftRunner` that keeps one `nft -i` process and hands it each small `-f -` transaction as
 * one line (`nft -i` runs a line as one transaction: all of it or nothing), so a delta costs no
 * process start: about half the time of a spawn here. The answer to a line ends where the
 * output of a following `describe tcp dport` (no kernel access, fixed text) appears; what nft
 * printed to stderr before it is the line's error (no shell is involved: the image has none). Big texts and
 * every other command go through `spawnNftVia(prefix, ...)`. The process is started when first
 * needed and again after it died or timed out; if one dies or goes silent before any process of
 * the session ever answered, `nft -i` does not work here and every later transaction is
 * spawned (the failed one is reported, so the controller retries it). `close()` ends it.
 */
export class NftSession {
  readonly #prefix: readonly string[];
  readonly #timeoutMs: number;
  #child: ChildProcessWithoutNullStreams | undefined;
  #out = '';
  #err = '';
  #waiter: ((text: string | Error) => void) | undefined;
  #queue: Promise<void> = Promise.resolve();
  /** Some process of this session answered once: `nft -i` works here. */
  #answered = false;
  /**
   * A process died or went silent before any answered (an nft built without its CLI, or one
   * whose `describe` prints otherwise): every later transaction is spawned instead.
   */
  #unusable = false;

  constructor(prefix: readonly string[] = [], opts: { timeoutMs?: number } = {}) {
    this.#prefix = prefix;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** The runner to hand the policy controller. */
  readonly run: NftRunner = (args, stdin) => {
    if (
      args.length !== 2 ||
      args[0] !== '-f' ||
      args[1] !== '-' ||
      stdin === undefined ||
      stdin.length > SESSION_MAX_TEXT ||
      this.#unusable
    )
      return spawnNftVia(this.#prefix, args, stdin);
    const line = oneLine(stdin);
    if (!line) return Promise.resolve();
    const next = this.#queue.then(() => this.#send(line));
    this.#queue = next.catch(() => {});
    return next;
  };

  async close(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('close', r));
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(timer);
  }

  #start(): ChildProcessWithoutNullStreams {
    if (this.#child && this.#child.exitCode === null && this.#child.signalCode === null) return this.#child;
    // nft itself, no shell (the image has none). Its errors go to stderr, its `describe`
    // answer to stdout; both are kept in arrival order by the rule below.
    const [file, ...args] = [...this.#prefix, 'nft', '-i'];
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#out = '';
    this.#err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (this.#err += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      this.#out += d;
      const end = this.#out.indexOf(SENTINEL_OUT);
      if (end < 0 || !this.#waiter) return;
      const answer = this.#out.slice(0, end);
      this.#out = this.#out.slice(end + SENTINEL_OUT.length);
      // nft wrote a line's error to stderr before it printed the sentinel to stdout, so both
      // pipes were readable in the same poll: by the check phase the error has been read.
      setImmediate(() => {
        const errors = this.#err;
        this.#err = '';
        const w = this.#waiter;
        this.#waiter = undefined;
        w?.(errors + answer);
      });
    });
    const died = (why: string) => {
      if (this.#child === child) this.#child = undefined;
      const w = this.#waiter;
      this.#waiter = undefined;
      w?.(new AgentError('POLICY', `nft -i ended: ${why}: ${(this.#err + this.#out).trim().slice(0, 2000)}`));
    };
    child.on('error', (e) => died(e.message));
    child.on('close', (code, signal) => died(`exit ${code ?? signal}`));
    child.stdin.on('error', () => {}); // reported by 'close'
    this.#child = child;
    return child;
  }

  #send(line: string): Promise<void> {
    const child = this.#start();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        // Its state is unknown now: a new process answers the next transaction.
        if (this.#child === child) this.#child = undefined;
        child.kill('SIGKILL');
        if (!this.#answered) this.#unusable = true;
        reject(new AgentError('POLICY', `nft -i gave no answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#waiter = (answer) => {
        clearTimeout(timer);
        if (answer instanceof Error) {
          if (!this.#answered) this.#unusable = true;
          return reject(answer);
        }
        this.#answered = true;
        const text = answer
          .split('\n')
          .filter((l) => l.trim() && !l.includes('payload expression'))
          .join('\n');
        if (text) reject(new AgentError('POLICY', `nft -f - failed: ${text.trim().slice(0, 2000)}`));
        else resolve();
      };
      child.stdin.write(`${line}\n${SENTINEL}\n`);
    });
  }
}

/**
 * nft text as one line: comments dropped, statements joined with `;` (nft's other separator),
 * none right after an opening brace.
 */
export function oneLine(text: string): string {
  let out = '';
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (!l || l.startsWith('#')) continue;
    out += out === '' ? l : out.endsWith('{') ? ` ${l}` : ` ; ${l}`;
  }
  return out;
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
