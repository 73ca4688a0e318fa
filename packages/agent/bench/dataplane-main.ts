// The data-plane bench's body, bundled and run by dataplane.mjs (plain Node, no test runner).
// Two node netns on one L2 underlay segment, the agent on each, pods made by the minicni
// executable: p1a and p1b on n1, p2 on n2. Per routing mode (host-gw, vxlan) it measures, in the
// same run: node to node over the underlay (the reference), pod to pod on one node, and pod to
// pod across the nodes; then, in host-gw, the same pod paths with a NetworkPolicy table of 1,000
// policies selecting the pods loaded on both nodes. Throughput: iperf3 (TCP, one stream);
// request/response latency: sockperf ping-pong (TCP).
import { spawn, type ChildProcess } from 'node:child_process';
import { compileNodeRuleset, namespaceFromK8s, networkPolicyFromK8s, podFromK8s } from '@minicni/policy';
import { MultiNodeLab, type LabPod } from '@minicni/testkit/multinode';
import type { TestNetns } from '@minicni/testkit';
import type { PodPlugin } from '@minicni/testkit/multinode';
import { podMtuFor } from '../src/pod-mtu.js';
import { iperfGbit } from './iperf.js';
import { podPlugin } from '../test/demo-main.js';
import { LabAgent, writeNodesFile } from '../test/lab-agents.js';

export interface DataplaneOptions {
  bundle: string;
  plugin: string;
  seconds: number;
  /** Every path is measured this many times, the paths taking turns; figures are medians. */
  rounds: number;
  policies: number;
  log: (text: string) => void;
}

export interface PathResult {
  path: string;
  mode: string;
  policy: boolean;
  /** Medians over the rounds. */
  gbitPerSec: number;
  latencyUs: { avg: number; p50: number; p99: number };
  /** Each round's figures, in the order measured. */
  samples: { gbitPerSec: number; latencyUs: { avg: number; p50: number; p99: number } }[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const IPERF_PORT = 5201;
const SOCKPERF_PORT = 11111;

function startServer(ns: TestNetns, file: string, args: string[]): ChildProcess {
  return spawn('nsenter', [`--net=${ns.path}`, '--', file, ...args], { stdio: 'ignore' });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

async function waitListening(ns: TestNetns, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await ns.exec('ss', ['-Htln', `sport = :${port}`]);
    if (r.stdout.trim()) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`nothing listens on ${port} in ${ns.name}`);
}

/**
 * One iperf3 TCP stream from `from` to `ip` for `seconds` (the first second omitted). A run that
 * iperf3 itself aborts (seen now and then under load: "the client has terminated") is tried
 * again, up to 3 times; the failures are reported, never counted as figures.
 */
async function throughput(from: TestNetns, to: TestNetns, ip: string, seconds: number): Promise<number> {
  const errors: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const server = startServer(to, 'iperf3', ['-s', '-1', '-p', String(IPERF_PORT)]);
    try {
      await waitListening(to, IPERF_PORT);
      const r = await iperfGbit(from.path, ip, IPERF_PORT, seconds);
      if ('gbit' in r) return r.gbit;
      errors.push(r.error);
    } finally {
      await stop(server);
    }
  }
  throw new Error(`iperf3 to ${ip} failed 3 times: ${errors.join('; ')}`);
}

/** sockperf TCP ping-pong from `from` to `ip`: average, median and p99 round trip / 2 in µs. */
async function latency(from: TestNetns, to: TestNetns, ip: string, seconds: number) {
  const server = startServer(to, 'sockperf', ['sr', '--tcp', '-i', ip, '-p', String(SOCKPERF_PORT)]);
  try {
    await waitListening(to, SOCKPERF_PORT);
    const r = await from.exec('sockperf', [
      'pp',
      '--tcp',
      '-i',
      ip,
      '-p',
      String(SOCKPERF_PORT),
      '-t',
      String(seconds),
    ]);
    if (r.code !== 0) throw new Error(`sockperf to ${ip} failed: ${r.stdout.slice(-400)} ${r.stderr}`);
    const num = (re: RegExp) => Number(re.exec(r.stdout)?.[1]);
    return {
      avg: num(/avg-latency=([\d.]+)/),
      p50: num(/percentile 50\.000 =\s+([\d.]+)/),
      p99: num(/percentile 99\.000 =\s+([\d.]+)/),
    };
  } finally {
    await stop(server);
  }
}

/**
 * `count` policies in namespace `bench`, every one selecting the server pods (app=server) or the
 * client (app=client), as a cluster with many teams' rules would: most allow other (absent)
 * clients on other ports; a few allow this client to the servers on the bench's ports. So the
 * sets the kernel looks up hold every policy's peers and ports.
 */
function policies(count: number): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const toServer = i % 2 === 0;
    const allowsBench = i < 4;
    const peer = { podSelector: { matchLabels: { app: allowsBench ? 'client' : `client-${i}` } } };
    const server = { podSelector: { matchLabels: { app: 'server' } } };
    const ports = allowsBench
      ? [
          { protocol: 'TCP', port: IPERF_PORT },
          { protocol: 'TCP', port: SOCKPERF_PORT },
        ]
      : [{ protocol: i % 3 === 0 ? 'UDP' : 'TCP', port: 1000 + (i % 2000) }];
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace: 'bench', name: `p${i}` },
      spec: toServer
        ? { podSelector: server.podSelector, policyTypes: ['Ingress'], ingress: [{ from: [peer], ports }] }
        : {
            podSelector: { matchLabels: { app: allowsBench ? 'client' : `client-${i}` } },
            policyTypes: ['Egress'],
            egress: [
              {
                to: [allowsBench ? server : { podSelector: { matchLabels: { app: `server-${i}` } } }],
                ports,
              },
            ],
          },
    });
  }
  return out;
}

/** Loads the policy table compiled for `node` from the lab's pods and `count` policies. */
async function loadPolicy(lab: MultiNodeLab, [client, ...servers]: LabPod[], count: number): Promise<void> {
  const apps: Record<string, string> = { [client!.name]: 'client' };
  for (const s of servers) apps[s.name] = 'server';
  const state = {
    namespaces: [
      namespaceFromK8s({ metadata: { name: 'bench', labels: { 'kubernetes.io/metadata.name': 'bench' } } }),
    ],
    pods: lab.pods.map((p) =>
      podFromK8s({
        metadata: { namespace: 'bench', name: p.name, labels: { app: apps[p.name] ?? 'other' } },
        spec: { nodeName: p.node.name, containers: [] },
        status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }] },
      }),
    ),
    policies: policies(count).map((p) => networkPolicyFromK8s(p)),
    nodes: lab.nodes.map((n) => ({ name: n.name, ips: [n.ip] })),
  };
  for (const n of lab.nodes) {
    const text = compileNodeRuleset(state, n.name);
    const r = await n.ns.exec('nft', ['-f', '-'], { stdin: text });
    if (r.code !== 0) throw new Error(`nft on ${n.name}: ${r.stderr}`);
  }
}

async function unloadPolicy(lab: MultiNodeLab): Promise<void> {
  for (const n of lab.nodes) await n.ns.exec('nft', ['delete', 'table', 'inet', 'minicni-policy']);
}

export async function runDataplane(
  o: DataplaneOptions,
): Promise<{ results: PathResult[]; mtu: Record<string, number> }> {
  const plugin = podPlugin(o.plugin);
  await using lab = await MultiNodeLab.create([
    { name: 'n1', segment: 'a' },
    { name: 'n2', segment: 'a' },
  ]);
  for (const n of lab.nodes) {
    // The underlay veth gets GRO, as a NIC has it on by default: without it every VXLAN packet
    // is decapsulated alone, which no real node does (ethtool from Debian, setup.sh installs it).
    {
      const links = JSON.parse((await n.ns.exec('ip', ['-j', 'addr', 'show'])).stdout) as {
        ifname: string;
        addr_info: { local: string }[];
      }[];
      const dev = links.find((l) => l.addr_info.some((a) => a.local === n.ip))!.ifname;
      const r = await n.ns.exec('ethtool', ['-K', dev, 'gro', 'on']);
      if (r.code !== 0) throw new Error(`ethtool -K ${dev} gro on (${n.name}): ${r.stderr}`);
    }
    // Pod traffic on one bridge goes through the inet forward hook (the policy table) only so.
    await n.ns.exec('modprobe', ['br_netfilter']);
    await n.ns.exec('sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=1']);
  }
  // Pods per mode, with the MTU the installer gives the pods of that mode (less the VXLAN
  // header in vxlan): <mode initial>1a and <mode initial>1b on n1, <mode initial>2 on n2.
  const withMtu = (mtu: number): PodPlugin => ({
    ...plugin,
    config: (node, dataDir) => ({ ...(plugin.config(node, dataDir) as object), mtu }),
  });
  writeNodesFile(lab, ['n1', 'n2']);
  const pod = (name: string): LabPod => lab.pods.find((x) => x.name === name)!;
  const [n1, n2] = [lab.node('n1'), lab.node('n2')];
  const agents = lab.nodes.map((n) => new LabAgent(lab, n, o.bundle));
  const results: PathResult[] = [];
  const mtu: Record<string, number> = {};
  const measure = async (
    path: string,
    mode: string,
    policy: boolean,
    from: TestNetns,
    to: TestNetns,
    ip: string,
  ) => {
    const gbitPerSec = await throughput(from, to, ip, o.seconds);
    const latencyUs = await latency(from, to, ip, Math.max(2, Math.round(o.seconds / 2)));
    let r = results.find((x) => x.path === path && x.mode === mode && x.policy === policy);
    if (!r) {
      r = { path, mode, policy, gbitPerSec: 0, latencyUs: { avg: 0, p50: 0, p99: 0 }, samples: [] };
      results.push(r);
    }
    r.samples.push({ gbitPerSec, latencyUs });
    r.gbitPerSec = median(r.samples.map((x) => x.gbitPerSec));
    for (const k of ['avg', 'p50', 'p99'] as const)
      r.latencyUs[k] = median(r.samples.map((x) => x.latencyUs[k]));
    o.log(
      `round ${r.samples.length}  ${mode.padEnd(8)}${policy ? 'policy  ' : '        '}${path.padEnd(26)}${gbitPerSec.toFixed(2).padStart(7)} Gbit/s  latency avg ${latencyUs.avg.toFixed(1)} µs, p99 ${latencyUs.p99.toFixed(1)} µs\n`,
    );
  };
  try {
    for (const mode of ['host-gw', 'vxlan']) {
      // Each mode's pods are made when its turn comes: a bridge takes the smallest MTU of its
      // ports, and the vxlan pods' 1450 would hold the host-gw pods to it too (a node runs one
      // mode; a bridge shared by both is this bench's artifact, not a node's).
      const m = mode[0]!;
      const mtuPlugin = withMtu(podMtuFor(mode as 'host-gw' | 'vxlan', 1500));
      await lab.addPod('n1', mtuPlugin, `${m}1a`);
      await lab.addPod('n1', mtuPlugin, `${m}1b`);
      await lab.addPod('n2', mtuPlugin, `${m}2`);
      const [p1a, p1b, p2] = [pod(`${m}1a`), pod(`${m}1b`), pod(`${m}2`)];
      for (const a of agents) a.start(mode);
      for (const a of agents) await a.waitReady();
      if (!(await lab.ping(p1a, p2.ip))) throw new Error(`${mode}: p1a cannot reach p2`);
      const link = JSON.parse((await n1.ns.exec('ip', ['-j', 'link', 'show'])).stdout) as {
        ifname: string;
        mtu: number;
      }[];
      for (const l of link) if (/vxlan|minicni/.test(l.ifname)) mtu[`${mode} ${l.ifname}`] = l.mtu;
      // The paths take turns, round after round, so a burst of load elsewhere on the machine
      // lands on all of them rather than on one; each figure is the median of its rounds.
      for (let round = 0; round < o.rounds; round++) {
        await measure('node -> node (underlay)', mode, false, n1.ns, n2.ns, n2.ip);
        if (mode === 'host-gw') await measure('pod -> pod, same node', mode, false, p1a.ns, p1b.ns, p1b.ip);
        await measure('pod -> pod, across nodes', mode, false, p1a.ns, p2.ns, p2.ip);
        if (mode === 'host-gw') {
          await loadPolicy(lab, [p1a, p1b, p2], o.policies);
          try {
            await measure('pod -> pod, same node', mode, true, p1a.ns, p1b.ns, p1b.ip);
            await measure('pod -> pod, across nodes', mode, true, p1a.ns, p2.ns, p2.ip);
          } finally {
            await unloadPolicy(lab);
          }
        }
      }
      for (const a of agents) await a.stop();
    }
  } finally {
    for (const a of agents) await a.stop('SIGKILL');
  }
  return { results, mtu };
}
