import type { AttachmentContext, Dns, GcContext, Route } from '@minicni/spec';
import { delegateAdd, delegateCheck, delegateDel, delegateGc } from '@minicni/spec/invoke';
import { canonicalIp, openIpam, type Ipam, type Owner } from '@minicni/ipam';
import { RESERVATION_MISMATCH } from './errors.js';
import type { IpamChoice } from './ipam-choice.js';

/** One pod address. */
export interface PodIp {
  /** CIDR, with the prefix the IPAM gave (the pool's, for the built-in allocator). */
  address: string;
  /** The bare address, canonical form. */
  ip: string;
  gateway: string | undefined;
  family: 4 | 6;
}

export interface PodAddresses {
  ips: PodIp[];
  routes: Route[];
  dns: Dns;
  /** True when this call reserved the addresses: a failed ADD releases them, and only then. */
  fresh: boolean;
}

/** One pod's addresses, from the built-in allocator or a delegated IPAM plugin, behind one shape. */
export interface PodIpam extends AsyncDisposable {
  /** Reserves (built in: returns what the owner already holds, with `fresh: false`). */
  allocate(): Promise<PodAddresses>;
  /** Releases whatever the pod holds; idempotent. */
  release(): Promise<void>;
  /**
   * Fails unless the pod still holds exactly these addresses (CIDR or bare; compared as bare
   * addresses). Built in: an Error with code RESERVATION_MISMATCH, which asCniError turns into
   * a CHECK failure. Delegated: the IPAM plugin's own CHECK.
   */
  check(expected: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export class ReservationMismatch extends Error {
  override readonly name = 'ReservationMismatch';
  readonly code = RESERVATION_MISMATCH;
}

/** Opens the pod's IPAM for one ADD, DEL or CHECK; close it (or `await using`) when done. */
export async function openPodIpam(choice: IpamChoice, ctx: AttachmentContext): Promise<PodIpam> {
  if (choice.kind === 'delegate') return delegated(choice.type, ctx);
  const ipam = await openIpam({
    config: choice.section,
    network: ctx.config.name,
    runtimeConfig: ctx.config.runtimeConfig,
    cniArgs: ctx.env.CNI_ARGS,
    args: ctx.config.args,
  });
  return builtin(ipam, { containerId: ctx.containerId, ifname: ctx.ifname });
}

/**
 * GC: the built-in store forgets every owner not in `cni.dev/valid-attachments` (returns the
 * released addresses); a delegated IPAM plugin gets the CNI GC call (returns []).
 */
export async function gcPodIpam(choice: IpamChoice, ctx: GcContext): Promise<string[]> {
  if (choice.kind === 'delegate') {
    await delegateGc(choice.type, ctx.rawConfig, ctx.env);
    return [];
  }
  const valid = ctx.validAttachments.map((a) => ({ containerId: a.containerID, ifname: a.ifname }));
  const ipam = await openIpam({ config: choice.section, network: ctx.config.name });
  try {
    return await ipam.gc(valid);
  } finally {
    await ipam.close();
  }
}

function builtin(ipam: Ipam, owner: Owner): PodIpam {
  const close = () => ipam.close();
  return {
    async allocate() {
      const r = await ipam.allocate(owner);
      return { ...addresses(r), fresh: r.fresh };
    },
    async release() {
      await ipam.release(owner);
    },
    async check(expected) {
      const held = addresses(await ipam.get(owner))
        .ips.map((i) => i.ip)
        .sort();
      const want = expected.map(bare).sort();
      if (held.join() !== want.join()) {
        throw new ReservationMismatch(
          `the IPAM store holds ${held.join(', ') || 'nothing'} for ${owner.containerId}/${owner.ifname}, prevResult says ${want.join(', ')}`,
        );
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function delegated(type: string, ctx: AttachmentContext): PodIpam {
  const call = [type, ctx.rawConfig, { ...ctx.env }] as const;
  const close = async () => {};
  return {
    // A delegated plugin cannot say whether it reserved now or before: treat it as fresh, as
    // the reference plugins do (their ADD undo calls the IPAM plugin's DEL).
    allocate: async () => ({ ...addresses(await delegateAdd(...call)), fresh: true }),
    release: () => delegateDel(...call),
    check: () => delegateCheck(...call),
    close,
    [Symbol.asyncDispose]: close,
  };
}

function addresses(r: {
  ips?: { address: string; gateway?: string | undefined }[];
  routes?: Route[];
  dns?: Dns;
}): Omit<PodAddresses, 'fresh'> {
  return {
    ips: (r.ips ?? []).map((i) => {
      const ip = bare(i.address);
      return { address: i.address, ip, gateway: i.gateway, family: ip.includes(':') ? 6 : 4 };
    }),
    routes: (r.routes ?? []).map((x) => ({ ...x })),
    dns: r.dns ?? {},
  };
}

function bare(address: string): string {
  return canonicalIp(address.split('/')[0] ?? '');
}
