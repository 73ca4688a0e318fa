import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** PEM key and certificate the stand-in serves with; `clientCa` verifies client certificates. */
export interface FakeTls {
  key: string;
  cert: string;
  clientCa?: string;
}

/** The resources the stand-in serves: what a CNI agent lists and watches. */
export type FakeResource = 'nodes' | 'namespaces' | 'pods' | 'networkpolicies';

interface ResourceInfo {
  group: string;
  kind: string;
  namespaced: boolean;
}

const RESOURCES: Record<FakeResource, ResourceInfo> = {
  nodes: { group: 'api/v1', kind: 'Node', namespaced: false },
  namespaces: { group: 'api/v1', kind: 'Namespace', namespaced: false },
  pods: { group: 'api/v1', kind: 'Pod', namespaced: true },
  networkpolicies: { group: 'apis/networking.k8s.io/v1', kind: 'NetworkPolicy', namespaced: true },
};

/** Any API object: only its metadata is the stand-in's business. */
export interface FakeObject {
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** A pod as the scheduler and kubelet leave it: on a node, Running, with its addresses. */
export interface PodSpecInput {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  node?: string;
  ips?: string[];
  /** Named container ports (`protocol` defaults to TCP). */
  ports?: { name: string; containerPort: number; protocol?: string }[];
}

interface Event {
  rv: number;
  resource: FakeResource;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: FakeObject;
}

interface Watcher {
  res: ServerResponse;
  socket: Socket;
  resource: FakeResource;
  namespace: string | undefined;
}

const keyOf = (o: FakeObject) =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;

/**
 * A local stand-in for the Kubernetes API server's endpoints for nodes, namespaces, pods and
 * networking.k8s.io/v1 networkpolicies: list (cluster-wide and, for pods and policies, per
 * namespace), get, and watch (newline-delimited events, BOOKMARK, an ERROR event with a 410
 * Status for a compacted resourceVersion), with knobs to break watches mid-stream. One
 * resourceVersion counter for all, as etcd has. Plain HTTP on loopback, or HTTPS.
 */
export class FakeKubeApi implements AsyncDisposable {
  readonly #server: Server;
  readonly #token: string | undefined;
  readonly #clientCa: boolean;
  /** Per request, the CN of the client certificate that authenticated it ('' for none). */
  readonly clientNames: string[] = [];
  readonly #objects = new Map<FakeResource, Map<string, FakeObject>>(
    Object.keys(RESOURCES).map((r) => [r as FakeResource, new Map()]),
  );
  readonly #history: Event[] = [];
  readonly #watchers = new Set<Watcher>();
  #rv = 100;
  /** Oldest resourceVersion a watch may resume from; older ones get 410 Gone. */
  #minRv = 0;
  readonly #keyCache = new Map<FakeResource, string[]>();
  /** List requests answered 410 because their continue token predates a `compact()`. */
  expiredContinues = 0;
  /** When true, each new watch is answered 200 and closed at once with no event (a bad proxy). */
  closeWatchesAtOnce = false;
  /** Every request path (with query), in order. */
  readonly requests: string[] = [];
  /** Every request's method and path (with query), in order: what RBAC would be asked about. */
  readonly calls: { method: string; url: string }[] = [];
  url = '';

  private constructor(token: string | undefined, tls: FakeTls | undefined) {
    this.#token = token;
    this.#clientCa = Boolean(tls?.clientCa);
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    this.#server = tls
      ? createTlsServer(
          {
            key: tls.key,
            cert: tls.cert,
            // As the API server: a client certificate is asked for, and checked, but optional.
            ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
          },
          handler,
        )
      : createServer(handler);
  }

  /**
   * Listens on 127.0.0.1; with `tls` (PEM key and certificate) it serves HTTPS as a real API
   * server does. With `tls.clientCa` a client certificate that CA signed authenticates too (its
   * CN is recorded in `clientNames`); with `token` the bearer token does; with both, either.
   */
  static async start(opts: { token?: string; tls?: FakeTls } = {}): Promise<FakeKubeApi> {
    const api = new FakeKubeApi(opts.token, opts.tls);
    await new Promise<void>((resolve) => api.#server.listen(0, '127.0.0.1', resolve));
    const { port } = api.#server.address() as AddressInfo;
    api.url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    return api;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Open watches, of every resource or of one. */
  get activeWatches(): number {
    return this.#watchers.size;
  }

  watchesOf(resource: FakeResource): number {
    return [...this.#watchers].filter((w) => w.resource === resource).length;
  }

  addNode(input: NodeSpecInput): FakeNode {
    const node = makeNode(input, this.#rv + 1);
    this.put('nodes', node as unknown as FakeObject);
    return node;
  }

  updateNode(input: NodeSpecInput): FakeNode {
    const old = this.#objects.get('nodes')!.get(input.name);
    if (!old) throw new Error(`no node ${input.name}`);
    const node = makeNode(input, this.#rv + 1, old.metadata.uid);
    this.put('nodes', node as unknown as FakeObject);
    return node;
  }

  deleteNode(name: string): void {
    this.delete('nodes', name);
  }

  /** Changes a node without telling any watch (a missed event only a relist repairs). */
  silentlyDeleteNode(name: string): void {
    this.#objects.get('nodes')!.delete(name);
    this.#keyCache.delete('nodes');
    this.#rv++;
  }

  /** A namespace with labels (plus the `kubernetes.io/metadata.name` label the server adds). */
  addNamespace(name: string, labels: Record<string, string> = {}): FakeObject {
    return this.put('namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }

  addPod(input: PodSpecInput): FakeObject {
    return this.put('pods', makePod(input));
  }

  /**
   * Creates or replaces an object (ADDED or MODIFIED to watches), stamping a new
   * resourceVersion, and a uid and creationTimestamp when missing. Returns what is stored.
   */
  put(resource: FakeResource, obj: FakeObject): FakeObject {
    const info = RESOURCES[resource];
    if (info.namespaced !== Boolean(obj.metadata.namespace)) {
      throw new Error(
        `${resource} ${obj.metadata.name}: namespace ${info.namespaced ? 'missing' : 'not allowed'}`,
      );
    }
    const store = this.#objects.get(resource)!;
    const key = keyOf(obj);
    const old = store.get(key);
    if (!old) this.#keyCache.delete(resource);
    const rv = ++this.#rv;
    const stored: FakeObject = {
      apiVersion: info.group === 'api/v1' ? 'v1' : info.group.slice('apis/'.length),
      kind: info.kind,
      ...structuredClone(obj),
      metadata: {
        uid: old?.metadata.uid ?? `uid-${key.replace('/', '-')}-${rv}`,
        creationTimestamp: '2026-11-28T00:00:00Z',
        ...structuredClone(obj.metadata),
        resourceVersion: String(rv),
      },
    };
    store.set(key, stored);
    this.#record(resource, old ? 'MODIFIED' : 'ADDED', stored);
    return stored;
  }

  /**
   * Loads many objects at once, as a cluster that existed before anyone watched: each is stored
   * as given (not copied: the server owns it from now on, so objects may share sub-objects to keep
   * a 150,000-pod cluster small here while the wire carries every byte), stamped with its own
   * resourceVersion. No watch hears of them and the history starts after them: a watch from an
   * older resourceVersion gets 410, as after a compaction. For benches at cluster scale.
   */
  load(resource: FakeResource, objects: Iterable<FakeObject>): number {
    const info = RESOURCES[resource];
    const apiVersion = info.group === 'api/v1' ? 'v1' : info.group.slice('apis/'.length);
    const store = this.#objects.get(resource)!;
    let n = 0;
    for (const obj of objects) {
      if (info.namespaced !== Boolean(obj.metadata.namespace)) {
        throw new Error(
          `${resource} ${obj.metadata.name}: namespace ${info.namespaced ? 'missing' : 'not allowed'}`,
        );
      }
      const key = keyOf(obj);
      const rv = ++this.#rv;
      obj.apiVersion ??= apiVersion;
      obj.kind ??= info.kind;
      obj.metadata.uid ??= `uid-${key.replace('/', '-')}-${rv}`;
      obj.metadata.creationTimestamp ??= '2026-11-28T00:00:00Z';
      obj.metadata.resourceVersion = String(rv);
      store.set(key, obj);
      n++;
    }
    this.#keyCache.delete(resource);
    this.compact();
    return n;
  }

  /** Deletes `name` or `namespace/name` (DELETED to watches). */
  delete(resource: FakeResource, key: string): void {
    const store = this.#objects.get(resource)!;
    const old = store.get(key);
    if (!old) throw new Error(`no ${resource} ${key}`);
    store.delete(key);
    this.#keyCache.delete(resource);
    this.#record(resource, 'DELETED', {
      ...old,
      metadata: { ...old.metadata, resourceVersion: String(++this.#rv) },
    });
  }

  /** Forgets history: watches resuming from an older resourceVersion now get 410 Gone. */
  compact(): void {
    this.#minRv = this.#rv;
    this.#history.length = 0;
  }

  /** Sends a BOOKMARK carrying the current resourceVersion to every open watch. */
  bookmark(): void {
    for (const w of this.#watchers) {
      const { group, kind } = RESOURCES[w.resource];
      const apiVersion = group === 'api/v1' ? 'v1' : group.slice('apis/'.length);
      const line = JSON.stringify({
        type: 'BOOKMARK',
        object: { kind, apiVersion, metadata: { resourceVersion: String(this.#rv) } },
      });
      w.res.write(`${line}\n`);
    }
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

  #record(resource: FakeResource, type: Event['type'], object: FakeObject): void {
    this.#history.push({ rv: this.#rv, resource, type, object });
    const line = `${JSON.stringify({ type, object })}\n`;
    for (const w of this.#watchers) {
      if (w.resource === resource && (!w.namespace || w.namespace === object.metadata.namespace)) {
        w.res.write(line);
      }
    }
  }

  /** `{resource, namespace?, name?}` for a path the stand-in serves, else undefined. */
  #route(pathname: string): { resource: FakeResource; namespace?: string; name?: string } | undefined {
    const m =
      /^\/(api\/v1|apis\/[^/]+\/[^/]+)(?:\/namespaces\/([^/]+)(?=\/(?:pods|networkpolicies)(?:\/|$)))?\/([a-z]+)(?:\/([^/]+))?$/.exec(
        pathname,
      );
    if (!m) return undefined;
    const resource = m[3] as FakeResource;
    const info = RESOURCES[resource] as ResourceInfo | undefined;
    if (!info || info.group !== m[1]) return undefined;
    return {
      resource,
      ...(m[2] ? { namespace: decodeURIComponent(m[2]) } : {}),
      ...(m[4] ? { name: decodeURIComponent(m[4]) } : {}),
    };
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(req.url ?? '');
    this.calls.push({ method: req.method ?? 'GET', url: req.url ?? '' });
    const url = new URL(req.url ?? '/', 'http://x');
    const socket = req.socket as TLSSocket;
    const byCert = this.#clientCa && socket.authorized === true;
    const cn = byCert ? socket.getPeerCertificate().subject?.CN : undefined;
    this.clientNames.push(typeof cn === 'string' ? cn : '');
    const byToken = this.#token !== undefined && req.headers.authorization === `Bearer ${this.#token}`;
    if ((this.#token || this.#clientCa) && !byCert && !byToken) {
      return sendStatus(res, 401, 'Unauthorized', 'Unauthorized');
    }
    if (req.method !== 'GET') return sendStatus(res, 405, 'MethodNotAllowed', 'only GET here');
    const route = this.#route(url.pathname);
    if (!route) return sendStatus(res, 404, 'NotFound', `the server could not find the requested resource`);
    const { resource, namespace, name } = route;
    const store = this.#objects.get(resource)!;
    if (name) {
      const obj = store.get(namespace ? `${namespace}/${name}` : name);
      if (!obj) return sendStatus(res, 404, 'NotFound', `${resource} "${name}" not found`);
      return sendJson(res, 200, obj);
    }
    if (url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true') {
      return this.#watch(url, res, resource, namespace);
    }
    this.#list(url, res, resource, namespace);
  }

  /**
   * A list, whole or paged as the API server pages it: `limit` objects in key order and, while
   * more remain, `metadata.continue`, an opaque token carrying the list's resourceVersion and the
   * last key sent. Every page reports that first resourceVersion. Unlike the real server the
   * later pages show the current objects rather than a snapshot; what changed meanwhile is also
   * in the watch history after that version, so an informer still ends up right. A token older
   * than the last `compact()` is answered 410 Expired, as a real server does once etcd compacted.
   */
  #list(url: URL, res: ServerResponse, resource: FakeResource, namespace: string | undefined): void {
    const { group, kind } = RESOURCES[resource];
    const store = this.#objects.get(resource)!;
    const limit = Number(url.searchParams.get('limit') ?? '0');
    const token = url.searchParams.get('continue');
    let rv = this.#rv;
    let after: string | undefined;
    if (token) {
      let parsed: { rv?: unknown; key?: unknown };
      try {
        parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as typeof parsed;
      } catch {
        return sendStatus(res, 400, 'BadRequest', 'continue key is not valid');
      }
      if (typeof parsed.rv !== 'number' || typeof parsed.key !== 'string')
        return sendStatus(res, 400, 'BadRequest', 'continue key is not valid');
      if (parsed.rv < this.#minRv) {
        this.expiredContinues++;
        return sendStatus(
          res,
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
      }
      rv = parsed.rv;
      after = parsed.key;
    }
    const keys = this.#sortedKeys(resource);
    // First key after the token's: binary search in the sorted keys.
    let lo = 0;
    if (after !== undefined) {
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (keys[mid]! <= after) lo = mid + 1;
        else hi = mid;
      }
    }
    const items: FakeObject[] = [];
    let last: string | undefined;
    let i = lo;
    for (; i < keys.length && (limit <= 0 || items.length < limit); i++) {
      const obj = store.get(keys[i]!);
      if (!obj || (namespace && obj.metadata.namespace !== namespace)) continue;
      items.push(obj);
      last = keys[i];
    }
    let more = false;
    if (limit > 0 && last !== undefined) {
      for (; i < keys.length && !more; i++) {
        more = !namespace || store.get(keys[i]!)?.metadata.namespace === namespace;
      }
    }
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (more) {
      metadata.continue = Buffer.from(JSON.stringify({ rv, key: last })).toString('base64url');
    }
    sendJson(res, 200, {
      kind: `${kind}List`,
      apiVersion: group === 'api/v1' ? 'v1' : group.slice('apis/'.length),
      metadata,
      items,
    });
  }

  /** The keys of one resource in order, cached until an object is added or deleted. */
  #sortedKeys(resource: FakeResource): readonly string[] {
    let keys = this.#keyCache.get(resource);
    if (!keys) {
      keys = [...this.#objects.get(resource)!.keys()].sort();
      this.#keyCache.set(resource, keys);
    }
    return keys;
  }

  #watch(url: URL, res: ServerResponse, resource: FakeResource, namespace: string | undefined): void {
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
    const mine = (o: FakeObject) => !namespace || o.metadata.namespace === namespace;
    // resourceVersion 0 or absent = start with the current state as ADDED events.
    const replay = from
      ? this.#history.filter((e) => e.rv > from && e.resource === resource && mine(e.object))
      : [...this.#objects.get(resource)!.values()]
          .filter(mine)
          .map((object) => ({ type: 'ADDED' as const, object }));
    for (const e of replay) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
    const w: Watcher = { res, socket: res.socket!, resource, namespace };
    this.#watchers.add(w);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      this.#watchers.delete(w);
    });
  }
}

/** A core/v1 Pod as the API returns it once scheduled and running. */
export function makePod(input: PodSpecInput): FakeObject {
  const ips = input.ips ?? [];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: input.namespace, name: input.name, labels: input.labels ?? {} },
    spec: {
      ...(input.node ? { nodeName: input.node } : {}),
      containers: [
        {
          name: 'main',
          image: 'registry.k8s.io/pause:3.10',
          ports: (input.ports ?? []).map((p) => ({ protocol: 'TCP', ...p })),
        },
      ],
    },
    status: {
      phase: ips.length ? 'Running' : 'Pending',
      ...(ips.length ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
    },
  };
}

/** A core/v1 Node as the API returns it (`rv` its resourceVersion). */
export function makeNode(input: NodeSpecInput, rv: number, uid?: string): FakeNode {
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

/**
 * A throwaway certificate authority (openssl, P-256, one day) and what it signed: a serving
 * certificate for 127.0.0.1 and a client certificate with CN `clientName`, as a cluster's CA
 * issues them. `FakeKubeApi.start({ tls: { ...server, clientCa: ca } })` then accepts `client`.
 */
export function testAuthority(clientName = 'mct-client'): {
  ca: string;
  server: { key: string; cert: string };
  client: { key: string; cert: string };
} {
  const dir = mkdtempSync(join(tmpdir(), 'mct-ca-'));
  const openssl = (args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir });
    if (r.status !== 0)
      throw new Error(`openssl ${args[0]} failed: ${r.stderr?.toString() ?? r.error?.message}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  try {
    openssl([
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '1',
      '-subj',
      '/CN=mct-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    const issue = (name: string, cn: string, ext: string) => {
      openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
      writeFileSync(join(dir, `${name}.ext`), ext);
      openssl([
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        String(Date.now()),
        '-days',
        '1',
        '-out',
        `${name}.crt`,
        '-extfile',
        `${name}.ext`,
      ]);
      return {
        key: readFileSync(join(dir, `${name}.key`), 'utf8'),
        cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
      };
    };
    return {
      server: issue('server', 'fake-apiserver', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'),
      client: issue('client', clientName, 'extendedKeyUsage=clientAuth\n'),
      ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
