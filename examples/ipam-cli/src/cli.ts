import { readFile } from 'node:fs/promises';
import { isIpamError, openIpam, type Ipam, type Owner, type Store } from '@minicni/ipam';
import { parseCliArgs, USAGE, type CliArgs } from './args.js';

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  readTextFile?: (path: string) => Promise<string>;
}

/** A usage problem: printed with the usage text, exit 2. */
class UsageError extends Error {}

/** Runs one CLI invocation; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (e) {
    io.stderr(`ipam-cli: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help || !args.command) {
    (args.help ? io.stdout : io.stderr)(USAGE);
    return args.help ? 0 : 2;
  }
  let ipam: Ipam | undefined;
  try {
    ipam = await open(args, io);
    const out = await dispatch(ipam, args);
    io.stdout(args.json ? `${JSON.stringify(out.json)}\n` : out.text);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`ipam-cli: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    const code = isIpamError(e) ? e.code : 'ERROR';
    const message = (e as Error)?.message ?? String(e);
    if (args.json) io.stdout(`${JSON.stringify({ error: { code, message } })}\n`);
    else io.stderr(`ipam-cli: ${message} (${code})\n`);
    return 1;
  } finally {
    await ipam?.close();
  }
}

async function open(args: CliArgs, io: CliIo): Promise<Ipam> {
  let ipamSection: Record<string, unknown>;
  let network = args.network;
  if (args.config) {
    const read = io.readTextFile ?? ((p: string) => readFile(p, 'utf8'));
    let conf: { name?: unknown; ipam?: unknown };
    try {
      conf = JSON.parse(await read(args.config)) as typeof conf;
    } catch (e) {
      throw new UsageError(`cannot read network config ${args.config}: ${(e as Error).message}`);
    }
    if (typeof conf.ipam !== 'object' || conf.ipam === null)
      throw new UsageError(`${args.config} has no "ipam" section`);
    ipamSection = conf.ipam as Record<string, unknown>;
    if (network === undefined && typeof conf.name === 'string') network = conf.name;
  } else if (args.subnet) {
    ipamSection = { type: 'host-local', subnet: args.subnet };
  } else {
    throw new UsageError('give --config <file> or --subnet <cidr>');
  }
  if (!network) throw new UsageError('give --network <name> (or a config with a "name")');
  let store: Store | undefined;
  if (args.etcd) {
    // Loaded only when asked for: the file-store path never pays for the gRPC client.
    const { EtcdStore } = await import('@minicni/ipam/etcd');
    store = new EtcdStore({ network, hosts: args.etcd });
  }
  return openIpam({
    config: ipamSection,
    network,
    dataDir: args.dataDir,
    store,
    cniArgs: args.ip ? `IP=${args.ip}` : undefined,
  });
}

function owner(args: CliArgs): Owner {
  const [containerId, ifname = 'eth0'] = args.rest;
  if (!containerId) throw new UsageError(`${args.command} needs a containerId`);
  return { containerId, ifname };
}

interface Output {
  text: string;
  json: unknown;
}

async function dispatch(ipam: Ipam, args: CliArgs): Promise<Output> {
  switch (args.command) {
    case 'list': {
      const all = (await ipam.store.list()).sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }));
      const rows = all.map((r) => ({
        ip: r.ip,
        containerId: r.owner?.containerId ?? null,
        ifname: r.owner?.ifname ?? null,
      }));
      const text = rows.map((r) => `${r.ip}\t${r.containerId ?? '(unowned)'}\t${r.ifname ?? ''}\n`).join('');
      return { text, json: rows };
    }
    case 'allocate': {
      const r = await ipam.allocate(owner(args));
      return { text: r.ips.map((i) => `${i.address}\tgateway ${i.gateway ?? '-'}\n`).join(''), json: r };
    }
    case 'release': {
      const released = await ipam.release(owner(args));
      return { text: released.map((ip) => `released ${ip}\n`).join(''), json: { released } };
    }
    case 'gc': {
      const valid = args.rest.map((a) => {
        const [containerId, ifname] = a.split('/');
        if (!containerId || !ifname)
          throw new UsageError(`gc takes attachments as containerId/ifname, got "${a}"`);
        return { containerId, ifname };
      });
      const released = await ipam.gc(valid);
      return { text: released.map((ip) => `released ${ip}\n`).join(''), json: { released } };
    }
    case 'stats': {
      const stats = (await ipam.stats()).map((s) => ({
        ...s,
        size: s.size.toString(),
        used: s.used.toString(),
        free: s.free.toString(),
      }));
      const text = stats
        .map(
          (s) =>
            `${s.subnet}\t${s.rangeStart}-${s.rangeEnd}\tused ${s.used}\tfree ${s.free}\tsize ${s.size}\n`,
        )
        .join('');
      return { text, json: stats };
    }
    default:
      throw new UsageError(`unknown command "${args.command}"`);
  }
}
