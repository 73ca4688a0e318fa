// Benchmark: how fast a NetworkPolicy change is enforced (issue #13). One node netns, 250 pods
// (a netns and a veth each), the API stand-in with those pods and 1,000 policies, the agent's
// policy controller loading its rulesets with nft into the node netns. Per event kind (policy
// add, change, delete, pod label change, new pod; pod delete too) the time from the watch event
// written by the stand-in to the kernel enforcing it, seen by a probe that connects every ~1 ms;
// goal p99 <= 100 ms. Then connect latency and iperf3 throughput between two isolated pods with
// the 1,000-policy table vs without, as ratios (goal within 5%). Writes
// docs/bench/policy-enforce.json. Runs as root, inside a throwaway node netns.
//   BENCH_SAMPLES (default 50) rounds of every kind; BENCH_SECONDS (default 5) per iperf3 run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchNetnsName, inThrowawayNodeNetns, writeBenchResult } from '@minicni/testkit/bench-node';
import { importBundled } from '../scripts/bundle.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

if (inThrowawayNodeNetns(import.meta.url, 'mcnipol')) await inner();

async function inner() {
  const work = mkdtempSync(join(tmpdir(), 'minicni-policy-enforce-'));
  try {
    const { runPolicyEnforce } = await importBundled(resolve(here, 'policy-enforce-main.ts'), work);
    const result = await runPolicyEnforce({
      probeScript: resolve(here, 'policy-probe.mjs'),
      netnsName: () => benchNetnsName('mcpe'),
      namespaces: 125,
      podsPerNamespace: 2,
      policies: 1000,
      samples: SAMPLES,
      iperfSeconds: SECONDS,
      log: (t) => process.stdout.write(t),
    });
    process.stdout.write(`wrote ${writeBenchResult('policy-enforce', { samples: SAMPLES, ...result })}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
