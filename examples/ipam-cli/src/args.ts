import { parseArgs } from 'node:util';

export const USAGE = `usage: ipam-cli [options] <command> [args]

commands:
  list                              every reservation of the network
  allocate <containerId> [ifname]   reserve one address per range set (ifname defaults to eth0)
  release <containerId> [ifname]    release what the owner holds
  gc [containerId/ifname ...]       release everything not owned by the listed attachments
  stats                             used, free and size per range

options:
  --config <file>     network config (.conf JSON): its "name" and "ipam" section are used
  --subnet <cidr>     instead of --config: a single host-local range
  --network <name>    network name (default: the config's name)
  --data-dir <dir>    host-local dataDir (default: the config's, else /var/lib/cni/networks)
  --etcd <url>        use an etcd v3 store at this client URL instead of files
  --ip <address>      allocate: request this address (like CNI_ARGS IP=)
  --json              machine-readable output
  -h, --help          this text
`;

export interface CliArgs {
  command: string | undefined;
  rest: string[];
  config?: string;
  subnet?: string;
  network?: string;
  dataDir?: string;
  etcd?: string;
  ip?: string;
  json: boolean;
  help: boolean;
}

export function parseCliArgs(argv: string[]): CliArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      subnet: { type: 'string' },
      network: { type: 'string' },
      'data-dir': { type: 'string' },
      etcd: { type: 'string' },
      ip: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  return {
    command: positionals[0],
    rest: positionals.slice(1),
    config: values.config,
    subnet: values.subnet,
    network: values.network,
    dataDir: values['data-dir'],
    etcd: values.etcd,
    ip: values.ip,
    json: values.json ?? false,
    help: values.help ?? false,
  };
}
