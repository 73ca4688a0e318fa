// The node the agent benches run on, as the DaemonSet makes it: the agent (routes from a nodes
// file naming this node alone, metrics and /healthz on loopback, rules repair on) and the plugin
// served beside it by `minicni serve`, both in the bench's throwaway node netns.
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleAgent } from '../scripts/bundle.mjs';
import { startProcess } from '@minicni/testkit/bench-node';

const here = dirname(fileURLToPath(import.meta.url));
export const MINICNI = process.env.MINICNI_PLUGIN ?? resolve(here, '../../minicni/dist/minicni');
export const SHIM = process.env.MINICNI_SHIM ?? resolve(here, '../../minicni/dist/minicni-shim');
export const METRICS = '127.0.0.1:9153';

/**
 * Starts the agent and the served plugin under `work`; resolves once both are ready, to
 * `{ socket, dataDir, server, agent, procs }`. `dataDir` is the plugin's IPAM store root the
 * agent reads; `procs` are stopped by the caller (SIGKILLed on exit too).
 */
export async function startServedNode(work) {
  for (const f of [MINICNI, SHIM]) if (!existsSync(f)) throw new Error(`${f} is missing: run pnpm build`);
  const procs = [];
  process.on('exit', () => {
    for (const p of procs) p.child.kill('SIGKILL');
  });
  const bundle = await bundleAgent(join(work, 'agent'));
  writeFileSync(
    join(work, 'nodes.json'),
    JSON.stringify({ nodes: [{ name: 'n1', internalIPs: ['10.244.250.11'], podCIDRs: ['10.244.1.0/24'] }] }),
  );
  const ready = join(work, 'ready');
  const dataDir = join(work, 'sh');
  const agent = startProcess(
    process.execPath,
    [
      bundle,
      'run',
      '--node-name',
      'n1',
      '--nodes-file',
      join(work, 'nodes.json'),
      '--mode',
      'host-gw',
      '--metrics-address',
      METRICS,
      '--ready-file',
      ready,
      '--ipam-data-dir',
      dataDir,
      '--rules-dir',
      join(work, 'rules'),
    ],
    () => existsSync(ready),
  );
  procs.push(agent);
  const socket = join(work, 'run', 'plugin.sock');
  const server = startProcess(MINICNI, ['serve', '--socket', socket], () => existsSync(socket));
  procs.push(server);
  await Promise.all([agent.started, server.started]);
  return { socket, dataDir, agent, server, procs };
}
