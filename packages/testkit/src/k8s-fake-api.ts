import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A core/v1 Node in the API's JSON shape (the fields a CNI agent reads, plus realistic filler). */
export interface FakeNode {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: {
    name: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels: Record<string, string>;
  };
  spec: { podCIDR?: string; podCIDRs?: string[]; taints?: unknown[] };
  status: { addresses: { type: string; address: string }[] };
}

export interface NodeSpecInput {
  name: string;
  internalIPs?: string[];
  podCIDRs?: string[];
  /** Fill only the legacy single `spec.podCIDR` (as clusters before 1.16 do). */
  legacyPodCIDR?: boolean;
}

interface Event {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  node: FakeNode;
}

interface Watcher {
  res: ServerResponse;
  socket: Socket;
}

/**
 * A local stand-in for the Kubernetes API server's Node endpoints: list, get, and watch
 * (newline-delimited events, BOOKMARK, an ERROR event with a 410 Status for a compacted
 * resourceVersion), with knobs to break watches mid-stream. Plain HTTP on loopback.
 */
export class FakeKubeApi implements AsyncDisposable {
  readonly #server: Server;
  readonly #token: string | undefined;
  readonly #nodes = new Map<string, FakeNode>();
  readonly #history: Event[] = [];
  readonly #watchers = new Set<Watcher>();
  #rv = 100;
  /** Oldest resourceVersion a watch may resume from; older ones get 410 Gone. */
  #minRv = 0;
  /** When true, each new watch is answered 200 and closed at once with no event (a bad proxy). */
  closeWatchesAtOnce = false;
  /** Every request path (with query), in order. */
  readonly requests: string[] = [];
  /** Every request's method and path (with query), in order: what RBAC would be asked about. */
  readonly calls: { method: string; url: string }[] = [];
  url = '';

  private constructor(token: string | undefined, tls: { key: string; cert: string } | undefined) {
    this.#token = token;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    this.#server = tls ? createTlsServer({ key: tls.key, cert: tls.cert }, handler) : createServer(handler);
  }

  /** Listens on 127.0.0.1; with `tls` (PEM key and certificate) it serves HTTPS as a real API server does. */
  static async start(
    opts: { token?: string; tls?: { key: string; cert: string } } = {},
  ): Promise<FakeKubeApi> {
    const api = new FakeKubeApi(opts.token, opts.tls);
    await new Promise<void>((resolve) => api.#server.listen(0, '127.0.0.1', resolve));
    const { port } = api.#server.address() as AddressInfo;
    api.url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    return api;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  get activeWatches(): number {
    return this.#watchers.size;
  }

  addNode(input: NodeSpecInput): FakeNode {
    const node = makeNode(input, ++this.#rv);
    this.#nodes.set(input.name, node);
    this.#record('ADDED', node);
    return node;
  }

  updateNode(input: NodeSpecInput): FakeNode {
    const old = this.#nodes.get(input.name);
    if (!old) throw new Error(`no node ${input.name}`);
    const node = makeNode(input, ++this.#rv, old.metadata.uid);
    this.#nodes.set(input.name, node);
    this.#record('MODIFIED', node);
    return node;
  }

  deleteNode(name: string): void {
    const old = this.#nodes.get(name);
    if (!old) throw new Error(`no node ${name}`);
    this.#nodes.delete(name);
    const node = { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.#rv) } };
    this.#record('DELETED', node);
  }

  /** Changes a node without telling any watch (a missed event only a relist repairs). */
  silentlyDeleteNode(name: string): void {
    this.#nodes.delete(name);
    this.#rv++;
  }

  /** Forgets history: watches resuming from an older resourceVersion now get 410 Gone. */
  compact(): void {
    this.#minRv = this.#rv;
    this.#history.length = 0;
  }

  /** Sends a BOOKMARK carrying the current resourceVersion to every open watch. */
  bookmark(): void {
    const line = JSON.stringify({
      type: 'BOOKMARK',
      object: { kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: String(this.#rv) } },
    });
    for (const w of this.#watchers) w.res.write(`${line}\n`);
  }

  /** Cuts every open watch in the middle of a line, as a dying proxy would. */
  breakWatches(): void {
    for (const w of this.#watchers) {
      w.res.write('{"type":"MODIFIED","object":{"kind":');
      w.socket.destroy();
    }
    this.#watchers.clear();
  }

  async close(): Promise<void> {
    for (const w of this.#watchers) w.socket.destroy();
    this.#watchers.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #record(type: Event['type'], node: FakeNode): void {
    const ev: Event = { rv: this.#rv, type, node };
    this.#history.push(ev);
    const line = `${JSON.stringify({ type, object: node })}\n`;
    for (const w of this.#watchers) w.res.write(line);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(req.url ?? '');
    this.calls.push({ method: req.method ?? 'GET', url: req.url ?? '' });
    const url = new URL(req.url ?? '/', 'http://x');
    if (this.#token && req.headers.authorization !== `Bearer ${this.#token}`) {
      return sendStatus(res, 401, 'Unauthorized', 'Unauthorized');
    }
    if (req.method !== 'GET') return sendStatus(res, 405, 'MethodNotAllowed', 'only GET here');
    const m = /^\/api\/v1\/nodes(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return sendStatus(res, 404, 'NotFound', `the server could not find the requested resource`);
    const name = m[1] ? decodeURIComponent(m[1]) : undefined;
    if (name) {
      const node = this.#nodes.get(name);
      if (!node) return sendStatus(res, 404, 'NotFound', `nodes "${name}" not found`);
      return sendJson(res, 200, node);
    }
    if (url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true') {
      return this.#watch(url, res);
    }
    sendJson(res, 200, {
      kind: 'NodeList',
      apiVersion: 'v1',
      metadata: { resourceVersion: String(this.#rv) },
      items: [...this.#nodes.values()],
    });
  }

  #watch(url: URL, res: ServerResponse): void {
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    if (this.closeWatchesAtOnce) {
      res.end();
      return;
    }
    if (from && from < this.#minRv) {
      // The real server answers 200 and sends one ERROR event carrying a 410 Status.
      const status = {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${from} (${this.#minRv})`,
        reason: 'Expired',
        code: 410,
      };
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    // resourceVersion 0 or absent = start with the current state as ADDED events.
    const replay = from
      ? this.#history.filter((e) => e.rv > from)
      : [...this.#nodes.values()].map((node) => ({ rv: this.#rv, type: 'ADDED' as const, node }));
    for (const e of replay) res.write(`${JSON.stringify({ type: e.type, object: e.node })}\n`);
    const w: Watcher = { res, socket: res.socket! };
    this.#watchers.add(w);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      this.#watchers.delete(w);
    });
  }
}

function makeNode(input: NodeSpecInput, rv: number, uid?: string): FakeNode {
  const spec: FakeNode['spec'] = {};
  const cidrs = input.podCIDRs ?? [];
  if (cidrs[0]) spec.podCIDR = cidrs[0];
  if (cidrs.length && !input.legacyPodCIDR) spec.podCIDRs = cidrs;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: input.name,
      uid: uid ?? `uid-${input.name}-${rv}`,
      resourceVersion: String(rv),
      creationTimestamp: '2026-11-28T00:00:00Z',
      labels: { 'kubernetes.io/hostname': input.name, 'kubernetes.io/os': 'linux' },
    },
    spec,
    status: {
      addresses: [
        ...(input.internalIPs ?? []).map((address) => ({ type: 'InternalIP', address })),
        { type: 'Hostname', address: input.name },
      ],
    },
  };
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  sendJson(res, code, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
}

/**
 * A self-signed serving certificate for 127.0.0.1 (openssl, P-256, one day), standing in for a
 * cluster CA: pass it as `tls` to `FakeKubeApi.start`, and `cert` as the client's CA.
 */
export function selfSignedTls(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mct-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const r = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=fake-apiserver',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr?.toString() ?? r.error?.message}`);
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
