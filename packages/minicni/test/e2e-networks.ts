// minicni network configurations for the e2e tier.
//
// API:
// - `minicniNetConf(work, {cniVersion, subnet, ...extra}) -> {network, dataDir, conf}`: a single
//   network configuration of minicni alone (fresh test-prefixed network and bridge names, the
//   store in `work/data`, `extra` keys on top), for tests that run the plugin directly.
// - `writeMinicniNetwork(work, {chained, file?, minicni?}) -> {network, dataDir, confDir, third,
//   prefix, gateway}`: a 1.0.0 conflist of minicni on `10.244.<random third>.0/24` (store in
//   `work/data`, `agentSocket(work)` so the shim finds the server from any runtime process,
//   `minicni` keys on top) with `chained` behind it, written to `work/net.d/<file>` (default
//   `<network>.conflist`) for a runtime (containerd, podman) to read.
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { testName } from '@minicni/testkit';
import { writeConflist, type PluginConf } from '@minicni/testkit/conflists';
import { agentSocket } from './e2e-plugin.js';

function minicniPlugin(dataDir: string, subnet: string, extra: PluginConf = {}): PluginConf {
  return { type: 'minicni', bridge: testName('br'), subnet, dataDir, ...extra };
}

export function minicniNetConf(
  work: string,
  { cniVersion, subnet, ...extra }: { cniVersion: string; subnet: string } & PluginConf,
): { network: string; dataDir: string; conf: PluginConf } {
  const network = testName('net');
  const dataDir = join(work, 'data');
  return { network, dataDir, conf: { cniVersion, name: network, ...minicniPlugin(dataDir, subnet, extra) } };
}

export interface MinicniNetwork {
  network: string;
  dataDir: string;
  confDir: string;
  /** The subnet is `10.244.<third>.0/24`. */
  third: number;
  /** `10.244.<third>.`: every pod address starts with it. */
  prefix: string;
  /** The bridge's address, `<prefix>1`. */
  gateway: string;
}

export function writeMinicniNetwork(
  work: string,
  opts: { chained: readonly PluginConf[]; file?: string; minicni?: PluginConf },
): MinicniNetwork {
  const third = randomInt(1, 250);
  const network = testName('net');
  const dataDir = join(work, 'data');
  const confDir = join(work, 'net.d');
  writeConflist(confDir, opts.file ?? `${network}.conflist`, {
    cniVersion: '1.0.0',
    name: network,
    plugins: [
      minicniPlugin(dataDir, `10.244.${third}.0/24`, { ...opts.minicni, agentSocket: agentSocket(work) }),
      ...opts.chained,
    ],
  });
  const prefix = `10.244.${third}.`;
  return { network, dataDir, confDir, third, prefix, gateway: `${prefix}1` };
}
