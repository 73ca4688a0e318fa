// Benchmark: the data plane. Pod-to-pod throughput (iperf3) and TCP request/response latency
// (sockperf) on one node, across nodes in host-gw and across nodes in vxlan, each against node to
// node over the same underlay in the same run; then the pod paths with 1,000 NetworkPolicies
// loaded against the same paths without. Goals: host-gw >= 0.95x the underlay, vxlan >= 0.8x,
// policy on >= 0.95x policy off. Prints the table with ratios and writes docs/bench/dataplane.json.
// Runs as root; its node and pod namespaces live inside its throwaway node netns's run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inThrowawayNodeNetns, writeBenchResult } from '@minicni/testkit/bench-node';
import { bundleAgent, importBundled } from '../scripts/bundle.mjs';
import { MINICNI } from './served-node.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const POLICIES = Number(process.env.BENCH_POLICIES ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

if (inThrowawayNodeNetns(import.meta.url, 'mcnidata')) await inner();

async function inner() {
  const work = mkdtempSync(join(tmpdir(), 'minicni-dataplane-'));
  try {
    const bundle = await bundleAgent(join(work, 'agent'));
    const { runDataplane } = await importBundled(resolve(here, 'dataplane-main.ts'), work);
    const log = (t) => process.stdout.write(t);
    log(
      `iperf3 ${SECONDS} s per path (1 s omitted), sockperf ping-pong ${Math.max(2, Math.round(SECONDS / 2))} s; ${ROUNDS} rounds, the paths taking turns\n`,
    );
    const { results, mtu } = await runDataplane({
      bundle,
      plugin: MINICNI,
      seconds: SECONDS,
      rounds: ROUNDS,
      policies: POLICIES,
      log,
    });
    const find = (mode, path, policy = false) =>
      results.find((r) => r.mode === mode && r.path === path && r.policy === policy);
    // Each ratio pairs the two paths round by round (measured one right after the other), then
    // takes the median: a load burst that slows one round slows both sides of its pair.
    const median = (xs) => {
      const v = [...xs].sort((a, b) => a - b);
      return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    };
    const paired = (a, b, pick = (x) => x.gbitPerSec) =>
      median(a.samples.map((x, i) => pick(x) / pick(b.samples[i])));
    const latencyAvg = (x) => x.latencyUs.avg;
    const ratios = {
      hostGwVsUnderlay: paired(
        find('host-gw', 'pod -> pod, across nodes'),
        find('host-gw', 'node -> node (underlay)'),
      ),
      vxlanVsUnderlay: paired(
        find('vxlan', 'pod -> pod, across nodes'),
        find('vxlan', 'node -> node (underlay)'),
      ),
      sameNodeVsUnderlay: paired(
        find('host-gw', 'pod -> pod, same node'),
        find('host-gw', 'node -> node (underlay)'),
      ),
      policyAcrossNodes: paired(
        find('host-gw', 'pod -> pod, across nodes', true),
        find('host-gw', 'pod -> pod, across nodes'),
      ),
      policySameNode: paired(
        find('host-gw', 'pod -> pod, same node', true),
        find('host-gw', 'pod -> pod, same node'),
      ),
      policyLatencyAcrossNodes: paired(
        find('host-gw', 'pod -> pod, across nodes', true),
        find('host-gw', 'pod -> pod, across nodes'),
        latencyAvg,
      ),
    };
    log(
      [
        '',
        `host-gw pod->pod across nodes / underlay: ${ratios.hostGwVsUnderlay.toFixed(3)} (goal >= 0.95)`,
        `vxlan pod->pod across nodes / underlay:   ${ratios.vxlanVsUnderlay.toFixed(3)} (goal >= 0.80)`,
        `pod->pod same node / underlay:            ${ratios.sameNodeVsUnderlay.toFixed(3)}`,
        `policy on / off, across nodes:            ${ratios.policyAcrossNodes.toFixed(3)} (goal >= 0.95); latency ${ratios.policyLatencyAcrossNodes.toFixed(3)}x`,
        `policy on / off, same node:               ${ratios.policySameNode.toFixed(3)} (goal >= 0.95)`,
        `MTUs: ${JSON.stringify(mtu)}`,
        '',
      ].join('\n'),
    );
    log(
      `wrote ${writeBenchResult('dataplane', { seconds: SECONDS, rounds: ROUNDS, policies: POLICIES, results, ratios, mtu })}\n`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
