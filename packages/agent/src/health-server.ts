import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentError } from './errors.js';

export interface HealthHandlers {
  /** Liveness: the reconcile loop is running. */
  healthy: () => { ok: boolean; detail: string };
  /** Readiness: the node is set up. */
  ready: () => { ok: boolean; detail: string };
  metrics: () => Promise<string>;
}

/**
 * `/healthz`, `/readyz` and `/metrics` on a loopback address by default: the DaemonSet runs
 * with hostNetwork, so anything else would expose the agent on the node's public interfaces.
 */
export class HealthServer {
  readonly #server: Server;
  address = '';

  private constructor(server: Server) {
    this.#server = server;
  }

  static async listen(listen: string, h: HealthHandlers): Promise<HealthServer> {
    const { host, port } = parseListen(listen);
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      if (path === '/healthz' || path === '/readyz') {
        const r = path === '/healthz' ? h.healthy() : h.ready();
        res.writeHead(r.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(`${r.detail}\n`);
        return;
      }
      if (path === '/metrics') {
        h.metrics().then(
          (text) =>
            res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text),
          (e: unknown) => res.writeHead(500).end(`${(e as Error).message}\n`),
        );
        return;
      }
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found: try /healthz, /readyz or /metrics\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(new AgentError('INVALID_ARGUMENT', `cannot listen on ${listen}: ${e.message}`, { cause: e })),
      );
      server.listen(port, host, () => resolve());
    });
    const a = server.address() as AddressInfo;
    const hs = new HealthServer(server);
    hs.address = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    return hs;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** `127.0.0.1:9153`, `[::1]:9153` or `:9153` (loopback). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new AgentError(
      'INVALID_ARGUMENT',
      `--metrics-address "${text}" must be host:port, e.g. 127.0.0.1:9153`,
    );
  }
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}
