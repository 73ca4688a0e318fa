import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeKubeApi } from '@minicni/testkit/k8s-fake-api';
import { capturingIo } from '../test/cli-run.js';
import { main } from './cli.js';
import type { Explanation } from './policy-explain.js';
import { parsePortSpec } from './policy-explain.js';

/**
 * `minicni-agent policy explain` against the API stand-in: two namespaces, pods on two nodes,
 * and policies for each kind of answer.
 */
let api: FakeKubeApi;
let dir: string;

beforeAll(async () => {
  api = await FakeKubeApi.start({ token: 'tk' });
  dir = mkdtempSync(join(tmpdir(), 'agent-explain-'));
  writeFileSync(join(dir, 'token'), 'tk');
  api.addNode({ name: 'n1', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'] });
  api.addNode({ name: 'n2', internalIPs: ['192.168.50.2'], podCIDRs: ['10.244.2.0/24'] });
  api.addNamespace('shop', { team: 'shop' });
  api.addNamespace('ops', { team: 'ops' });
  api.addPod({
    namespace: 'shop',
    name: 'web',
    node: 'n1',
    ips: ['10.244.1.10'],
    labels: { app: 'web' },
    ports: [{ name: 'serve-80', containerPort: 8080 }],
  });
  api.addPod({ namespace: 'shop', name: 'cart', node: 'n2', ips: ['10.244.2.21'], labels: { app: 'cart' } });
  api.addPod({ namespace: 'shop', name: 'db', node: 'n2', ips: ['10.244.2.20'], labels: { app: 'db' } });
  api.addPod({ namespace: 'ops', name: 'probe', node: 'n2', ips: ['10.244.2.30'], labels: { app: 'probe' } });
  api.addPod({ namespace: 'ops', name: 'jump', node: 'n1', ips: ['10.244.1.40'], labels: { app: 'jump' } });
  const np = (name: string, spec: Record<string, unknown>) =>
    api.put('networkpolicies', { metadata: { namespace: 'shop', name }, spec });
  // web: ingress only from shop pods on its named port, and from ops/jump's address by ipBlock.
  np('web-in', {
    podSelector: { matchLabels: { app: 'web' } },
    policyTypes: ['Ingress'],
    ingress: [
      { from: [{ podSelector: {} }], ports: [{ port: 'serve-80' }] },
      { from: [{ ipBlock: { cidr: '10.244.1.0/24', except: ['10.244.1.0/28'] } }] },
    ],
  });
  // A policy the API server would have refused: it stands for one isolating its namespace, as in `run`.
  api.addNamespace('broken');
  api.addPod({ namespace: 'broken', name: 'p', node: 'n1', ips: ['10.244.1.50'] });
  api.put('networkpolicies', {
    metadata: { namespace: 'broken', name: 'bad' },
    spec: { podSelector: {}, ingress: [{ ports: [{ port: 70000 }] }] },
  });
  // db: egress only to DNS.
  np('db-out', {
    podSelector: { matchLabels: { app: 'db' } },
    policyTypes: ['Egress'],
    egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }],
  });
});

afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

async function explain(...args: string[]) {
  const { io, out, err } = capturingIo(async () => {
    throw new Error('explain must not run nft');
  });
  const code = await main(
    ['policy', 'explain', '--server', api.url, '--token-file', join(dir, 'token'), ...args],
    io,
  );
  return { code, out: out(), err: err() };
}

async function explainJson(...args: string[]): Promise<Explanation> {
  const r = await explain(...args, '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as Explanation;
}

describe('minicni-agent policy explain', () => {
  it('allow: the selecting policy and the rule that let it through, each side with its node', async () => {
    const r = await explain('--from', 'shop/cart', '--to', 'shop/web', '--port', '8080/TCP');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(
      [
        'from     shop/cart 10.244.2.21 on node n2',
        'to       shop/web 10.244.1.10 on node n1',
        'port     8080/TCP',
        'egress   shop/cart (enforced on node n2): no egress policy selects it: not isolated, allowed',
        'ingress  shop/web (enforced on node n1): selected by shop/web-in',
        '         allowed by shop/web-in ingress rule 0: from all pods in namespace shop, ports serve-80/TCP',
        'verdict  ALLOW',
        'reason   ALLOW: egress: shop/cart is not isolated (no egress policy selects it); ingress: allowed by shop/web-in rule 0 (selected by shop/web-in)',
        '',
      ].join('\n'),
    );
    const ok = await explainJson('--from', 'ops/probe', '--to', 'ops/jump', '--port', '22');
    expect(ok).toMatchObject({
      allowed: true,
      port: 22,
      protocol: 'TCP',
      from: { pod: 'ops/probe', ip: '10.244.2.30', node: 'n2' },
      to: { pod: 'ops/jump', ip: '10.244.1.40', node: 'n1' },
      egress: { allowed: true, isolated: false, policies: [] },
      ingress: { allowed: true, isolated: false, policies: [] },
    });
    const text = await explain('--from', 'ops/probe', '--to', 'ops/jump', '--port', '22');
    expect(text.out).toContain('egress   ops/probe (enforced on node n2): no egress policy selects it');
    expect(text.out).toContain('verdict  ALLOW\n');
  });

  it('deny by ingress: an isolated destination no rule admits', async () => {
    const v = await explainJson('--from', 'ops/probe', '--to', 'shop/web', '--port', '8080/TCP');
    expect(v).toMatchObject({
      allowed: false,
      egress: { allowed: true, isolated: false },
      ingress: { allowed: false, isolated: true, pod: 'shop/web', policies: ['shop/web-in'] },
    });
    expect(v.ingress.allowedBy).toBeUndefined();
    expect(v.reason).toBe(
      'DENY: egress: ops/probe is not isolated (no egress policy selects it); ingress: denied, no rule of shop/web-in allows it',
    );
  });

  it('deny by egress, and the same client allowed where its egress rule says (UDP 53)', async () => {
    const tcp = await explainJson('--from', 'shop/db', '--to', 'ops/probe', '--port', '53/TCP');
    expect(tcp).toMatchObject({
      allowed: false,
      egress: { allowed: false, isolated: true, policies: ['shop/db-out'] },
      ingress: { allowed: true, isolated: false },
    });
    const text = await explain('--from', 'shop/db', '--to', 'shop/web', '--port', '8080/TCP');
    expect(text.out).toContain(
      'egress   shop/db (enforced on node n2): selected by shop/db-out\n         denied: no egress rule of these policies allows it\n',
    );
    expect(text.out).toContain('verdict  DENY\n');
    const udp = await explainJson('--from', 'shop/db', '--to', 'ops/probe', '--port', '53/udp');
    expect(udp).toMatchObject({
      allowed: true,
      protocol: 'UDP',
      egress: { allowedBy: { policy: 'shop/db-out', rule: 0 }, rule: 'to any peer, ports 53/UDP' },
    });
  });

  it('named port: resolved on the destination pod, then judged as that number', async () => {
    const r = await explain('--from', 'shop/db', '--to', 'shop/web', '--port', 'serve-80/TCP');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('port     serve-80/TCP (port 8080 on shop/web)\n');
    const v = await explainJson('--from', 'ops/probe', '--to', 'shop/web', '--port', 'serve-80');
    expect(v).toMatchObject({ port: 8080, portName: 'serve-80', ingress: { allowed: false } });
    // From a pod of the policy's namespace the named port is allowed, by rule 0 and its peer 0.
    const db = await explainJson('--from', 'shop/cart', '--to', 'shop/web', '--port', 'serve-80/TCP');
    expect(db.ingress).toMatchObject({
      allowed: true,
      allowedBy: { policy: 'shop/web-in', rule: 0, peer: 0 },
    });
    // A pod's address is that pod: its named ports resolve too.
    const byIp = await explainJson('--from', 'shop/cart', '--to', '10.244.1.10', '--port', 'serve-80');
    expect(byIp).toMatchObject({ port: 8080, to: { pod: 'shop/web', node: 'n1' }, allowed: true });
    const missing = await explain('--from', 'shop/db', '--to', 'shop/web', '--port', 'serve-80/UDP');
    expect(missing.code).toBe(1);
    expect(missing.err).toBe(
      'minicni-agent policy explain: pod shop/web has no UDP container port named "serve-80" (its named ports: serve-80/TCP) [POD_NOT_FOUND]\n',
    );
  });

  it('ipBlock: the reason names the block (and its excepts) that matched', async () => {
    const v = await explainJson('--from', 'ops/jump', '--to', 'shop/web', '--port', '443/TCP');
    expect(v.ingress).toMatchObject({
      allowed: true,
      allowedBy: { policy: 'shop/web-in', rule: 1, peer: 0 },
      rule: 'from ipBlock 10.244.1.0/24 except 10.244.1.0/28, ports any port',
    });
    const text = await explain('--from', 'ops/jump', '--to', 'shop/web', '--port', '443/TCP');
    expect(text.out).toContain(
      '         allowed by shop/web-in ingress rule 1: from ipBlock 10.244.1.0/24 except 10.244.1.0/28, ports any port\n',
    );
    // An address outside the cluster: only the destination's side is enforced.
    const ext = await explainJson('--from', '10.244.1.99', '--to', 'shop/web', '--port', '443');
    expect(ext).toMatchObject({
      allowed: true,
      from: { endpoint: '10.244.1.99', ip: '10.244.1.99' },
      egress: { isolated: false },
      ingress: { allowedBy: { rule: 1, peer: 0 } },
    });
    expect(ext.from.pod).toBeUndefined();
    const excepted = await explainJson('--from', '10.244.1.5', '--to', 'shop/web', '--port', '443');
    expect(excepted.allowed).toBe(false);
    // The node's own address always reaches its pods.
    const node = await explain('--from', '192.168.50.1', '--to', 'shop/web', '--port', '9999');
    expect(node.out).toContain('special  a pod and its own node always talk\n');
    expect(node.out).toContain('verdict  ALLOW\n');
  });

  it('a policy that does not convert: reported, and judged as `run` enforces it (its namespace isolated)', async () => {
    const v = await explainJson('--from', 'ops/probe', '--to', 'broken/p', '--port', '80');
    expect(v).toMatchObject({ allowed: false, ingress: { isolated: true, policies: ['broken/bad'] } });
    expect(v.notes).toHaveLength(1);
    expect(v.notes[0]).toMatch(
      /^networkpolicy broken\/bad does not convert \(.*70000.*\): stands for a policy isolating its namespace$/,
    );
    const text = await explain('--from', 'ops/probe', '--to', 'broken/p', '--port', '80');
    expect(text.out).toMatch(/\nnote {5}networkpolicy broken\/bad does not convert .*\n$/);
    // Elsewhere it changes nothing, and is not mentioned.
    expect((await explainJson('--from', 'ops/probe', '--to', 'ops/jump', '--port', '80')).notes).toEqual([]);
  });

  it('errors: one line, the right exit code, no stack', async () => {
    const cases: [string[], number, RegExp][] = [
      [
        ['--from', 'shop/nope', '--to', 'shop/web', '--port', '80'],
        1,
        /^minicni-agent policy explain: --from: no pod shop\/nope in the cluster \(pods in shop: cart, db, web\) \[POD_NOT_FOUND\]\n$/,
      ],
      [
        ['--from', 'shop/db', '--to', 'empty/x', '--port', '80'],
        1,
        /--to: no pod empty\/x in the cluster \(namespace empty has no pods\) \[POD_NOT_FOUND\]\n$/,
      ],
      [
        ['--from', 'shop/db', '--to', 'shop/web', '--port', '80/ICMP'],
        2,
        /--port "80\/ICMP": the protocol must be TCP, UDP or SCTP .*\[INVALID_ARGUMENT\]\n$/,
      ],
      [
        ['--from', 'shop/db', '--to', 'shop/web', '--port', '70000'],
        2,
        /the port must be 1-65535.*\[INVALID_ARGUMENT\]\n$/,
      ],
      [
        ['--from', 'shop/db', '--to', 'shop/web', '--port', 'Bad_Name'],
        2,
        /neither a port number nor a port name.*\[INVALID_ARGUMENT\]\n$/,
      ],
      [
        ['--from', 'shop/db', '--to', '198.51.100.7', '--port', 'serve-80'],
        2,
        /names a port, which only a destination pod has.*\[INVALID_ARGUMENT\]\n$/,
      ],
      [
        ['--from', 'a/b/c', '--to', 'shop/web', '--port', '80'],
        2,
        /--from "a\/b\/c" must be NAMESPACE\/POD or an IP address \[INVALID_ARGUMENT\]\n$/,
      ],
      [
        ['--from', 'web', '--to', 'shop/web', '--port', '80'],
        2,
        /--from "web" must be NAMESPACE\/POD or an IP address/,
      ],
      [
        ['--from', '10.0.0.1', '--to', 'fd00::1', '--port', '80'],
        2,
        /different address families \[INVALID_ARGUMENT\]\n$/,
      ],
      [['--to', 'shop/web'], 2, /missing --from, --port: e\.g\. policy explain --from/],
    ];
    for (const [args, code, message] of cases) {
      const r = await explain(...args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(code);
      expect(r.err).toMatch(message);
      expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.out).toBe('');
    }
    // Wrong token: the API's answer, one line, exit 1.
    writeFileSync(join(dir, 'bad-token'), 'nope');
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      [
        'policy',
        'explain',
        '--server',
        api.url,
        '--token-file',
        join(dir, 'bad-token'),
        '--from',
        'shop/db',
        '--to',
        'shop/web',
        '--port',
        '80',
      ],
      { env: {}, stdout: (t) => out.push(t), stderr: (t) => err.push(t), stopSignal: Promise.resolve() },
    );
    expect(code).toBe(1);
    expect(err.join('')).toMatch(
      /^minicni-agent policy explain: GET \/api\/v1\/\w+: HTTP 401: .*check the token.*\[API_REQUEST\]\n$/,
    );
    // Outside a pod without --server: what to pass instead.
    const noCreds: string[] = [];
    const args = ['policy', 'explain', '--from', 'shop/db', '--to', 'shop/web', '--port', '80'];
    const sink = { env: {}, stdout: () => {}, stopSignal: Promise.resolve() };
    expect(await main(args, { ...sink, stderr: (t) => noCreds.push(t) })).toBe(1);
    expect(noCreds.join('')).toBe(
      'minicni-agent policy explain: not running in a pod (KUBERNETES_SERVICE_HOST/PORT unset): pass --server URL and --token-file FILE [CREDENTIALS]\n',
    );
    // An API server that does not answer: one line, exit 1.
    const down: string[] = [];
    const refused = ['--server', 'http://127.0.0.1:1', ...args.slice(2)];
    expect(await main(['policy', 'explain', ...refused], { ...sink, stderr: (t) => down.push(t) })).toBe(1);
    expect(down.join('')).toMatch(
      /^minicni-agent policy explain: GET \/api\/v1\/\w+: connect ECONNREFUSED .*\[API_REQUEST\]\n$/,
    );
    // No subcommand, or another one: usage, exit 2.
    const bare = await main(['policy'], {
      env: {},
      stdout: () => {},
      stderr: (t) => err.push(t),
      stopSignal: Promise.resolve(),
    });
    expect(bare).toBe(2);
    expect(err.join('')).toContain('policy needs a subcommand: policy explain');
  });

  it('parses port specs', () => {
    expect(parsePortSpec('80')).toEqual({ port: 80, protocol: 'TCP' });
    expect(parsePortSpec('53/udp')).toEqual({ port: 53, protocol: 'UDP' });
    expect(parsePortSpec('9000/SCTP')).toEqual({ port: 9000, protocol: 'SCTP' });
    expect(parsePortSpec('serve-80/TCP')).toEqual({ port: 'serve-80', protocol: 'TCP' });
    for (const bad of ['0', '65536', '-1', 'a_b', '80/', '/TCP', 'x'.repeat(16), '123-']) {
      expect(() => parsePortSpec(bad), bad).toThrow(/--port/);
    }
  });
});
