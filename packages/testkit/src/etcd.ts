import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Asks the kernel for a free loopback TCP port (closed again before use, so retry on a clash). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface EtcdOptions {
  /** etcd binary (Debian `etcd-server`: /usr/bin/etcd). */
  binary?: string;
  startTimeoutMs?: number;
}

/**
 * A throwaway single-member etcd on loopback with its own temp data dir and free ports.
 * `await using etcd = await startEtcd()`; `etcd.endpoint` is the client URL. Disposal kills
 * the member and deletes its data dir, even when the test failed.
 */
export class TestEtcd implements AsyncDisposable {
  #disposed = false;

  private constructor(
    readonly endpoint: string,
    readonly dataDir: string,
    private readonly child: ChildProcess,
    private readonly log: () => string,
  ) {}

  static async start(opts: EtcdOptions = {}): Promise<TestEtcd> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return await TestEtcd.tryStart(opts);
      } catch (e) {
        lastError = e;
      }
    }
    throw lastError;
  }

  private static async tryStart(opts: EtcdOptions): Promise<TestEtcd> {
    const dataDir = await mkdtemp(join(tmpdir(), 'mct-etcd-'));
    const client = await freePort();
    const peer = await freePort();
    const endpoint = `http://127.0.0.1:${client}`;
    const child = spawn(
      opts.binary ?? 'etcd',
      [
        '--name',
        'mct',
        '--data-dir',
        join(dataDir, 'data'),
        '--listen-client-urls',
        endpoint,
        '--advertise-client-urls',
        endpoint,
        '--listen-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-cluster',
        `mct=http://127.0.0.1:${peer}`,
        '--log-level',
        'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-4000)));
    const etcd = new TestEtcd(endpoint, dataDir, child, () => log);
    const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      try {
        const r = await fetch(`${endpoint}/health`);
        if (r.ok && ((await r.json()) as { health?: string }).health === 'true') return etcd;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await etcd[Symbol.asyncDispose]();
    throw new Error(`etcd did not become healthy on ${endpoint}: ${log.trim()}`);
  }

  get stderr(): string {
    return this.log();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGKILL');
      await gone;
    }
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

export function startEtcd(opts: EtcdOptions = {}): Promise<TestEtcd> {
  return TestEtcd.start(opts);
}
