import { execFile } from 'node:child_process';
import { canonicalIp } from '@minicni/ipam';
import type { ActualState, Dataplane, DataplaneOp, UnderlayRoute } from './dataplane.js';
import { ROUTE_PROTOCOL } from './dataplane.js';
import { AgentError } from './errors.js';

/** Runs a command and returns stdout; rejects with stderr on a non-zero exit. */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<string>;

export const execRunner: CommandRunner = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err)
        reject(new AgentError('DATAPLANE', `${file} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  flags?: string[];
}

interface IpLink {
  ifname: string;
  flags?: string[];
  mtu?: number;
  address?: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: { id?: number; port?: number; local?: string; local6?: string };
  };
}

interface IpAddr {
  ifname: string;
  mtu?: number;
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}

/**
 * The dataplane through iproute2 (`ip`, `bridge`) in the caller's network namespace. It is
 * the fallback where the netlink addon is not available, and the reference the netlink
 * dataplane is checked against.
 */
export class Iproute2Dataplane implements Dataplane {
  readonly #run: CommandRunner;

  constructor(run: CommandRunner = execRunner) {
    this.#run = run;
  }

  async read(vxlanDevice: string): Promise<ActualState> {
    const routes = [
      ...(await this.#json<IpRoute[]>('ip', ['-4', 'route', 'show', 'proto', String(ROUTE_PROTOCOL)])),
      ...(await this.#json<IpRoute[]>('ip', ['-6', 'route', 'show', 'proto', String(ROUTE_PROTOCOL)])),
    ]
      .filter((r) => r.gateway && r.dev)
      .map((r) => ({
        dst: normalizeDst(r.dst),
        via: canonicalIp(r.gateway!),
        dev: r.dev!,
        onlink: (r.flags ?? []).includes('onlink'),
      }));
    const links = await this.#json<IpLink[]>('ip', ['-d', 'link', 'show', 'dev', vxlanDevice]).catch(
      () => [],
    );
    const link = links[0];
    if (!link || link.linkinfo?.info_kind !== 'vxlan') return { routes, neighbours: [], fdb: [] };
    const info = link.linkinfo.info_data ?? {};
    const addrs = await this.#json<IpAddr[]>('ip', ['addr', 'show', 'dev', vxlanDevice]);
    const neigh = await this.#json<{ dst: string; lladdr?: string; state?: string[] }[]>('ip', [
      'neigh',
      'show',
      'dev',
      vxlanDevice,
      'nud',
      'permanent',
    ]);
    const fdb = await this.#json<{ mac: string; dst?: string }[]>('bridge', [
      'fdb',
      'show',
      'dev',
      vxlanDevice,
    ]);
    return {
      routes,
      vxlan: {
        name: vxlanDevice,
        vni: info.id ?? -1,
        port: info.port ?? -1,
        local: info.local ?? info.local6 ?? '',
        mac: link.address ?? '',
        mtu: link.mtu ?? 0,
        up: (link.flags ?? []).includes('UP'),
        addresses: (addrs[0]?.addr_info ?? [])
          .filter((a) => a.scope !== 'link')
          .map((a) => `${canonicalIp(a.local)}/${a.prefixlen}`),
      },
      neighbours: neigh.filter((n) => n.lladdr).map((n) => ({ ip: canonicalIp(n.dst), mac: n.lladdr! })),
      fdb: fdb.filter((f) => f.dst).map((f) => ({ mac: f.mac, dst: canonicalIp(f.dst!) })),
    };
  }

  async apply(op: DataplaneOp): Promise<void> {
    const proto = ['proto', String(ROUTE_PROTOCOL)];
    switch (op.op) {
      case 'createVxlan': {
        const d = op.device;
        await this.#run('ip', [
          'link',
          'add',
          d.name,
          'address',
          d.mac,
          'mtu',
          String(d.mtu),
          'type',
          'vxlan',
          'id',
          String(d.vni),
          'dstport',
          String(d.port),
          'local',
          d.local,
          'nolearning',
        ]);
        return;
      }
      case 'deleteVxlan':
        await this.#run('ip', ['link', 'del', op.name]);
        return;
      case 'setUp':
        await this.#run('ip', ['link', 'set', op.name, 'up']);
        return;
      case 'addAddress':
        await this.#run('ip', ['addr', 'replace', op.address, 'dev', op.dev]);
        return;
      case 'delAddress':
        await this.#run('ip', ['addr', 'del', op.address, 'dev', op.dev]);
        return;
      case 'replaceFdb':
        await this.#run('bridge', [
          'fdb',
          'replace',
          op.entry.mac,
          'dev',
          op.dev,
          'dst',
          op.entry.dst,
          'self',
          'permanent',
        ]);
        return;
      case 'delFdb':
        await this.#run('bridge', ['fdb', 'del', op.entry.mac, 'dev', op.dev, 'dst', op.entry.dst, 'self']);
        return;
      case 'replaceNeighbour':
        await this.#run('ip', [
          'neigh',
          'replace',
          op.entry.ip,
          'lladdr',
          op.entry.mac,
          'dev',
          op.dev,
          'nud',
          'permanent',
        ]);
        return;
      case 'delNeighbour':
        await this.#run('ip', ['neigh', 'del', op.entry.ip, 'dev', op.dev]);
        return;
      case 'replaceRoute': {
        const r = op.route;
        await this.#run('ip', [
          'route',
          'replace',
          r.dst,
          'via',
          r.via,
          'dev',
          r.dev,
          ...(r.onlink ? ['onlink'] : []),
          ...proto,
        ]);
        return;
      }
      case 'delRoute': {
        const r = op.route;
        await this.#run('ip', ['route', 'del', r.dst, 'via', r.via, 'dev', r.dev, ...proto]);
        return;
      }
    }
  }

  /** One `ip route get` per address: this dataplane is the fallback for small clusters. */
  async routesTo(ips: readonly string[]): Promise<Map<string, UnderlayRoute | undefined>> {
    const out = new Map<string, UnderlayRoute | undefined>();
    for (const ip of ips) {
      const r = await this.#json<IpRoute[]>('ip', ['route', 'get', ip]).catch(() => []);
      const first = r[0];
      out.set(
        ip,
        !first?.dev
          ? undefined
          : first.gateway
            ? { dev: first.dev, gateway: first.gateway }
            : { dev: first.dev },
      );
    }
    return out;
  }

  async addressMtu(ip: string): Promise<number | undefined> {
    const want = canonicalIp(ip);
    const addrs = await this.#json<IpAddr[]>('ip', ['addr', 'show']);
    return addrs.find((l) => (l.addr_info ?? []).some((a) => canonicalIp(a.local) === want))?.mtu;
  }

  async #json<T>(file: string, args: string[]): Promise<T> {
    const out = await this.#run(file, ['-j', ...args]);
    return (out.trim() ? JSON.parse(out) : []) as T;
  }
}

/** iproute2 prints a host route as a bare address; the agent only manages prefixes. */
function normalizeDst(dst: string): string {
  if (dst.includes('/')) {
    const [a, p] = dst.split('/');
    return `${canonicalIp(a!)}/${p}`;
  }
  return `${canonicalIp(dst)}/${dst.includes(':') ? 128 : 32}`;
}
