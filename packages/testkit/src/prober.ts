/**
 * A stand-in for a pod's workload in policy tests: one long-lived process inside a netns that
 * serves TCP and UDP on the given ports (UDP echoes) and sends probes on request, many at once.
 * Each probe binds its own source port, so no conntrack entry of an earlier probe can carry a
 * later one (an allowed UDP flow would otherwise pass a later deny as "established").
 *
 * API:
 * - `Prober.start(name, netns, ports, { nextSourcePort? }) -> Promise<Prober>`: resolves once
 *   every port listens. `nextSourcePort` is shared by probers that must never reuse a source
 *   port between them (default: one counter per prober, 20000 up, wrapping at 60999).
 * - `prober.probe({ dst, port, proto, timeoutMs? }) -> Promise<{ ok, why? }>`: TCP connects
 *   (`ok` on connect), UDP sends and waits for the echo; `why` says what failed (timeout,
 *   ECONNREFUSED, ...). Many probes may be in flight at once.
 * - `prober.stop()` (or `await using`): kills the process; probes still waiting fail.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./prober-main.mjs', import.meta.url));

export type ProbeProtocol = 'TCP' | 'UDP' | 'SCTP';

export interface ProbeRequest {
  dst: string;
  port: number;
  proto: ProbeProtocol;
  /** How long to wait for the connect (TCP) or the echo (UDP); default 500 ms. */
  timeoutMs?: number;
}

export interface ProbeOutcome {
  ok: boolean;
  why?: string;
}

export interface ProberOptions {
  nextSourcePort?: () => number;
}

/** A source-port counter: 20000 up, wrapping at 60999. */
export function sourcePortCounter(first = 20000): () => number {
  let next = first;
  return () => {
    const p = next;
    next = next >= 60999 ? 20000 : next + 1;
    return p;
  };
}

export class Prober implements AsyncDisposable {
  readonly name: string;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting = new Map<number, (r: ProbeOutcome) => void>();
  readonly #nextSourcePort: () => number;
  readonly #ready: Promise<void>;
  #id = 0;

  private constructor(
    name: string,
    netns: { readonly path: string },
    ports: readonly number[],
    o: ProberOptions,
  ) {
    this.name = name;
    this.#nextSourcePort = o.nextSourcePort ?? sourcePortCounter();
    this.#child = spawn('nsenter', [
      `--net=${netns.path}`,
      '--',
      process.execPath,
      MAIN,
      ...ports.map(String),
    ]);
    this.#child.stderr
      .setEncoding('utf8')
      .on('data', (d: string) => process.stderr.write(`[prober ${name}] ${d}`));
    this.#ready = new Promise((resolve, reject) => {
      this.#child.on('exit', (code) => {
        reject(new Error(`prober ${name} exited ${code}`));
        // A probe still waiting would hang the test: it fails instead.
        for (const done of this.#waiting.values()) done({ ok: false, why: `prober exited ${code}` });
        this.#waiting.clear();
      });
      createInterface({ input: this.#child.stdout }).on('line', (line) => {
        const msg = JSON.parse(line) as { ready?: boolean; id?: number } & ProbeOutcome;
        if (msg.ready) {
          resolve();
          return;
        }
        const done = this.#waiting.get(msg.id!);
        this.#waiting.delete(msg.id!);
        done?.(msg.why === undefined ? { ok: msg.ok } : { ok: msg.ok, why: msg.why });
      });
    });
  }

  static async start(
    name: string,
    netns: { readonly path: string },
    ports: readonly number[],
    opts: ProberOptions = {},
  ): Promise<Prober> {
    const p = new Prober(name, netns, ports, opts);
    try {
      await p.#ready;
    } catch (e) {
      p.stop();
      throw e;
    }
    return p;
  }

  probe(req: ProbeRequest): Promise<ProbeOutcome> {
    const id = ++this.#id;
    const line = { id, ...req, srcPort: this.#nextSourcePort(), timeoutMs: req.timeoutMs ?? 500 };
    return new Promise((resolve) => {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
        resolve({ ok: false, why: 'prober not running' });
        return;
      }
      this.#waiting.set(id, resolve);
      this.#child.stdin.write(`${JSON.stringify(line)}\n`);
    });
  }

  stop(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.stop();
  }
}
