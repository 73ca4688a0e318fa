import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubeApi } from '@minicni/testkit/k8s-fake-api';
import { durationFlag, main, USAGE, type CliIo } from './cli.js';
import { AgentError } from './errors.js';
import { runArgs } from '../test/cli-run.js';
import { noRoutes } from '../test/policy-lab.js';

function io(env: NodeJS.ProcessEnv = {}, stop: Promise<void> = Promise.resolve()) {
  const out: string[] = [];
  const err: string[] = [];
  // Never the host's nft from the unit tier: record what would be run.
  const nft: { args: readonly string[]; stdin: string | undefined }[] = [];
  const cli: CliIo = {
    env,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    stopSignal: stop,
    nft: async (args, stdin) => {
      nft.push({ args, stdin });
      // As nft answers a counter read before any table exists.
      if (args[0] === '-j')
        throw new AgentError('POLICY', `nft ${args.join(' ')} failed (1): Error: No such file or directory`);
    },
  };
  return { cli, out: () => out.join(''), err: () => err.join(''), nft };
}

describe('minicni-agent CLI', () => {
  it('prints usage for --help (exit 0) and for no command or bad flags (exit 2)', async () => {
    const a = io();
    expect(await main(['--help'], a.cli)).toBe(0);
    expect(a.out()).toBe(USAGE);
    const b = io();
    expect(await main([], b.cli)).toBe(2);
    const c = io();
    expect(await main(['run', '--bogus'], c.cli)).toBe(2);
    expect(c.err()).toMatch(/bogus/);
    const d = io();
    expect(await main(['explode'], d.cli)).toBe(2);
    expect(d.err()).toMatch(/unknown command "explode"/);
  });

  it('install with flags writes the config; a bad CIDR is a one-line error with its code, not a stack', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-cli-'));
    const ok = io({ NODE_NAME: 'n1' });
    expect(
      await main(
        ['install', '--pod-cidr', '10.244.5.0/24', '--cni-conf-dir', dir, '--cni-bin-dir', dir],
        ok.cli,
      ),
    ).toBe(0);
    expect(ok.out()).toMatch(/installed .*10-minicni.conflist for pod CIDRs 10\.244\.5\.0\/24/);
    const bad = io({ NODE_NAME: 'n1' });
    expect(await main(['install', '--pod-cidr', '10.244.5.9/24', '--cni-conf-dir', dir], bad.cli)).toBe(1);
    expect(bad.err()).toBe(
      'minicni-agent install: "10.244.5.9/24" has host bits set; did you mean 10.244.5.0/24? [INVALID_CIDR]\n',
    );
    const cluster = io({ NODE_NAME: 'n1' });
    const withCluster = ['install', '--pod-cidr', '10.244.5.0/24', '--cni-conf-dir', dir];
    expect(await main([...withCluster, '--cluster-cidr', '10.244.0.0/16,fd00::/48'], cluster.cli)).toBe(0);
    const conf = JSON.parse(readFileSync(join(dir, '10-minicni.conflist'), 'utf8'));
    expect(conf.plugins[0].clusterCIDRs).toEqual(['10.244.0.0/16', 'fd00::/48']);
    const badCluster = io({ NODE_NAME: 'n1' });
    expect(await main([...withCluster, '--cluster-cidr', '10.244.1.0/16'], badCluster.cli)).toBe(1);
    expect(badCluster.err()).toMatch(/host bits set.*\[INVALID_CIDR\]/);
    // The plugin's hand-off socket: the default, another path, or none.
    expect(conf.plugins[0].policySocket).toBe('/run/minicni/policy.sock');
    const sock = io({ NODE_NAME: 'n1' });
    expect(await main([...withCluster, '--policy-socket', '/run/x/p.sock'], sock.cli)).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, '10-minicni.conflist'), 'utf8')).plugins[0].policySocket).toBe(
      '/run/x/p.sock',
    );
    const off = io({ NODE_NAME: 'n1' });
    expect(await main([...withCluster, '--policy-socket', 'off'], off.cli)).toBe(0);
    expect(
      JSON.parse(readFileSync(join(dir, '10-minicni.conflist'), 'utf8')).plugins[0].policySocket,
    ).toBeNull();
    const relative = io({ NODE_NAME: 'n1' });
    expect(await main([...withCluster, '--policy-socket', 'p.sock'], relative.cli)).toBe(2);
    expect(relative.err()).toMatch(/--policy-socket must be an absolute path or off/);
    const noName = io();
    expect(await main(['install', '--pod-cidr', '10.244.5.0/24'], noName.cli)).toBe(2);
    expect(noName.err()).toMatch(/NODE_NAME/);
  });

  it("install reads the seed's template from CNI_NETWORK_CONFIG and the pod CIDR from the API", async () => {
    await using api = await FakeKubeApi.start({ token: 'tk' });
    api.addNode({ name: 'n7', internalIPs: ['192.168.50.7'], podCIDRs: ['10.244.7.0/24'] });
    const dir = mkdtempSync(join(tmpdir(), 'agent-cli-'));
    writeFileSync(join(dir, 'token'), 'tk');
    const seed =
      '{"cniVersion":"0.1.0","name":"minicni","type":"minicni","bridge":"minicni0","mtu":1500,"subnet":__NODE_SUBNET__}';
    const r = io({ NODE_NAME: 'n7', CNI_NETWORK_CONFIG: seed });
    const code = await main(
      [
        'install',
        '--server',
        api.url,
        '--token-file',
        join(dir, 'token'),
        '--cni-conf-dir',
        dir,
        '--conf-name',
        'x.conflist',
      ],
      r.cli,
    );
    expect(code, r.err()).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'x.conflist'), 'utf8')).plugins[0].subnet).toBe('10.244.7.0/24');
  });

  it("install --nodes-file takes this node's pod CIDRs from the node list, asking for no API credentials", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-cli-'));
    const nodes = join(dir, 'nodes.json');
    writeFileSync(
      nodes,
      JSON.stringify({
        nodes: [
          { name: 'n1', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'] },
          { name: 'n2', internalIPs: ['192.168.50.2'], podCIDRs: ['10.244.2.0/24'] },
          { name: 'n3', internalIPs: ['192.168.50.3'], podCIDRs: [] },
        ],
      }),
    );
    const seed =
      '{"cniVersion":"0.1.0","name":"minicni","type":"minicni","bridge":"minicni0","mtu":1500,"subnet":__NODE_SUBNET__}';
    const flags = ['install', '--nodes-file', nodes, '--cni-conf-dir', dir, '--conf-name', 'x.conflist'];
    // No KUBERNETES_SERVICE_HOST, no --server: the API is never asked.
    const ok = io({ NODE_NAME: 'n2', CNI_NETWORK_CONFIG: seed });
    expect(await main(flags, ok.cli), ok.err()).toBe(0);
    expect(ok.out()).toMatch(/for pod CIDRs 10\.244\.2\.0\/24,/);
    expect(JSON.parse(readFileSync(join(dir, 'x.conflist'), 'utf8')).plugins[0].subnet).toBe('10.244.2.0/24');

    const unknown = io({ NODE_NAME: 'n9', CNI_NETWORK_CONFIG: seed });
    expect(await main(flags, unknown.cli)).toBe(1);
    expect(unknown.err()).toBe(
      `minicni-agent install: ${nodes} lists no node named "n9" (check NODE_NAME) [NODE_NOT_FOUND]\n`,
    );
    const noCidr = io({ NODE_NAME: 'n3', CNI_NETWORK_CONFIG: seed });
    expect(await main(flags, noCidr.cli)).toBe(1);
    expect(noCidr.err()).toBe(`minicni-agent install: node "n3" in ${nodes} has no podCIDRs [NO_POD_CIDR]\n`);
    const missing = io({ NODE_NAME: 'n2' });
    expect(
      await main(['install', '--nodes-file', join(dir, 'absent.json'), '--cni-conf-dir', dir], missing.cli),
    ).toBe(1);
    expect(missing.err()).toMatch(/cannot read .*absent\.json.*\[INVALID_NODES_FILE\]\n$/);
    // An explicit --pod-cidr still wins over the file.
    const explicit = io({ NODE_NAME: 'n2', CNI_NETWORK_CONFIG: seed });
    expect(await main([...flags, '--pod-cidr', '10.244.20.0/24'], explicit.cli), explicit.err()).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'x.conflist'), 'utf8')).plugins[0].subnet).toBe(
      '10.244.20.0/24',
    );
  });

  it('uninstall removes what install wrote', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-cli-'));
    const bin = join(dir, 'bin');
    const base = ['--cni-conf-dir', dir, '--cni-bin-dir', bin, '--ready-file', join(dir, 'ready')];
    expect(
      await main(
        [
          'install',
          '--node-name',
          'n',
          '--pod-cidr',
          '10.244.1.0/24',
          '--plugin',
          '/usr/bin/true=minicni',
          ...base,
        ],
        io().cli,
      ),
    ).toBe(0);
    expect(existsSync(join(bin, 'minicni'))).toBe(true);
    const u = io();
    expect(await main(['uninstall', ...base], u.cli)).toBe(0);
    expect(u.out()).toMatch(/removed 2 file\(s\).* and the policy table/);
    expect(existsSync(join(bin, 'minicni'))).toBe(false);
    // The policy table goes too, in one transaction that is no error when it is absent.
    expect(u.nft).toEqual([
      { args: ['-f', '-'], stdin: 'table inet minicni-policy\ndelete table inet minicni-policy\n' },
    ]);
  });

  it('run with a nodes file serves metrics, writes the readiness file after the first sync, and stops on the signal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-cli-'));
    const nodes = join(dir, 'nodes.json');
    // Only this node: nothing to route, so no kernel change is needed and no privilege either.
    writeFileSync(
      nodes,
      JSON.stringify({ nodes: [{ name: 'solo', internalIPs: ['127.0.0.1'], podCIDRs: ['10.244.1.0/24'] }] }),
    );
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const r = io({}, stopped);
    // Never the real kernel from the unit tier: an empty in-memory dataplane that records changes.
    const applied: unknown[] = [];
    r.cli.netlinkDataplane = async () => ({
      read: async () => ({ routes: [], neighbours: [], fdb: [] }),
      apply: async (op) => void applied.push(op),
      routesTo: async () => new Map(),
      addressMtu: async () => 1500,
    });
    const ready = join(dir, 'ready');
    const running = main(
      [
        'run',
        '--node-name',
        'solo',
        '--nodes-file',
        nodes,
        '--mode',
        'host-gw',
        '--dataplane',
        'netlink',
        '--metrics-address',
        '127.0.0.1:0',
        '--ready-file',
        ready,
        '--resync',
        '200ms',
      ],
      r.cli,
    );
    const end = Date.now() + 5000;
    while (!existsSync(ready) && Date.now() < end) await new Promise((x) => setTimeout(x, 20));
    expect(existsSync(ready), r.err()).toBe(true);
    expect(JSON.parse(readFileSync(ready, 'utf8'))).toMatchObject({ node: 'solo', mode: 'host-gw' });
    stop();
    expect(await running).toBe(0);
    expect(applied).toEqual([]);
    expect(r.err()).toMatch(/"msg":"agent stopped; routes left in place"/);
    // A static node list means no policy source: policy is off, and off removes the table.
    expect(r.nft.map((c) => c.stdin)).toEqual([
      'table inet minicni-policy\ndelete table inet minicni-policy\n',
    ]);
  });

  it('run against the API enforces NetworkPolicy by default: one ruleset through nft, a br_netfilter warning', async () => {
    await using api = await FakeKubeApi.start();
    api.addNode({ name: 'n1', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'] });
    api.addNamespace('x');
    api.addPod({ namespace: 'x', name: 'a', node: 'n1', ips: ['10.244.1.10'] });
    api.put('networkpolicies', {
      metadata: { namespace: 'x', name: 'deny' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    });
    const dir = mkdtempSync(join(tmpdir(), 'agent-cli-'));
    let stop!: () => void;
    const r = io({}, new Promise<void>((x) => (stop = x)));
    r.cli.netlinkDataplane = async () => noRoutes;
    r.cli.bridgeNetfilter = () => 'net.bridge.bridge-nf-call-iptables not 1: test';
    const running = main(
      [...runArgs(api.url, dir, join(dir, 'ready')), '--policy-socket', join(dir, 'run', 'policy.sock')],
      r.cli,
    );
    const end = Date.now() + 5000;
    const applies = () => r.nft.filter((c) => c.args[0] === '-f');
    while (applies().length === 0 && Date.now() < end) await new Promise((x) => setTimeout(x, 10));
    stop();
    expect(await running, r.err()).toBe(0);
    // The drop counters are read just before the table is replaced (none yet: no error).
    expect(r.nft.map((c) => c.args.join(' '))).toEqual([
      '-j list counters table inet minicni-policy',
      '-f -',
    ]);
    expect(applies()[0]!.stdin).toMatch(/set node4 \{[^}]*192\.168\.50\.1/);
    expect(applies()[0]!.stdin).toMatch(/map ingress4 \{[^}]*10\.244\.1\.10 : jump/);
    expect(r.err()).not.toMatch(/drop counters/);
    // Fail closed in the node's pod CIDR; the hand-off socket was served, and removed on stop.
    expect(applies()[0]!.stdin).toMatch(/set podnet4 \{[^}]*10\.244\.1\.0\/24/);
    expect(r.err()).toContain(`"policySocket":"${join(dir, 'run', 'policy.sock')}"`);
    expect(existsSync(join(dir, 'run', 'policy.sock'))).toBe(false);
    expect(r.err()).toMatch(
      /"level":"warn","msg":"network policy: net.bridge.bridge-nf-call-iptables not 1: test"/,
    );
  });

  it('rejects bad run flags before touching anything', async () => {
    for (const [args, re] of [
      [['--mode', 'bgp'], /--mode must be one of host-gw, vxlan, auto/],
      [['--resync', '5'], /--resync must be a duration/],
      [['--vxlan-vni', '0'], /--vxlan-vni must be an integer/],
      [['--metrics-address', 'nope'], /must be host:port/],
      [['--network-policy', 'maybe'], /--network-policy must be on or off/],
      [['--network-policy', 'on'], /--network-policy on needs the Kubernetes API/],
    ] as const) {
      const r = io({ NODE_NAME: 'n' });
      expect(
        await main(['run', '--nodes-file', '/nonexistent', '--dataplane', 'iproute2', ...args], r.cli),
      ).toBe(2);
      expect(r.err()).toMatch(re);
      expect(r.nft).toEqual([]);
    }
    expect(durationFlag('1.5s', 0, 'x')).toBe(1500);
    expect(durationFlag('2m', 0, 'x')).toBe(120_000);
  });
});
