import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AgentError } from './errors.js';
import type { KubeCredentials } from './kube-client.js';

type ReadFile = (path: string) => Buffer;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Credentials from a kubeconfig file, as kubectl reads one: the context (`current-context`, or
 * `context`), its cluster's `server`, `certificate-authority` or `certificate-authority-data`,
 * `insecure-skip-tls-verify` and `tls-server-name`, its user's `token` or `tokenFile` (token
 * wins when both are set, as in client-go; the file is re-read per request) and
 * `client-certificate(-data)` with `client-key(-data)`. Relative paths are taken from the
 * kubeconfig's directory. Credential plugins (`exec`, `auth-provider`) and basic auth are not
 * run: they fail with a one-line error naming what to use instead, as does every other problem.
 */
export function kubeconfigCredentials(
  path: string,
  opts: { context?: string } = {},
  readFile: ReadFile = (p) => readFileSync(p),
): KubeCredentials {
  const fail = (msg: string, cause?: unknown): never => {
    throw new AgentError('CREDENTIALS', `kubeconfig ${path}: ${msg}`, cause ? { cause } : undefined);
  };
  let text: string;
  try {
    text = readFile(path).toString('utf8');
  } catch (e) {
    throw new AgentError('CREDENTIALS', `cannot read the kubeconfig ${path}: ${reason(e)}`, { cause: e });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    fail(`not valid YAML: ${firstLine(e)}`, e);
  }
  if (!isObj(doc)) return fail('not a kubeconfig (expected a map with clusters, users and contexts)');
  const base = dirname(resolve(path));
  const file = (p: string) => (isAbsolute(p) ? p : resolve(base, p));

  const contextName = opts.context ?? doc['current-context'];
  if (typeof contextName !== 'string' || contextName === '')
    return fail('no current-context is set (set one with kubectl config use-context)');
  const context = named(doc, 'contexts', 'context', contextName, fail);
  const clusterName = context.cluster;
  const userName = context.user;
  if (typeof clusterName !== 'string' || !clusterName)
    return fail(`context "${contextName}" names no cluster`);
  const cluster = named(doc, 'clusters', 'cluster', clusterName, fail);
  const user =
    typeof userName === 'string' && userName ? named(doc, 'users', 'user', userName, fail) : ({} as Obj);

  const server = cluster.server;
  if (typeof server !== 'string' || !server) return fail(`cluster "${clusterName}" has no server`);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return fail(`cluster "${clusterName}": server "${server}" is not a URL such as https://10.96.0.1:6443`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return fail(`cluster "${clusterName}": server "${server}" must be http:// or https://`);
  const creds: KubeCredentials = { server: server.replace(/\/+$/, '') };

  /** PEM from `<field>-data` (base64) or the file `<field>`; undefined when neither is set. */
  const pem = (o: Obj, field: string, owner: string): Buffer | undefined => {
    const data = o[`${field}-data`];
    if (data !== undefined && data !== null && data !== '') {
      if (typeof data !== 'string' || !/^[A-Za-z0-9+/=\s]+$/.test(data))
        return fail(`${owner}: ${field}-data is not base64`);
      return Buffer.from(data, 'base64');
    }
    const p = o[field];
    if (p === undefined || p === null || p === '') return undefined;
    if (typeof p !== 'string') return fail(`${owner}: ${field} must be a file path`);
    try {
      return readFile(file(p));
    } catch (e) {
      return fail(`${owner}: cannot read ${field} ${file(p)}: ${reason(e)}`, e);
    }
  };

  const clusterOwner = `cluster "${clusterName}"`;
  const ca = pem(cluster, 'certificate-authority', clusterOwner);
  if (ca) {
    checkCertificate(ca, `${clusterOwner}: certificate-authority`, fail);
    creds.ca = ca;
  }
  if (cluster['insecure-skip-tls-verify'] === true) {
    if (ca)
      return fail(`${clusterOwner}: insecure-skip-tls-verify and a certificate authority exclude each other`);
    creds.insecureSkipTlsVerify = true;
  }
  const sni = cluster['tls-server-name'];
  if (typeof sni === 'string' && sni) creds.tlsServerName = sni;

  const userOwner = `user "${String(userName)}"`;
  for (const [field, what] of [
    ['exec', 'a credential plugin (exec)'],
    ['auth-provider', 'an auth-provider'],
    ['username', 'basic auth (username/password)'],
  ] as const) {
    if (user[field] !== undefined && user[field] !== null)
      return fail(
        `${userOwner} authenticates with ${what}, which minicni-agent does not support: use a token, tokenFile or a client certificate`,
      );
  }
  const token = user.token;
  const tokenFile = user.tokenFile;
  if (typeof token === 'string' && token.trim()) {
    const t = token.trim();
    creds.token = () => t;
  } else if (typeof tokenFile === 'string' && tokenFile) {
    const p = file(tokenFile);
    const read = () => {
      let t: string;
      try {
        t = readFile(p).toString('utf8').trim();
      } catch (e) {
        return fail(`${userOwner}: cannot read tokenFile ${p}: ${reason(e)}`, e);
      }
      return t || fail(`${userOwner}: tokenFile ${p} is empty`);
    };
    let last = read();
    creds.token = () => {
      // A rotation caught half-written keeps the last good token.
      try {
        last = read();
      } catch {
        /* keep last */
      }
      return last;
    };
  }
  const cert = pem(user, 'client-certificate', userOwner);
  const key = pem(user, 'client-key', userOwner);
  if (cert && !key) return fail(`${userOwner}: client-certificate without client-key`);
  if (key && !cert) return fail(`${userOwner}: client-key without client-certificate`);
  if (cert && key) {
    checkCertificate(cert, `${userOwner}: client-certificate`, fail);
    try {
      createPrivateKey(key);
    } catch (e) {
      return fail(`${userOwner}: client-key is not a PEM private key: ${firstLine(e)}`, e);
    }
    creds.cert = cert;
    creds.key = key;
  }
  return creds;
}

/** The entry called `name` of the list `listField` (`[{name, <field>: {...}}]`). */
function named(doc: Obj, listField: string, field: string, name: string, fail: (m: string) => never): Obj {
  const list = doc[listField];
  const entries = Array.isArray(list) ? list.filter(isObj) : [];
  const hit = entries.find((e) => e.name === name);
  if (!hit) {
    const known = entries.map((e) => String(e.name)).join(', ') || 'none';
    return fail(`${field} "${name}" is not defined (${listField}: ${known})`);
  }
  const body = hit[field];
  if (!isObj(body)) return fail(`${field} "${name}" has no ${field} map`);
  return body;
}

function checkCertificate(pem: Buffer, what: string, fail: (m: string, cause?: unknown) => never): void {
  try {
    new X509Certificate(pem);
  } catch (e) {
    fail(`${what} is not a PEM certificate: ${firstLine(e)}`, e);
  }
}

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return 'no such file';
  if (err.code === 'EACCES') return 'permission denied';
  return firstLine(e);
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}
