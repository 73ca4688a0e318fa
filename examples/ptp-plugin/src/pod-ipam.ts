import { delegateAdd, delegateCheck, delegateDel, delegateGc } from '@minicni/spec/invoke';
import type { AttachmentContext, Dns, GcContext, Route } from '@minicni/spec';
import { canonicalIp, openIpam, type Owner } from '@minicni/ipam';
import type { IpamChoice } from './config.js';

/** One pod address: the bare IP and the gateway (which ptp puts on the host end). */
export interface PodIp {
  ip: string;
  gateway: string | undefined;
  family: 4 | 6;
}

export interface PodAddresses {
  ips: PodIp[];
  routes: Route[];
  dns: Dns;
}

/**
 * The pod's addresses from the built-in allocator or a delegated IPAM plugin, behind one shape.
 * Only the IPs and gateways matter here: ptp puts host routes (/32, /128) on the pod, whatever
 * prefix the pool has.
 */
export interface PodIpam {
  /** Reserves (or, built in, returns what the owner already holds); `fresh` = reserved by this call. */
  allocate(): Promise<PodAddresses & { fresh: boolean }>;
  /** Releases whatever the owner holds; idempotent. */
  release(): Promise<void>;
  /** The IPs the IPAM holds for the owner, or undefined when it cannot tell (delegated: its own CHECK ran). */
  held(): Promise<string[] | undefined>;
}

export async function withPodIpam<T>(
  choice: IpamChoice,
  ctx: AttachmentContext,
  use: (ipam: PodIpam) => Promise<T>,
): Promise<T> {
  if (choice.kind === 'delegate') {
    const call = [choice.type, ctx.rawConfig, ctx.env] as const;
    return use({
      allocate: async () => ({ ...fromResult(await delegateAdd(...call)), fresh: true }),
      release: () => delegateDel(...call),
      held: async () => {
        await delegateCheck(...call);
        return undefined;
      },
    });
  }
  const ipam = await openIpam({
    config: choice.section,
    network: ctx.config.name,
    runtimeConfig: ctx.config.runtimeConfig,
    cniArgs: ctx.env.CNI_ARGS,
    args: ctx.config.args,
  });
  const owner: Owner = { containerId: ctx.containerId, ifname: ctx.ifname };
  try {
    return await use({
      allocate: async () => {
        const held = await ipam.get(owner);
        const r = held.ips.length ? held : await ipam.allocate(owner);
        return { ...fromResult(r), fresh: held.ips.length === 0 };
      },
      release: async () => void (await ipam.release(owner)),
      held: async () => fromResult(await ipam.get(owner)).ips.map((i) => i.ip),
    });
  } finally {
    await ipam.close();
  }
}

/** GC: the built-in store forgets every owner not in `valid`; a delegate gets the CNI GC call. */
export async function gcPodIpam(choice: IpamChoice, ctx: GcContext, valid: Owner[]): Promise<void> {
  if (choice.kind === 'delegate') return delegateGc(choice.type, ctx.rawConfig, ctx.env);
  const ipam = await openIpam({ config: choice.section, network: ctx.config.name });
  try {
    await ipam.gc(valid);
  } finally {
    await ipam.close();
  }
}

function fromResult(r: {
  ips?: { address: string; gateway?: string | undefined }[];
  routes?: Route[];
  dns?: Dns;
}): PodAddresses {
  return {
    ips: (r.ips ?? []).map((i) => {
      const ip = canonicalIp(i.address.split('/')[0] ?? '');
      return { ip, gateway: i.gateway, family: ip.includes(':') ? 6 : 4 };
    }),
    routes: r.routes ?? [],
    dns: r.dns ?? {},
  };
}
