// The policy-enforce bench's body, bundled and run by policy-enforce.mjs inside its throwaway
// node netns. 250 pods (a netns each, a veth on the node's bridge, br_netfilter on) in 125
// namespaces plus the probe namespace; the API stand-in serves them with 1,000 NetworkPolicies;
// the agent's PolicyController watches it and loads its rulesets with the real nft into the node
// netns. Per event kind it measures the time from the watch event written by the stand-in to
// the kernel enforcing it, seen by a probe whose connects flip between allowed and dropped.
// Then connect latency and iperf3 throughput between two pods, policy on vs off.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { exec, run } from '@minicni/testkit/exec';
import { FakeKubeApi, type FakeObject } from '@minicni/testkit/k8s-fake-api';
import { Backoff } from '../src/backoff.js';
import { iperfGbit } from './iperf.js';
import { KubeClient } from '../src/kube-client.js';
import { PolicyController } from '../src/policy-controller.js';
import { NftSession, removePolicyTable, spawnNft } from '../src/policy-nft.js';
import { policyInformers } from '../src/policy-sources.js';

export interface EnforceOptions {
  probeScript: string;
  /** A pod netns name the benches' leak check knows (`benchNetnsName`). */
  netnsName: () => string;
  namespaces: number;
  podsPerNamespace: number;
  policies: number;
  samples: number;
  iperfSeconds: number;
  log: (text: string) => void;
}

const NODE = 'n1';
const NODE_IP = '10.244.0.1';
const PORT = 8080;
const IPERF_PORT = 5201;

interface Pod {
  ns: string;
  name: string;
  netns: string;
  ip: string;
  labels: Record<string, string>;
  apiVisible: boolean;
}

const sel = (matchLabels: Record<string, string> = {}) => ({ matchLabels });

/**
 * Eight policies per namespace, the shapes clusters use: default deny ingress, same-app access
 * on a named port, team access by namespace selector on a port range, monitoring from an
 * ipBlock, egress to DNS and to the own namespace, and two per-app policies.
 */
function backgroundPolicies(ns: string, i: number): FakeObject[] {
  const meta = (name: string) => ({ namespace: ns, name });
  return [
    { metadata: meta('default-deny'), spec: { podSelector: {}, policyTypes: ['Ingress'] } },
    {
      metadata: meta('same-app'),
      spec: {
        podSelector: sel({ tier: 'web' }),
        ingress: [{ from: [{ podSelector: sel({ tier: 'web' }) }], ports: [{ port: 'http' }, { port: 80 }] }],
      },
    },
    {
      metadata: meta('team'),
      spec: {
        podSelector: {},
        ingress: [
          {
            from: [{ namespaceSelector: sel({ team: `t${i % 10}` }) }],
            ports: [{ port: 9000 + (i % 7), endPort: 9100 }],
          },
        ],
      },
    },
    {
      metadata: meta('monitoring'),
      spec: {
        podSelector: sel({ tier: 'db' }),
        ingress: [{ from: [{ ipBlock: { cidr: '192.168.0.0/16', except: [`192.168.${i % 250}.0/24`] } }] }],
      },
    },
    {
      metadata: meta('egress'),
      spec: {
        podSelector: sel({ tier: 'db' }),
        policyTypes: ['Egress'],
        egress: [
          {
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
          { to: [{ podSelector: {} }] },
        ],
      },
    },
    {
      metadata: meta(`app-${i % 5}`),
      spec: {
        podSelector: sel({ app: `app-${i % 5}` }),
        ingress: [
          {
            from: [
              { namespaceSelector: sel({ team: `t${(i + 1) % 10}` }), podSelector: sel({ tier: 'web' }) },
            ],
          },
        ],
      },
    },
    {
      metadata: meta('metrics'),
      spec: {
        podSelector: {},
        ingress: [
          {
            from: [{ namespaceSelector: sel({ 'kubernetes.io/metadata.name': 'monitoring' }) }],
            ports: [{ port: 9090 + (i % 3) }],
          },
        ],
      },
    },
    {
      metadata: meta('api-egress'),
      spec: {
        podSelector: sel({ tier: 'web' }),
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: `10.${100 + (i % 50)}.0.0/16` } }], ports: [{ port: 443 }] }],
      },
    },
  ];
}

/** What the probe answers: an error, or the flip time (hrtime ns), or connect times (µs). */
interface ProbeAnswer {
  error?: string;
  at?: string;
  us?: number[];
}

/** A child process in a pod netns speaking the probe's JSON-lines protocol. */
class Probe {
  readonly #child: ChildProcess;
  readonly #waiting: ((v: ProbeAnswer) => void)[] = [];
  constructor(netns: string, script: string) {
    this.#child = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', process.execPath, script, 'probe'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const rl = createInterface({ input: this.#child.stdout! });
    rl.on('line', (l) => this.#waiting.shift()?.(JSON.parse(l) as ProbeAnswer));
  }
  ask(cmd: object): Promise<ProbeAnswer> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    });
  }
  kill(): void {
    this.#child.kill('SIGKILL');
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const r = (v: number) => Math.round(v * 100) / 100;
  return { n: s.length, p50: r(percentile(s, 50)), p99: r(percentile(s, 99)), max: r(s[s.length - 1]!) };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function runPolicyEnforce(o: EnforceOptions) {
  const pods: Pod[] = [];
  for (let i = 0; i < o.namespaces; i++) {
    for (let j = 0; j < o.podsPerNamespace; j++) {
      const n = pods.length + 10;
      pods.push({
        ns: `ns-${i}`,
        name: `pod-${j}`,
        netns: o.netnsName(),
        ip: `10.244.${1 + (n >> 8)}.${n & 255}`,
        labels: { app: `app-${(i + j) % 5}`, tier: j % 2 ? 'web' : 'db' },
        apiVisible: true,
      });
    }
  }
  const probe = (name: string, ip: string, labels: Record<string, string>, apiVisible = true): Pod => {
    const p = { ns: 'probe', name, netns: o.netnsName(), ip, labels, apiVisible };
    pods.push(p);
    return p;
  };
  const client = probe('client', '10.244.9.1', { role: 'client', access: 's3' });
  const s1 = probe('s1', '10.244.9.11', { app: 's1' });
  const s2 = probe('s2', '10.244.9.12', { app: 's2' });
  const s3 = probe('s3', '10.244.9.13', { app: 's3' });
  const newPod = probe('n', '10.244.9.14', { app: 'n' }, false);
  const children: ChildProcess[] = [];
  const probes: Probe[] = [];
  await using api = await FakeKubeApi.start();
  let ctl: PolicyController | undefined;
  let session: NftSession | undefined;
  try {
    // The node: a bridge with br_netfilter, as minicni's node has it.
    await run('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await exec('modprobe', ['br_netfilter']);
    await run('sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=1']);
    await run('ip', ['link', 'add', 'mcbr0', 'type', 'bridge']);
    await run('ip', ['addr', 'add', `${NODE_IP}/16`, 'dev', 'mcbr0']);
    await run('ip', ['link', 'set', 'mcbr0', 'up']);
    // minicni's node rules (masquerade for pod traffic leaving the cluster CIDR), as on every
    // node: conntrack runs with policy off as well, so on vs off compares the policy table alone.
    await run('nft', ['-f', '-'], {
      stdin:
        'table ip mcbench-node {\n  chain post {\n    type nat hook postrouting priority srcnat; policy accept;\n' +
        '    ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 masquerade\n  }\n}\n',
    });
    const t0 = performance.now();
    await run('ip', ['-batch', '-'], { stdin: pods.map((p) => `netns add ${p.netns}\n`).join('') });
    await run('ip', ['-batch', '-'], {
      stdin: pods
        .map(
          (p, i) =>
            `link add mcv${i} type veth peer name eth0 netns ${p.netns}\nlink set mcv${i} master mcbr0 up\n`,
        )
        .join(''),
    });
    for (const p of pods) {
      await run('ip', ['-n', p.netns, '-batch', '-'], {
        stdin: `link set lo up\naddr add ${p.ip}/16 dev eth0\nlink set eth0 up\n`,
      });
    }
    o.log(
      `${pods.length} pod netns with veths on the bridge in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    for (const s of [s1, s2, s3, newPod]) {
      const c = spawn(
        'nsenter',
        [`--net=/run/netns/${s.netns}`, '--', process.execPath, o.probeScript, 'serve', String(PORT)],
        {
          stdio: 'ignore',
        },
      );
      children.push(c);
    }
    const c = spawn(
      'nsenter',
      [`--net=/run/netns/${s2.netns}`, '--', 'iperf3', '-s', '-p', String(IPERF_PORT)],
      {
        stdio: 'ignore',
      },
    );
    children.push(c);
    const prober = new Probe(client.netns, o.probeScript);
    probes.push(prober);

    // The cluster in the API stand-in.
    api.addNode({ name: NODE, internalIPs: [NODE_IP], podCIDRs: ['10.244.0.0/16'] });
    for (let i = 0; i < o.namespaces; i++) api.addNamespace(`ns-${i}`, { team: `t${i % 10}` });
    api.addNamespace('probe');
    for (const p of pods.filter((x) => x.apiVisible)) {
      api.addPod({
        namespace: p.ns,
        name: p.name,
        node: NODE,
        ips: [p.ip],
        labels: p.labels,
        ports: [{ name: 'http', containerPort: 8080 + (pods.indexOf(p) % 3) }],
      });
    }
    const background = Array.from({ length: o.namespaces }, (_, i) =>
      backgroundPolicies(`ns-${i}`, i),
    ).flat();
    const probePolicies = [
      {
        metadata: { namespace: 'probe', name: 's2' },
        spec: {
          podSelector: sel({ app: 's2' }),
          ingress: [
            {
              from: [{ podSelector: sel({ role: 'client' }) }],
              ports: [{ port: PORT }, { port: IPERF_PORT }],
            },
          ],
        },
      },
      {
        metadata: { namespace: 'probe', name: 's3' },
        spec: {
          podSelector: sel({ app: 's3' }),
          ingress: [{ from: [{ podSelector: sel({ access: 's3' }) }], ports: [{ port: PORT }] }],
        },
      },
      {
        metadata: { namespace: 'probe', name: 'deny-n' },
        spec: { podSelector: sel({ app: 'n' }), policyTypes: ['Ingress'] },
      },
      {
        // The client is isolated for egress too, so its packets cross an egress chain as well.
        metadata: { namespace: 'probe', name: 'client-egress' },
        spec: {
          podSelector: sel({ role: 'client' }),
          policyTypes: ['Egress'],
          egress: [
            { to: [{ ipBlock: { cidr: '10.244.0.0/16' } }], ports: [{ port: PORT }, { port: IPERF_PORT }] },
          ],
        },
      },
    ];
    const all = [...background.slice(0, o.policies - probePolicies.length), ...probePolicies];
    for (const p of all) api.put('networkpolicies', p);
    o.log(
      `API: ${pods.filter((p) => p.apiVisible).length} pods, ${o.namespaces + 1} namespaces, ${all.length} policies\n`,
    );

    const kube = new KubeClient({ server: api.url });
    const fast = () => new Backoff({ baseMs: 10, maxMs: 100 });
    // The nft runs timed, to tell the kernel's share from the controller's.
    const nftMs: number[] = [];
    // As `minicni-agent run` does it: deltas through one long-lived `nft -i`.
    session = new NftSession();
    const timedNft: typeof spawnNft = async (args, stdin) => {
      const t = performance.now();
      await session!.run(args, stdin);
      nftMs.push(performance.now() - t);
      if (process.env.BENCH_DUMP_NFT)
        writeFileSync(`${process.env.BENCH_DUMP_NFT}/${nftMs.length}.nft`, stdin ?? '');
    };
    ctl = new PolicyController({
      nodeName: NODE,
      caches: policyInformers(kube, { backoff: fast }),
      nft: timedNft,
    });
    const started = performance.now();
    ctl.start();
    ctl.setNodeIps([NODE_IP]);
    await until('the first ruleset', () => ctl!.status.applies >= 1 && ctl!.status.pending === 0);
    await ctl.idle();
    const firstMs = performance.now() - started;
    const listed = await run('nft', ['list', 'table', 'inet', 'minicni-policy']);
    const chains = (listed.match(/^\tchain /gm) ?? []).length;
    o.log(
      `first full ruleset (list + plan + nft): ${firstMs.toFixed(0)} ms, ${chains} chains, ${(listed.length / 1024).toFixed(0)} KiB listed\n`,
    );

    // One sample: the probe polls, the event is written, the probe reports when the kernel flipped.
    const passMs: Record<string, number[]> = {};
    const cpuMs: Record<string, number[]> = {};
    const nftPerKind: Record<string, number[]> = {};
    const sample = async (
      kind: string,
      target: Pod,
      want: 'allowed' | 'denied',
      event: () => void,
    ): Promise<void> => {
      await ctl!.idle();
      await new Promise((r) => setTimeout(r, 30));
      const answer = prober.ask({ op: 'flip', dst: target.ip, port: PORT, want });
      // Let the probe run a few attempts with the old outcome first.
      await new Promise((r) => setTimeout(r, 15));
      const cpu0 = process.cpuUsage();
      const at = process.hrtime.bigint();
      event();
      const r = await answer;
      if (r.error || typeof r.at !== 'string')
        throw new Error(`probe to ${target.name} (${want}): ${r.error}`);
      kinds[kind]!.push(Number(BigInt(r.at) - at) / 1e6);
      await ctl!.idle();
      const cpu = process.cpuUsage(cpu0);
      (cpuMs[kind] ??= []).push((cpu.user + cpu.system) / 1000);
      (passMs[kind] ??= []).push((ctl!.status.lastSyncSeconds ?? 0) * 1000);
      (nftPerKind[kind] ??= []).push(nftMs[nftMs.length - 1] ?? 0);
    };
    const check = async (target: Pod, want: 'allowed' | 'denied') => {
      const r = await prober.ask({ op: 'flip', dst: target.ip, port: PORT, want, maxMs: 2000 });
      if (r.error) throw new Error(`${target.name} is not ${want} before the samples: ${r.error}`);
    };
    await check(s1, 'allowed');
    await check(s2, 'allowed');
    await check(s3, 'allowed');
    await check(newPod, 'allowed');

    const kinds: Record<string, number[]> = {
      'policy add': [],
      'policy change': [],
      'policy delete': [],
      'pod label change': [],
      'new pod': [],
      'pod delete': [],
    };
    const denyS1 = {
      metadata: { namespace: 'probe', name: 'deny-s1' },
      spec: { podSelector: sel({ app: 's1' }), policyTypes: ['Ingress'] },
    };
    const s2Policy = (role: string) => ({
      ...probePolicies[0]!,
      spec: {
        ...probePolicies[0]!.spec,
        ingress: [{ from: [{ podSelector: sel({ role }) }], ports: [{ port: PORT }, { port: IPERF_PORT }] }],
      },
    });
    const clientPod = (access: string) => ({
      namespace: 'probe',
      name: 'client',
      node: NODE,
      ips: [client.ip],
      labels: { ...client.labels, access },
      ports: [{ name: 'http', containerPort: 8080 }],
    });
    for (let i = 0; i < o.samples; i++) {
      await sample('policy add', s1, 'denied', () => api.put('networkpolicies', denyS1));
      await sample('policy delete', s1, 'allowed', () => api.delete('networkpolicies', 'probe/deny-s1'));
      await sample('policy change', s2, 'denied', () => api.put('networkpolicies', s2Policy('nobody')));
      await sample('policy change', s2, 'allowed', () => api.put('networkpolicies', s2Policy('client')));
      await sample('pod label change', s3, 'denied', () => api.addPod(clientPod('none')));
      await sample('pod label change', s3, 'allowed', () => api.addPod(clientPod('s3')));
      await sample('new pod', newPod, 'denied', () =>
        api.addPod({ namespace: 'probe', name: 'n', node: NODE, ips: [newPod.ip], labels: newPod.labels }),
      );
      await sample('pod delete', newPod, 'allowed', () => api.delete('pods', 'probe/n'));
      if ((i + 1) % 10 === 0) o.log(`  ${i + 1}/${o.samples} rounds\n`);
    }
    const enforce = Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, summary(v)]));
    const passes = Object.fromEntries(Object.entries(passMs).map(([k, v]) => [k, summary(v)]));
    const nftRuns = Object.fromEntries(Object.entries(nftPerKind).map(([k, v]) => [k, summary(v)]));
    const cpus = Object.fromEntries(Object.entries(cpuMs).map(([k, v]) => [k, summary(v)]));
    for (const [k, s] of Object.entries(enforce))
      o.log(
        `${k.padEnd(18)} n=${s.n}  p50 ${s.p50.toFixed(1)} ms  p99 ${s.p99.toFixed(1)} ms  max ${s.max.toFixed(1)} ms` +
          `  (controller pass p50 ${passes[k]!.p50.toFixed(1)} ms, of it nft p50 ${nftRuns[k]!.p50.toFixed(1)} ms;` +
          ` agent process cpu p50 ${cpus[k]!.p50.toFixed(1)} ms)\n`,
      );
    const st = ctl.status;
    o.log(
      `controller: ${st.applies} applies (${st.fullApplies} full), ${st.applyFailures} failed, ${st.syncs} syncs\n`,
    );
    const controller = {
      applies: st.applies,
      fullApplies: st.fullApplies,
      applyFailures: st.applyFailures,
      syncs: st.syncs,
    };
    await ctl.stop();
    ctl = undefined;

    // The data plane between the client and s2: policy on (the table as the agent left it,
    // both pods isolated, the client for egress and s2 for ingress) vs off (no table).
    const connectUs = async (): Promise<number[]> => {
      const r = await prober.ask({ op: 'connects', dst: s2.ip, port: PORT, count: 2000 });
      if (r.error || !r.us) throw new Error(r.error ?? 'no connect times');
      return r.us;
    };
    const iperf = async (): Promise<number> => {
      const r = await iperfGbit(`/run/netns/${client.netns}`, s2.ip, IPERF_PORT, o.iperfSeconds);
      if ('error' in r) throw new Error(`iperf3: ${r.error}`);
      return r.gbit;
    };
    const onText = await run('nft', ['list', 'table', 'inet', 'minicni-policy']);
    const rounds: { policy: boolean; connect: ReturnType<typeof summary>; gbitPerSec: number }[] = [];
    // Alternating on and off, twice each, so a noisy neighbour spreads over both.
    for (const policy of [true, false, true, false]) {
      if (policy) {
        // The same table, loaded again as a whole.
        await run('nft', ['-f', '-'], {
          stdin: `table inet minicni-policy\ndelete table inet minicni-policy\n${onText}`,
        });
      } else await removePolicyTable(spawnNft);
      const connect = summary(await connectUs());
      const gbitPerSec = await iperf();
      rounds.push({ policy, connect, gbitPerSec });
      o.log(
        `policy ${policy ? 'on ' : 'off'}: connect p50 ${connect.p50.toFixed(0)} µs, p99 ${connect.p99.toFixed(0)} µs; iperf3 ${gbitPerSec.toFixed(2)} Gbit/s\n`,
      );
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const on = rounds.filter((r) => r.policy);
    const off = rounds.filter((r) => !r.policy);
    const ratios = {
      connectP50OnVsOff: mean(on.map((r) => r.connect.p50)) / mean(off.map((r) => r.connect.p50)),
      connectP99OnVsOff: mean(on.map((r) => r.connect.p99)) / mean(off.map((r) => r.connect.p99)),
      throughputOnVsOff: mean(on.map((r) => r.gbitPerSec)) / mean(off.map((r) => r.gbitPerSec)),
    };
    o.log(
      `policy on / off: connect p50 ${ratios.connectP50OnVsOff.toFixed(3)}x, p99 ${ratios.connectP99OnVsOff.toFixed(3)}x, throughput ${ratios.throughputOnVsOff.toFixed(3)}x\n`,
    );
    return {
      pods: pods.length,
      policies: all.length,
      firstRulesetMs: Math.round(firstMs),
      chains,
      enforceMs: enforce,
      controllerPassMs: passes,
      nftMs: nftRuns,
      agentCpuMs: cpus,
      loadAverage: os.loadavg(),
      controller,
      dataplane: rounds,
      ratios,
    };
  } finally {
    await ctl?.stop();
    await session?.close();
    for (const p of probes) p.kill();
    for (const c of children) c.kill('SIGKILL');
    await exec('ip', ['-batch', '-'], { stdin: pods.map((p) => `netns del ${p.netns}\n`).join('') });
    await exec('nft', ['delete', 'table', 'inet', 'minicni-policy']);
    await exec('nft', ['delete', 'table', 'ip', 'mcbench-node']);
    await exec('ip', ['link', 'del', 'mcbr0']);
  }
}
