// Benchmark: the agent at Kubernetes' node limit. 5,000 Nodes served by the local API server
// stand-in, the agent (its bundle) for one of them, in `auto` and in `vxlan` mode: initial
// programming time (every route, FDB and neighbour entry checked in the kernel), idle RSS and
// CPU, CPU under 500 node heartbeats/s (goal <= 10% of one core), one node join and leave.
// Runs as root inside a throwaway node netns (scale-main.ts's addresses never leave it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inThrowawayNodeNetns, writeBenchResult } from '@minicni/testkit/bench-node';
import { benchAgentRuntime, bundleAgent, importBundled } from '../scripts/bundle.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const NODES = Number(process.env.BENCH_NODES ?? 5000);
const HEARTBEATS = Number(process.env.BENCH_HEARTBEATS ?? 500);
const HEARTBEAT_SECONDS = Number(process.env.BENCH_HEARTBEAT_SECONDS ?? 20);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const JOINS = Number(process.env.BENCH_JOINS ?? 20);
const CONVERGENCE = (process.env.BENCH_CONVERGENCE_NODES ?? '250,500,1000,2000,3500')
  .split(',')
  .filter(Boolean)
  .map(Number);

if (inThrowawayNodeNetns(import.meta.url, 'mcniscale')) await inner();

async function inner() {
  const work = mkdtempSync(join(tmpdir(), 'minicni-scale-'));
  try {
    const bundle = await bundleAgent(join(work, 'agent'));
    // The agent runs with the image's Node flags and environment, plus BENCH_AGENT_NODE_ARGS and
    // BENCH_AGENT_ENV (scale-main.ts reads the flags when it loads; the environment is inherited).
    const runtime = benchAgentRuntime();
    process.env.BENCH_AGENT_NODE_ARGS = runtime.nodeArgs.join(' ');
    Object.assign(process.env, runtime.env);
    const { runScale } = await importBundled(resolve(here, 'scale-main.ts'), work);
    const { results, convergence } = await runScale({
      bundle,
      work,
      nodes: NODES,
      heartbeatsPerSec: HEARTBEATS,
      heartbeatSeconds: HEARTBEAT_SECONDS,
      idleSeconds: IDLE_SECONDS,
      joins: JOINS,
      convergenceNodes: CONVERGENCE,
      log: (t) => process.stdout.write(t),
    });
    const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const rows = results.map(
      (r) =>
        `| ${r.mode} | ${(r.initialProgrammingMs / 1000).toFixed(2)} s | ${r.routes} / ${r.fdb} / ${r.neighbours} | ${r.idle.rssMiB.toFixed(1)} MiB, ${r.idle.cpuPercent.toFixed(2)}% | ${r.heartbeats.cpuPercent.toFixed(2)}% at ${r.heartbeats.perSecond.toFixed(0)}/s | ${med(r.joinMs).toFixed(1)} / ${med(r.leaveMs).toFixed(1)} ms |`,
    );
    console.log(
      [
        '',
        `${NODES} nodes; heartbeats ${HEARTBEATS}/s for ${HEARTBEAT_SECONDS} s; idle ${IDLE_SECONDS} s; ${JOINS} joins and leaves`,
        '',
        '| mode | initial programming | routes / fdb / neighbours | idle RSS, CPU | heartbeat CPU (goal <= 10%) | join / leave (median) |',
        '|---|---|---|---|---|---|',
        ...rows,
      ].join('\n'),
    );
    console.log(
      `wrote ${writeBenchResult('scale', { nodes: NODES, heartbeatsPerSec: HEARTBEATS, agentNodeArgs: runtime.nodeArgs, agentEnv: runtime.env, results, convergence })}`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
