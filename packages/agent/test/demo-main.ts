// The multi-node demo's body, bundled and run by scripts/demo.mjs (plain Node, no test runner).
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { MultiNodeLab, referenceBridgePlugin, type PodPlugin } from '@minicni/testkit/multinode';
import { addLabPods, fourChecks, formatChecks } from './lab-checks.js';
import { LabAgent, writeNodesFile } from './lab-agents.js';

export interface DemoOptions {
  bundle: string;
  /** A minicni executable, or a directory of reference plugins (bridge + host-local). */
  plugin: string;
  modes: string[];
  log: (text: string) => void;
}

/** Picks how pods are made: the minicni executable, or the reference bridge in a plugin dir. */
export function podPlugin(path: string): PodPlugin {
  if (existsSync(join(path, 'bridge'))) return referenceBridgePlugin(path);
  return {
    label: `minicni (${path})`,
    path,
    cniPath: '/usr/lib/cni',
    config: (node, dataDir) => ({
      cniVersion: '1.0.0',
      name: 'minicni',
      type: 'minicni',
      bridge: 'minicni0',
      mtu: 1500,
      subnet: node.podCIDR,
      // The lab's whole pod network, as deploy/minicni.yaml's cluster-cidr gives it: pod to pod
      // across nodes is never masqueraded.
      clusterCIDRs: ['10.244.0.0/16'],
      dataDir,
    }),
  };
}

/** Builds the lab, runs the checks per mode, tears everything down; returns failed checks. */
export async function runDemo(o: DemoOptions): Promise<number> {
  const plugin = podPlugin(o.plugin);
  o.log(`pods made by: ${plugin.label}\n`);
  await using lab = await MultiNodeLab.create();
  o.log(
    `nodes: ${lab.nodes.map((n) => `${n.name} ${n.ip} pods ${n.podCIDR} (segment ${n.segment})`).join('; ')}\n` +
      `n1 and n2 share L2 segment a; n3 is on segment b behind a router.\n`,
  );
  await addLabPods(lab, plugin);
  writeNodesFile(lab, ['n1', 'n2', 'n3']);
  const agents = lab.nodes.map((n) => new LabAgent(lab, n, o.bundle));
  let failed = 0;
  try {
    for (const mode of o.modes) {
      for (const a of agents) a.start(mode);
      for (const a of agents) await a.waitReady();
      const rows = await fourChecks(lab, mode);
      failed += rows.filter((r) => r.applicable && !r.ok).length;
      o.log(`\n${formatChecks(mode, rows)}\n`);
      for (const a of agents) await a.stop();
    }
  } finally {
    for (const a of agents) await a.stop('SIGKILL');
  }
  o.log(
    `\npods made by: ${plugin.label}; ${failed === 0 ? 'all applicable checks passed' : `${failed} check(s) FAILED`}\n`,
  );
  return failed;
}
