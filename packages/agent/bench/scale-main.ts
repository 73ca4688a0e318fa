// The agent-at-scale bench's body, bundled and run by scale.mjs inside its throwaway node netns.
// The local API server stand-in serves NODES Nodes; the real agent CLI (its bundle) runs for one
// of them in this netns, in `auto` and in `vxlan` mode. It measures: the time from start until
// the kernel holds every route (and, for VXLAN peers, every FDB and neighbour entry), checked
// entry by entry; RSS and CPU while idle; CPU while the API sends node status heartbeats (updates
// that change nothing the agent uses) at HEARTBEATS per second; the time one node join and one
// node leave take to reach the kernel.
//
// Addresses stay inside 10.244.0.0/16: pod CIDRs are /30s in 10.244.0.0/17, node addresses are
// in 10.244.128.0/17: the first half on this node's L2 segment (a dummy device holds
// 10.244.128.1/18), the second behind a gateway (so `auto` gives them VXLAN). No packet is sent.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeKubeApi } from '@minicni/testkit/k8s-fake-api';
import { exec } from '@minicni/testkit';

export interface ScaleOptions {
  bundle: string;
  work: string;
  nodes: number;
  heartbeatsPerSec: number;
  heartbeatSeconds: number;
  idleSeconds: number;
  joins: number;
  /** Smaller clusters measured for initial programming only: the convergence curve. */
  convergenceNodes: number[];
  log: (text: string) => void;
}

export interface ConvergencePoint {
  mode: string;
  nodes: number;
  initialProgrammingMs: number;
}

export interface ModeResult {
  mode: string;
  nodes: number;
  routes: number;
  fdb: number;
  neighbours: number;
  initialProgrammingMs: number;
  idle: { rssMiB: number; cpuPercent: number };
  heartbeats: { perSecond: number; sent: number; cpuPercent: number; rssMiB: number };
  joinMs: number[];
  leaveMs: number[];
}

const USER_HZ = 100;
const SELF = 'scale-0';
const SELF_IP = '10.244.128.1';
const VXLAN_DEV = 'minicni.1';
// Extra Node flags for the agent (e.g. `--cpu-prof --cpu-prof-dir=DIR` to see where its time goes).
const nodeArgs = (process.env.BENCH_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean);
const programmingTimeoutMs = Number(process.env.BENCH_PROGRAMMING_TIMEOUT_S ?? 300) * 1000;

/** Node i's address: even i on this node's segment (10.244.128.0/18), odd i behind the gateway. */
function nodeIp(i: number): string {
  const base = i % 2 === 0 ? 128 : 192;
  const n = Math.floor(i / 2) + 2;
  return `10.244.${base + (n >> 8)}.${n & 255}`;
}

/** Node i's pod CIDR: the i-th /30 of 10.244.0.0/17. */
function podCidr(i: number): string {
  const n = i * 4;
  return `10.244.${n >> 8}.${n & 255}/30`;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / USER_HZ;
}

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

async function lines(file: string, args: string[]): Promise<string[]> {
  const r = await exec(file, args, { timeoutMs: 120_000 });
  return r.stdout.split('\n').filter(Boolean);
}

/** What the kernel holds now: route destinations, VXLAN FDB destinations and neighbour IPs. */
async function kernel(): Promise<{ routes: Set<string>; fdb: Set<string>; neigh: Set<string> }> {
  const routes = new Set(
    (await lines('ip', ['-4', 'route', 'show', 'proto', 'all']))
      .map((l) => l.split(' ')[0]!)
      .filter((d) => d.endsWith('/30')),
  );
  // Not /sys/class/net: sysfs stays the machine's own under `nsenter --net`.
  const hasVxlan = (await exec('ip', ['link', 'show', 'dev', VXLAN_DEV])).code === 0;
  const fdb = hasVxlan
    ? new Set(
        (await lines('bridge', ['fdb', 'show', 'dev', VXLAN_DEV])).map((l) => /dst (\S+)/.exec(l)?.[1] ?? ''),
      )
    : new Set<string>();
  const neigh = hasVxlan
    ? new Set((await lines('ip', ['-4', 'neigh', 'show', 'dev', VXLAN_DEV])).map((l) => l.split(' ')[0]!))
    : new Set<string>();
  fdb.delete('');
  return { routes, fdb, neigh };
}

export async function runScale(
  o: ScaleOptions,
): Promise<{ results: ModeResult[]; convergence: ConvergencePoint[] }> {
  // The underlay: a veth pair inside this netns (this kernel has no dummy devices).
  for (const args of [
    ['link', 'add', 'mcnisul0', 'type', 'veth', 'peer', 'name', 'mcnisul1'],
    ['addr', 'add', `${SELF_IP}/18`, 'dev', 'mcnisul0'],
    ['link', 'set', 'mcnisul1', 'up'],
    ['link', 'set', 'mcnisul0', 'up'],
    ['route', 'add', 'default', 'via', '10.244.191.254'],
  ]) {
    const r = await exec('ip', args);
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  }
  const results: ModeResult[] = [];
  const convergence: ConvergencePoint[] = [];
  const runs = ['auto', 'vxlan'].flatMap((mode) =>
    [...o.convergenceNodes.filter((n) => n < o.nodes), o.nodes].map((nodes) => ({ mode, nodes })),
  );
  for (const { mode, nodes } of runs) {
    const full = nodes === o.nodes;
    await using api = await FakeKubeApi.start({ token: 'scale-token' });
    for (let i = 0; i < nodes; i++) {
      api.addNode({
        name: i === 0 ? SELF : `scale-${i}`,
        internalIPs: [i === 0 ? SELF_IP : nodeIp(i)],
        podCIDRs: [podCidr(i)],
      });
    }
    const dir = join(o.work, mode);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'token'), 'scale-token');
    const args = [
      o.bundle,
      'run',
      '--node-name',
      SELF,
      '--server',
      api.url,
      '--token-file',
      join(dir, 'token'),
      '--mode',
      mode,
      '--network-policy',
      'off',
      '--metrics-address',
      '127.0.0.1:9154',
      '--ready-file',
      join(dir, 'ready'),
      '--ipam-data-dir',
      join(dir, 'ipam'),
      '--rules-dir',
      join(dir, 'rules'),
    ];
    // Which peers the kernel must hold: in vxlan every peer goes over VXLAN; in auto only those
    // behind the gateway (odd i), the others get a direct route.
    const expectVxlan = (i: number) => mode === 'vxlan' || i % 2 === 1;
    const want = { routes: new Set<string>(), fdb: new Set<string>(), neigh: new Set<string>() };
    for (let i = 1; i < nodes; i++) {
      want.routes.add(podCidr(i));
      if (expectVxlan(i)) want.fdb.add(nodeIp(i));
    }
    const t0 = performance.now();
    // Its log (one line per peer path at start) is kept for a failure message, not printed.
    const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    try {
      const complete = async () => {
        const k = await kernel();
        return [...want.routes].every((r) => k.routes.has(r)) &&
          [...want.fdb].every((d) => k.fdb.has(d)) &&
          k.neigh.size >= want.fdb.size
          ? k
          : undefined;
      };
      let k: Awaited<ReturnType<typeof kernel>> | undefined;
      while (!(k = await complete())) {
        if (child.exitCode !== null) throw new Error(`agent exited ${child.exitCode}: ${stderr}`);
        if (performance.now() - t0 > programmingTimeoutMs) {
          const now = await kernel();
          const missing = (w: Set<string>, h: Set<string>) => [...w].filter((x) => !h.has(x));
          const mr = missing(want.routes, now.routes);
          const mf = missing(want.fdb, now.fdb);
          throw new Error(
            `${mode}: not programmed within ${programmingTimeoutMs / 1000} s: ${mr.length} routes missing (${mr.slice(0, 3).join(', ')}), ${mf.length} fdb missing (${mf.slice(0, 3).join(', ')}), ${now.neigh.size}/${want.fdb.size} neighbours\n${stderr}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const initialProgrammingMs = performance.now() - t0;
      // Nothing more than wanted: no route to this node's own CIDR, no FDB for direct peers.
      const extraFdb = [...k.fdb].filter((d) => !want.fdb.has(d) && d !== '00:00:00:00:00:00');
      if (extraFdb.length)
        throw new Error(`${mode}: FDB entries for direct peers: ${extraFdb.slice(0, 5).join(', ')}`);
      o.log(
        `${mode}: ${nodes} nodes programmed in ${(initialProgrammingMs / 1000).toFixed(2)} s (${k.routes.size} routes, ${k.fdb.size} fdb, ${k.neigh.size} neighbours)\n`,
      );
      convergence.push({ mode, nodes, initialProgrammingMs });
      // Smaller clusters are for the convergence curve only.
      if (!full) continue;

      const pid = child.pid!;
      await new Promise((r) => setTimeout(r, 2000));
      let c0 = cpuSeconds(pid);
      await new Promise((r) => setTimeout(r, o.idleSeconds * 1000));
      const idle = { rssMiB: rssMiB(pid), cpuPercent: ((cpuSeconds(pid) - c0) / o.idleSeconds) * 100 };
      o.log(`${mode}: idle ${idle.rssMiB.toFixed(1)} MiB, ${idle.cpuPercent.toFixed(2)}% of a core\n`);

      // Heartbeats: every node's status written again, nothing the agent reads changed.
      c0 = cpuSeconds(pid);
      let sent = 0;
      const hbStart = performance.now();
      const everyMs = 20;
      const perTick = (o.heartbeatsPerSec * everyMs) / 1000;
      while (performance.now() - hbStart < o.heartbeatSeconds * 1000) {
        const tickStart = performance.now();
        for (let j = 0; j < perTick; j++) {
          const i = 1 + ((sent + j) % (nodes - 1));
          api.updateNode({ name: `scale-${i}`, internalIPs: [nodeIp(i)], podCIDRs: [podCidr(i)] });
        }
        sent += perTick;
        await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (performance.now() - tickStart))));
      }
      const hbSecs = (performance.now() - hbStart) / 1000;
      const heartbeats = {
        perSecond: sent / hbSecs,
        sent,
        cpuPercent: ((cpuSeconds(pid) - c0) / hbSecs) * 100,
        rssMiB: rssMiB(pid),
      };
      o.log(
        `${mode}: ${heartbeats.perSecond.toFixed(0)} heartbeats/s for ${hbSecs.toFixed(1)} s: ${heartbeats.cpuPercent.toFixed(2)}% of a core (goal <= 10%), ${heartbeats.rssMiB.toFixed(1)} MiB\n`,
      );

      // Joins and leaves, one at a time: from the API event to the route in (or out of) the kernel.
      const joinMs: number[] = [];
      const leaveMs: number[] = [];
      const routeThere = async (cidr: string) =>
        (await lines('ip', ['-4', 'route', 'show', cidr])).length > 0;
      for (let j = 0; j < o.joins; j++) {
        const i = nodes + j;
        const cidr = podCidr(i);
        let t = performance.now();
        api.addNode({ name: `scale-${i}`, internalIPs: [nodeIp(i)], podCIDRs: [cidr] });
        while (!(await routeThere(cidr))) await new Promise((r) => setTimeout(r, 2));
        joinMs.push(performance.now() - t);
        t = performance.now();
        api.deleteNode(`scale-${i}`);
        while (await routeThere(cidr)) await new Promise((r) => setTimeout(r, 2));
        leaveMs.push(performance.now() - t);
      }
      const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      o.log(
        `${mode}: node join reaches the kernel in ${med(joinMs).toFixed(1)} ms (median of ${o.joins}), leave in ${med(leaveMs).toFixed(1)} ms\n`,
      );
      results.push({
        mode,
        nodes: nodes,
        routes: k.routes.size,
        fdb: k.fdb.size,
        neighbours: k.neigh.size,
        initialProgrammingMs,
        idle,
        heartbeats,
        joinMs,
        leaveMs,
      });
    } finally {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(t);
      }
      // The next mode starts from a clean kernel, as a node the agent never ran on.
      await exec('ip', ['link', 'del', VXLAN_DEV]);
      const stale = (await lines('ip', ['-4', 'route', 'show']))
        .map((r) => r.split(' ')[0]!)
        .filter((d) => d.endsWith('/30'));
      await exec('ip', ['-batch', '-'], {
        stdin: stale.map((d) => `route del ${d}\n`).join(''),
        timeoutMs: 120_000,
      });
    }
  }
  return { results, convergence };
}
