import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { AgentError } from './errors.js';
import { ListSplitter } from './list-splitter.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where the API server is and how to prove who we are. */
export interface KubeCredentials {
  /** Base URL, e.g. https://10.96.0.1:443 */
  server: string;
  /** Returns the bearer token; called per request because projected tokens rotate. */
  token?: () => string;
  /** PEM CA bundle that signs the server's certificate. */
  ca?: Buffer;
  /** PEM client certificate and its key (kubeconfig `client-certificate`, `client-key`). */
  cert?: Buffer;
  key?: Buffer;
  /** Accept any server certificate (kubeconfig `insecure-skip-tls-verify`): test clusters only. */
  insecureSkipTlsVerify?: boolean;
  /** Name to check the server's certificate against, when not the server URL's host. */
  tlsServerName?: string;
}

type ReadFile = (path: string) => Buffer;

/**
 * Credentials of a pod: the service account's token and CA, and the API server address the
 * kubelet puts in every pod's environment.
 */
export function inClusterCredentials(
  env: NodeJS.ProcessEnv = process.env,
  readFile: ReadFile = (p) => readFileSync(p),
  dir = SERVICE_ACCOUNT_DIR,
): KubeCredentials {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new AgentError(
      'CREDENTIALS',
      'not running in a pod (KUBERNETES_SERVICE_HOST/PORT unset): pass --kubeconfig, --server and --token-file, or --nodes-file',
    );
  }
  const tokenPath = `${dir}/token`;
  const token = readToken(readFile, tokenPath);
  let ca: Buffer;
  try {
    ca = readFile(`${dir}/ca.crt`);
  } catch (e) {
    throw new AgentError('CREDENTIALS', `cannot read the service account CA ${dir}/ca.crt`, { cause: e });
  }
  let last = token;
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    server,
    ca,
    token: () => {
      // Keep the last good token if a rotation is caught half-written.
      try {
        last = readToken(readFile, tokenPath);
      } catch {
        /* keep last */
      }
      return last;
    },
  };
}

/** Credentials from flags: a server URL, an optional token file and an optional CA file. */
export function flagCredentials(
  opts: { server: string; tokenFile?: string; caFile?: string },
  readFile: ReadFile = (p) => readFileSync(p),
): KubeCredentials {
  let url: URL;
  try {
    url = new URL(opts.server);
  } catch {
    throw new AgentError(
      'CREDENTIALS',
      `--server "${opts.server}" is not a URL such as https://10.96.0.1:443`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AgentError('CREDENTIALS', `--server "${opts.server}" must be http:// or https://`);
  }
  const creds: KubeCredentials = { server: opts.server.replace(/\/+$/, '') };
  if (opts.tokenFile) {
    const file = opts.tokenFile;
    readToken(readFile, file);
    creds.token = () => readToken(readFile, file);
  }
  if (opts.caFile) {
    try {
      creds.ca = readFile(opts.caFile);
    } catch (e) {
      throw new AgentError('CREDENTIALS', `cannot read the CA file ${opts.caFile}`, { cause: e });
    }
  }
  return creds;
}

function readToken(readFile: ReadFile, path: string): string {
  let text: string;
  try {
    text = readFile(path).toString('utf8').trim();
  } catch (e) {
    throw new AgentError('CREDENTIALS', `cannot read the token file ${path}`, { cause: e });
  }
  if (!text) throw new AgentError('CREDENTIALS', `the token file ${path} is empty`);
  return text;
}

/** A watch event as the API server streams it, one JSON object per line. */
export interface WatchEvent<T = unknown> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** API failures carry the HTTP status so callers can react to 410 Gone and 404. */
export class KubeApiError extends AgentError {
  readonly status: number;
  constructor(status: number, message: string) {
    super(status === 410 ? 'API_GONE' : 'API_REQUEST', message);
    this.status = status;
  }
}

/**
 * The few calls the agent makes, on Node's own http/https: a GET and a streaming watch. A full
 * Kubernetes client would be megabytes of generated code for two endpoints.
 */
export class KubeClient {
  readonly #creds: KubeCredentials;
  readonly #timeoutMs: number;

  constructor(creds: KubeCredentials, opts: { timeoutMs?: number } = {}) {
    this.#creds = creds;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
  }

  async getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
    const res = await this.#request(path, signal, this.#timeoutMs);
    const body = await readBody(res);
    if (res.statusCode !== 200) throw apiError(res.statusCode ?? 0, path, body);
    try {
      return JSON.parse(body) as T;
    } catch {
      throw new KubeApiError(res.statusCode, `GET ${path}: response is not JSON`);
    }
  }

  /**
   * GETs a List and hands each item to `onItem` as it arrives (`ListSplitter`): the page is never
   * one string. Resolves to the list without its items (its `metadata`: resourceVersion, continue).
   */
  async getList<T>(path: string, onItem: (item: unknown) => void, signal?: AbortSignal): Promise<T> {
    const res = await this.#request(path, signal, this.#timeoutMs);
    if (res.statusCode !== 200) throw apiError(res.statusCode ?? 0, path, await readBody(res));
    const splitter = new ListSplitter(onItem);
    await new Promise<void>((resolve, reject) => {
      const fail = (e: unknown) => {
        reject(
          e instanceof SyntaxError
            ? new KubeApiError(200, `GET ${path}: response is not a JSON list (${e.message})`)
            : e instanceof Error
              ? e
              : new Error(String(e)),
        );
        res.destroy();
      };
      res.on('data', (chunk: Buffer) => {
        try {
          splitter.push(chunk);
        } catch (e) {
          fail(e);
        }
      });
      res.on('end', resolve);
      res.on('aborted', () => reject(new AgentError('API_REQUEST', `GET ${path}: connection broke`)));
      res.on('error', (e) =>
        reject(new AgentError('API_REQUEST', `GET ${path}: ${e.message}`, { cause: e })),
      );
      res.on('close', () => {
        if (!res.complete) reject(new AgentError('API_REQUEST', `GET ${path}: connection broke`));
      });
    });
    try {
      return splitter.end<T>();
    } catch (e) {
      throw new KubeApiError(200, `GET ${path}: response is not a JSON list (${(e as Error).message})`);
    }
  }

  /**
   * Streams a watch until the server ends it (resolves) or it fails (rejects). Each complete
   * line is one event; a line cut by a broken connection is dropped, never half-parsed.
   */
  async watch(path: string, onEvent: (e: WatchEvent) => void, signal?: AbortSignal): Promise<void> {
    // No overall timeout: a watch is long-lived; the server's timeoutSeconds ends it.
    const res = await this.#request(path, signal, 0);
    if (res.statusCode !== 200) throw apiError(res.statusCode ?? 0, path, await readBody(res));
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          let ev: WatchEvent;
          try {
            ev = JSON.parse(line) as WatchEvent;
          } catch {
            // Reject before destroying: destroy() emits 'aborted' synchronously.
            reject(new AgentError('API_REQUEST', `watch ${path}: a line is not JSON`));
            res.destroy();
            return;
          }
          try {
            onEvent(ev);
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
            res.destroy();
            return;
          }
        }
      });
      res.on('end', () => resolve());
      res.on('aborted', () => reject(new AgentError('API_REQUEST', `watch ${path}: connection broke`)));
      res.on('error', (e) =>
        reject(new AgentError('API_REQUEST', `watch ${path}: ${e.message}`, { cause: e })),
      );
      res.on('close', () => {
        if (!res.complete) reject(new AgentError('API_REQUEST', `watch ${path}: connection broke`));
      });
    });
  }

  #request(path: string, signal: AbortSignal | undefined, timeoutMs: number): Promise<IncomingMessage> {
    const url = new URL(path, this.#creds.server);
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = this.#creds.token?.();
    if (token) headers.authorization = `Bearer ${token}`;
    const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = requestFn(url, {
        method: 'GET',
        headers,
        ...(this.#creds.ca ? { ca: this.#creds.ca } : {}),
        ...(this.#creds.cert && this.#creds.key ? { cert: this.#creds.cert, key: this.#creds.key } : {}),
        ...(this.#creds.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
        ...(this.#creds.tlsServerName ? { servername: this.#creds.tlsServerName } : {}),
        ...(signal ? { signal } : {}),
      });
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      }
      req.on('response', resolve);
      req.on('error', (e) =>
        reject(new AgentError('API_REQUEST', `GET ${url.pathname}: ${e.message}`, { cause: e })),
      );
      req.end();
    });
  }
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (body += c));
    res.on('end', () => resolve(body));
    res.on('error', reject);
  });
}

function apiError(status: number, path: string, body: string): KubeApiError {
  let detail = body.slice(0, 300);
  try {
    const s = JSON.parse(body) as { message?: string };
    if (s.message) detail = s.message;
  } catch {
    /* not a Status object */
  }
  const hint =
    status === 401 || status === 403 ? ' (check the token and the ClusterRole in deploy/minicni.yaml)' : '';
  return new KubeApiError(status, `GET ${path}: HTTP ${status}: ${detail}${hint}`);
}
