// The policy-scale bench's body, bundled and run by policy-scale.mjs (plain Node, no test runner)
// inside its throwaway node netns. The local API server (FakeKubeApi) serves the test kit's
// synthetic cluster as Kubernetes objects of a realistic shape: 150,000 pods (each with what a
// Deployment's pod carries: owner, tolerations, volumes, container statuses), 5,000 namespaces,
// 10,000 NetworkPolicies and 5,000 nodes, ~30 pods each. The agent (the bundled CLI, `run` with
// policy on, host-gw routes over a veth in the netns, nft in the netns) runs as node-0. Sampled
// every 100 ms: its RSS (VmRSS) and peak (VmHWM) from /proc, and /metrics for the first applied
// ruleset. Then it settles, and one pod change measures the update path.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeKubeApi, makeNode, type FakeObject } from '@minicni/testkit/k8s-fake-api';
import {
  syntheticCluster,
  syntheticNode,
  type SyntheticPod,
  type SyntheticPolicy,
} from '@minicni/testkit/synthetic-cluster';

export interface PolicyScaleOptions {
  bundle: string;
  work: string;
  namespaces: number;
  podsPerNamespace: number;
  podsPerNode: number;
  settleSeconds: number;
  /** The runtime that runs the agent's bundle. */
  nodeBin: string;
  /** Extra node flags for the agent (e.g. --cpu-prof), for looking into it. */
  nodeArgs: string[];
  /** More environment for the agent (e.g. MALLOC_ARENA_MAX), for looking into it. */
  agentEnv?: Record<string, string>;
  /** Node objects the API serves (default all): fewer leaves out the routes to look at policy alone. */
  servedNodes?: number;
  /** A file to copy the agent's output to. */
  agentLog?: string;
  log: (text: string) => void;
}

export interface RssSample {
  /** Since the agent was started. */
  seconds: number;
  rssMiB: number;
}

export interface PolicyScaleResult {
  cluster: { pods: number; namespaces: number; policies: number; nodes: number; podsOnNode: number };
  /** Bytes the API server sent for one full list of each resource (what a list moves). */
  listBytes: Record<string, number>;
  /** Start of the agent -> first ruleset applied (nft -f done). */
  initialSyncSeconds: number;
  /** VmHWM at the end: the highest RSS the process ever had. */
  peakRssMiB: number;
  /** VmRSS after `settleSeconds` of no change following the first ruleset. */
  settledRssMiB: number;
  /** One pod on this node relabelled -> the new ruleset applied. */
  updateSeconds: number;
  ruleset: { bytes: number; lines: number };
  samples: RssSample[];
}

const METRICS = 'http://127.0.0.1:9153/metrics';
const NODE = 'node-0';
const ORIGIN = { kind: 'ReplicaSet', apiVersion: 'apps/v1' };
const DAY = '2026-11-28T00:00:00Z';

// Sub-objects every pod of the fake has alike are shared in the server's memory (the wire still
// carries them whole, per pod, as a real API server sends them).
const TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];
const VOLUMES = [
  {
    name: 'kube-api-access',
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
    },
  },
];
const MOUNTS = [
  { name: 'kube-api-access', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
];
const RESOURCES = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } };
const CONDITIONS = [
  'PodReadyToStartContainers',
  'Initialized',
  'Ready',
  'ContainersReady',
  'PodScheduled',
].map((type) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: DAY }));

/** A pod of the model as the API server returns a Deployment's running pod. */
function podObject(p: SyntheticPod, hostIP: string): FakeObject {
  const app = p.labels.app ?? 'app';
  const rs = `${app}-${p.labels['pod-template-hash'] ?? 'x'}`;
  const image = `registry.example.com/${p.namespace}/${app}:1.4.2`;
  return {
    metadata: {
      name: p.name,
      generateName: `${rs}-`,
      namespace: p.namespace,
      labels: p.labels,
      annotations: { 'kubectl.kubernetes.io/restartedAt': DAY },
      ownerReferences: [
        { ...ORIGIN, name: rs, uid: `rs-${p.namespace}-${rs}`, controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: {
      volumes: VOLUMES,
      containers: [
        {
          name: app,
          image,
          ports: p.ports.map((x) => ({ name: x.name, containerPort: x.port, protocol: x.protocol })),
          env: [{ name: 'LOG_LEVEL', value: 'info' }],
          resources: RESOURCES,
          volumeMounts: MOUNTS,
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'IfNotPresent',
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      serviceAccount: 'default',
      nodeName: p.node,
      securityContext: {},
      schedulerName: 'default-scheduler',
      tolerations: TOLERATIONS,
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: {
      phase: 'Running',
      conditions: CONDITIONS,
      hostIP,
      hostIPs: [{ ip: hostIP }],
      podIP: p.ips[0],
      podIPs: p.ips.map((ip) => ({ ip })),
      startTime: DAY,
      containerStatuses: [
        {
          name: app,
          state: { running: { startedAt: DAY } },
          lastState: {},
          ready: true,
          restartCount: 0,
          image,
          imageID: `${image}@sha256:${'0'.repeat(64)}`,
          containerID: `containerd://${p.name.padEnd(64, '0').slice(0, 64)}`,
          started: true,
        },
      ],
      qosClass: 'Burstable',
    },
  };
}

type Rule = SyntheticPolicy['ingress'][number];

function selector(s: { matchLabels: object; matchExpressions: unknown[] }): Record<string, unknown> {
  return {
    ...(Object.keys(s.matchLabels).length ? { matchLabels: s.matchLabels } : {}),
    ...(s.matchExpressions.length ? { matchExpressions: s.matchExpressions } : {}),
  };
}

function ruleObject(r: Rule, peersField: 'from' | 'to'): Record<string, unknown> {
  return {
    ...(r.peers
      ? {
          [peersField]: r.peers.map((p) =>
            p.kind === 'ipBlock'
              ? { ipBlock: p.ipBlock }
              : {
                  podSelector: selector(p.pods),
                  ...(p.namespaces ? { namespaceSelector: selector(p.namespaces) } : {}),
                },
          ),
        }
      : {}),
    ...(r.ports ? { ports: r.ports } : {}),
  };
}

function policyObject(p: SyntheticPolicy): FakeObject {
  return {
    metadata: { namespace: p.namespace, name: p.name },
    spec: {
      podSelector: selector(p.podSelector),
      policyTypes: p.policyTypes,
      ...(p.ingress.length ? { ingress: p.ingress.map((r) => ruleObject(r, 'from')) } : {}),
      ...(p.egress.length ? { egress: p.egress.map((r) => ruleObject(r, 'to')) } : {}),
    },
  };
}

/** VmRSS and VmHWM of `pid` in MiB, or undefined once it is gone. */
function memoryOf(pid: number): { rss: number; hwm: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

async function metric(name: string): Promise<number | undefined> {
  try {
    const r = await fetch(METRICS, { signal: AbortSignal.timeout(2000) });
    const text = await r.text();
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** Bytes of one full list of `path`, fetched page by page as the agent does. */
async function listBytes(server: string, path: string, token: string): Promise<number> {
  let bytes = 0;
  let next = '';
  do {
    const r = await fetch(
      `${server}${path}?limit=500${next ? `&continue=${encodeURIComponent(next)}` : ''}`,
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );
    const text = await r.text();
    bytes += Buffer.byteLength(text);
    next = (JSON.parse(text) as { metadata: { continue?: string } }).metadata.continue ?? '';
  } while (next);
  return bytes;
}

export async function runPolicyScale(o: PolicyScaleOptions): Promise<PolicyScaleResult> {
  const { log } = o;
  const t0 = performance.now();
  const cluster = syntheticCluster({
    namespaces: o.namespaces,
    podsPerNamespace: o.podsPerNamespace,
    podsPerNode: o.podsPerNode,
    scatter: true,
  });
  const token = 'policy-scale-bench';
  await using api = await FakeKubeApi.start({ token });
  const hostIp = (node: string) => syntheticNode(Number(node.slice('node-'.length))).ips[0]!;
  api.load(
    'nodes',
    Array.from({ length: Math.min(o.servedNodes ?? Infinity, cluster.nodeCount) }, (_, k) => {
      const n = syntheticNode(k);
      return makeNode({ name: n.name, internalIPs: n.ips, podCIDRs: n.podCIDRs }, 0) as unknown as FakeObject;
    }),
  );
  api.load(
    'namespaces',
    cluster.namespaces.map((ns) => ({
      metadata: { name: ns.name, labels: ns.labels },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    })),
  );
  api.load(
    'pods',
    cluster.pods.map((p) => podObject(p, hostIp(p.node))),
  );
  api.load('networkpolicies', cluster.policies.map(policyObject));
  const podsOnNode = cluster.pods.filter((p) => p.node === NODE);
  const shape = {
    pods: cluster.pods.length,
    namespaces: cluster.namespaces.length,
    policies: cluster.policies.length,
    nodes: cluster.nodeCount,
    podsOnNode: podsOnNode.length,
  };
  log(`cluster loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(shape)}\n`);
  const bytes: Record<string, number> = {};
  for (const [name, path] of Object.entries({
    pods: '/api/v1/pods',
    namespaces: '/api/v1/namespaces',
    networkpolicies: '/apis/networking.k8s.io/v1/networkpolicies',
    nodes: '/api/v1/nodes',
  })) {
    bytes[name] = await listBytes(api.url, path, token);
  }
  log(
    `one full list, MiB: ${Object.entries(bytes)
      .map(([k, v]) => `${k} ${(v / 2 ** 20).toFixed(1)}`)
      .join(', ')}\n`,
  );

  // This node's underlay: a veth pair in the bench's netns carrying node-0's addresses, so the
  // peers' node IPs are on-link and host-gw routes to their pod CIDRs can be programmed.
  const self = syntheticNode(0);
  run('ip', ['link', 'add', 'mcnips0', 'type', 'veth', 'peer', 'name', 'mcnips1']);
  run('ip', ['addr', 'add', `${self.ips[0]}/16`, 'dev', 'mcnips0']);
  run('ip', ['addr', 'add', `${self.ips[1]}/64`, 'dev', 'mcnips0', 'nodad']);
  run('ip', ['link', 'set', 'mcnips1', 'up']);
  run('ip', ['link', 'set', 'mcnips0', 'up']);
  writeFileSync(join(o.work, 'token'), token);

  const args = [
    o.bundle,
    'run',
    '--node-name',
    NODE,
    '--server',
    api.url,
    '--token-file',
    join(o.work, 'token'),
    '--mode',
    'host-gw',
    '--dataplane',
    'netlink',
    '--network-policy',
    'on',
    '--ready-file',
    'off',
    '--rules-dir',
    join(o.work, 'rules'),
    '--ipam-data-dir',
    join(o.work, 'ipam'),
  ];
  let out = '';
  const started = performance.now();
  const child: ChildProcess = spawn(o.nodeBin, [...o.nodeArgs, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...o.agentEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20000);
    if (o.agentLog) appendFileSync(o.agentLog, d);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const pid = child.pid!;
  const samples: RssSample[] = [];
  const since = () => (performance.now() - started) / 1000;
  const sample = () => {
    const m = memoryOf(pid);
    if (m) samples.push({ seconds: Math.round(since() * 10) / 10, rssMiB: Math.round(m.rss * 10) / 10 });
    return m;
  };
  const waitFor = async (what: string, cond: () => Promise<boolean>, limitS: number) => {
    const end = since() + limitS;
    while (!(await cond())) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(
          `the agent ended (${child.exitCode ?? child.signalCode}) before ${what}:\n${out.slice(-4000)}`,
        );
      if (since() > end) throw new Error(`no ${what} within ${limitS} s:\n${out.slice(-4000)}`);
      sample();
      await new Promise((r) => setTimeout(r, 100));
    }
    sample();
  };
  try {
    await waitFor(
      'first applied ruleset',
      async () => ((await metric('minicni_agent_policy_syncs_total')) ?? 0) >= 1,
      300,
    );
    const initialSyncSeconds = since();
    log(`first ruleset applied after ${initialSyncSeconds.toFixed(1)} s; settling ${o.settleSeconds} s\n`);
    const settleEnd = since() + o.settleSeconds;
    while (since() < settleEnd) {
      sample();
      await new Promise((r) => setTimeout(r, 250));
    }
    const settled = sample()!;
    const ruleset = run('nft', ['list', 'table', 'inet', 'minicni-policy']);
    for (const p of podsOnNode.slice(0, 3)) {
      if (!ruleset.includes(p.ips[0]!))
        throw new Error(`the ruleset misses ${p.namespace}/${p.name}'s ${p.ips[0]}`);
    }

    // The update path: one pod of this node changes tier (web <-> db): its egress policy and the
    // peers it matches change, so the ruleset must be compiled and applied again.
    const applies = (await metric('minicni_agent_policy_syncs_total')) ?? 0;
    const before = await metric('minicni_agent_policy_applies_total');
    const moved = podsOnNode[0]!;
    const tier = moved.labels.tier === 'web' ? 'db' : 'web';
    const updatedAt = performance.now();
    api.put('pods', podObject({ ...moved, labels: { ...moved.labels, tier } }, hostIp(moved.node)));
    await waitFor(
      'the updated ruleset',
      async () =>
        ((await metric('minicni_agent_policy_syncs_total')) ?? 0) > applies &&
        ((await metric('minicni_agent_policy_applies_total')) ?? 0) > (before ?? 0),
      120,
    );
    const updateSeconds = (performance.now() - updatedAt) / 1000;
    const end = memoryOf(pid)!;
    log(`update applied after ${updateSeconds.toFixed(2)} s\n`);
    return {
      cluster: shape,
      listBytes: bytes,
      initialSyncSeconds: Math.round(initialSyncSeconds * 100) / 100,
      peakRssMiB: Math.round(end.hwm * 10) / 10,
      settledRssMiB: Math.round(settled.rss * 10) / 10,
      updateSeconds: Math.round(updateSeconds * 1000) / 1000,
      ruleset: { bytes: Buffer.byteLength(ruleset), lines: ruleset.split('\n').length },
      samples,
    };
  } finally {
    if (child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    spawnSync('ip', ['link', 'del', 'mcnips0']);
    spawnSync('nft', ['delete', 'table', 'inet', 'minicni-policy']);
  }
}
