import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FakeKubeApi, testAuthority } from '@minicni/testkit/k8s-fake-api';
import { isAgentError } from './errors.js';
import { KubeClient } from './kube-client.js';
import { kubeconfigCredentials } from './kubeconfig.js';
import { main, type CliIo } from './cli.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A kubeconfig with one context `ctx` joining `cluster` and `user` (plus extra contexts). */
function kubeconfig(cluster: object, user: object, extra: object = {}) {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'ctx',
    clusters: [{ name: 'c1', cluster }],
    users: [{ name: 'u1', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c1', user: 'u1', namespace: 'kube-system' } }],
    ...extra,
  });
}

type List = { items: { metadata: { name: string } }[] };

describe('kubeconfig credentials against an HTTPS API stand-in', () => {
  let dir: string;
  let pki: ReturnType<typeof testAuthority>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mct-kubeconfig-'));
    pki = testAuthority('system:node:n1');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  async function serve(opts: { token?: string; clientCa?: boolean } = {}) {
    const api = await FakeKubeApi.start({
      ...(opts.token ? { token: opts.token } : {}),
      tls: { ...pki.server, ...(opts.clientCa ? { clientCa: pki.ca } : {}) },
    });
    api.addNode({ name: 'n1' });
    return api;
  }

  it('a token and certificate-authority-data: lists over verified TLS with the bearer token', async () => {
    await using api = await serve({ token: 's3cret' });
    const path = write(
      'token.yaml',
      kubeconfig({ server: `${api.url}/`, 'certificate-authority-data': b64(pki.ca) }, { token: 's3cret' }),
    );
    const creds = kubeconfigCredentials(path);
    expect(creds.server).toBe(api.url);
    const list = await new KubeClient(creds).getJson<List>('/api/v1/nodes');
    expect(list.items.map((n) => n.metadata.name)).toEqual(['n1']);
    // The CA is what makes it trusted: without it the same server is refused.
    const noCa = write('no-ca.yaml', kubeconfig({ server: api.url }, { token: 's3cret' }));
    await expect(new KubeClient(kubeconfigCredentials(noCa)).getJson('/api/v1/nodes')).rejects.toThrow(
      /self.signed|unable to (get|verify)/i,
    );
  });

  it('a tokenFile and a certificate-authority file, both relative to the kubeconfig, re-read per request', async () => {
    await using api = await serve({ token: 'first' });
    mkdirSync(join(dir, 'sub'), { recursive: true });
    write('sub/ca.crt', pki.ca);
    write('sub/token', 'first\n');
    const path = write(
      'sub/file.yaml',
      kubeconfig({ server: api.url, 'certificate-authority': 'ca.crt' }, { tokenFile: 'token' }),
    );
    const client = new KubeClient(kubeconfigCredentials(path));
    expect((await client.getJson<List>('/api/v1/nodes')).items).toHaveLength(1);
    write('sub/token', 'rotated\n');
    await expect(client.getJson('/api/v1/nodes')).rejects.toThrow(/HTTP 401/);
  });

  it('a client certificate and key (files and -data): the server sees the certificate, no token sent', async () => {
    await using api = await serve({ clientCa: true });
    write('client.crt', pki.client.cert);
    write('client.key', pki.client.key);
    const files = write(
      'certs.yaml',
      kubeconfig(
        { server: api.url, 'certificate-authority-data': b64(pki.ca) },
        { 'client-certificate': 'client.crt', 'client-key': join(dir, 'client.key') },
      ),
    );
    const data = write(
      'certs-data.yaml',
      kubeconfig(
        { server: api.url, 'certificate-authority-data': b64(pki.ca) },
        { 'client-certificate-data': b64(pki.client.cert), 'client-key-data': b64(pki.client.key) },
      ),
    );
    for (const path of [files, data]) {
      const list = await new KubeClient(kubeconfigCredentials(path)).getJson<List>('/api/v1/nodes');
      expect(list.items).toHaveLength(1);
    }
    expect(api.clientNames).toEqual(['system:node:n1', 'system:node:n1']);
    // No certificate, no token: 401, as the API server answers an anonymous request.
    const anonymous = write(
      'anon.yaml',
      kubeconfig({ server: api.url, 'certificate-authority-data': b64(pki.ca) }, {}),
    );
    await expect(new KubeClient(kubeconfigCredentials(anonymous)).getJson('/api/v1/nodes')).rejects.toThrow(
      /HTTP 401/,
    );
  });

  it('insecure-skip-tls-verify accepts an unknown server certificate; --context picks another context', async () => {
    await using api = await serve({ token: 't' });
    const path = write(
      'insecure.yaml',
      kubeconfig(
        { server: 'https://192.0.2.1:6443' },
        { token: 't' },
        {
          clusters: [
            { name: 'c1', cluster: { server: 'https://192.0.2.1:6443' } },
            { name: 'lab', cluster: { server: api.url, 'insecure-skip-tls-verify': true } },
          ],
          contexts: [
            { name: 'ctx', context: { cluster: 'c1', user: 'u1' } },
            { name: 'lab', context: { cluster: 'lab', user: 'u1' } },
          ],
        },
      ),
    );
    const creds = kubeconfigCredentials(path, { context: 'lab' });
    expect(creds.insecureSkipTlsVerify).toBe(true);
    expect((await new KubeClient(creds).getJson<List>('/api/v1/nodes')).items).toHaveLength(1);
  });
});

describe('kubeconfig errors: one line each, code CREDENTIALS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mct-kubeconfig-bad-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const error = (path: string, context?: string): string => {
    try {
      kubeconfigCredentials(path, context ? { context } : {});
    } catch (e) {
      expect(isAgentError(e, 'CREDENTIALS')).toBe(true);
      const msg = (e as Error).message;
      expect(msg).not.toContain('\n');
      return msg;
    }
    throw new Error('no error');
  };
  const server = { server: 'https://10.0.0.1:6443' };

  it('names the missing file, context, cluster or user', () => {
    expect(error(join(dir, 'absent.yaml'))).toBe(
      `cannot read the kubeconfig ${join(dir, 'absent.yaml')}: no such file`,
    );
    const ok = file('ok.yaml', kubeconfig(server, { token: 't' }));
    expect(error(ok, 'prod')).toMatch(/context "prod" is not defined \(contexts: ctx\)/);
    expect(error(file('nocur.yaml', kubeconfig(server, {}, { 'current-context': '' })))).toMatch(
      /no current-context is set/,
    );
    const noCluster = file(
      'nocluster.yaml',
      kubeconfig(server, {}, { contexts: [{ name: 'ctx', context: { cluster: 'gone', user: 'u1' } }] }),
    );
    expect(error(noCluster)).toMatch(/cluster "gone" is not defined \(clusters: c1\)/);
    expect(error(file('yaml.yaml', 'clusters: [unclosed'))).toMatch(/not valid YAML/);
    expect(error(file('list.yaml', '- a\n- b\n'))).toMatch(/not a kubeconfig/);
    expect(error(file('noserver.yaml', kubeconfig({}, {})))).toMatch(/cluster "c1" has no server/);
  });

  it('says which certificate or key cannot be read or parsed', () => {
    const absentCa = file(
      'absent-ca.yaml',
      kubeconfig({ ...server, 'certificate-authority': 'nope.crt' }, {}),
    );
    expect(error(absentCa)).toBe(
      `kubeconfig ${absentCa}: cluster "c1": cannot read certificate-authority ${join(dir, 'nope.crt')}: no such file`,
    );
    const garbageCa = file(
      'garbage-ca.yaml',
      kubeconfig({ ...server, 'certificate-authority-data': b64('not a certificate') }, {}),
    );
    expect(error(garbageCa)).toMatch(/cluster "c1": certificate-authority is not a PEM certificate/);
    expect(
      error(file('b64.yaml', kubeconfig({ ...server, 'certificate-authority-data': '%%%' }, {}))),
    ).toMatch(/certificate-authority-data is not base64/);
    const pki = testAuthority();
    const noKey = file('nokey.yaml', kubeconfig(server, { 'client-certificate-data': b64(pki.client.cert) }));
    expect(error(noKey)).toMatch(/user "u1": client-certificate without client-key/);
    const badKey = file(
      'badkey.yaml',
      kubeconfig(server, { 'client-certificate-data': b64(pki.client.cert), 'client-key-data': b64('junk') }),
    );
    expect(error(badKey)).toMatch(/user "u1": client-key is not a PEM private key/);
    const absentKey = file(
      'absentkey.yaml',
      kubeconfig(server, {
        'client-certificate-data': b64(pki.client.cert),
        'client-key': '/nonexistent/k.pem',
      }),
    );
    expect(error(absentKey)).toMatch(/user "u1": cannot read client-key \/nonexistent\/k\.pem: no such file/);
    expect(error(file('tokfile.yaml', kubeconfig(server, { tokenFile: 'missing-token' })))).toMatch(
      /user "u1": cannot read tokenFile .*missing-token: no such file/,
    );
  });

  it('refuses credential plugins and basic auth with what to use instead', () => {
    const exec = file('exec.yaml', kubeconfig(server, { exec: { command: 'aws', apiVersion: 'x' } }));
    expect(error(exec)).toMatch(
      /user "u1" authenticates with a credential plugin \(exec\), which minicni-agent does not support: use a token, tokenFile or a client certificate/,
    );
    expect(error(file('basic.yaml', kubeconfig(server, { username: 'a', password: 'b' })))).toMatch(
      /basic auth/,
    );
  });

  it('the CLI prints one line for a bad --kubeconfig and refuses it beside --server', async () => {
    const err: string[] = [];
    const io: CliIo = {
      env: { NODE_NAME: 'n1' },
      stdout: () => {},
      stderr: (t) => err.push(t),
      stopSignal: Promise.resolve(),
      nft: async () => {},
    };
    const missing = join(dir, 'nowhere.yaml');
    expect(await main(['run', '--kubeconfig', missing, '--dataplane', 'iproute2'], io)).toBe(1);
    expect(err.join('')).toBe(
      `minicni-agent run: cannot read the kubeconfig ${missing}: no such file [CREDENTIALS]\n`,
    );
    err.length = 0;
    expect(await main(['install', '--kubeconfig', missing, '--server', 'https://x'], io)).toBe(2);
    expect(err.join('')).toMatch(/--kubeconfig and --server exclude each other/);
    err.length = 0;
    expect(await main(['run', '--context', 'x', '--server', 'https://x'], io)).toBe(2);
    expect(err.join('')).toMatch(/--context needs --kubeconfig/);
  });
});
