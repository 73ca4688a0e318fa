import { type AttachmentContext, type Dns, type Route } from '@minicni/spec';
import { delegateAdd, delegateCheck, delegateDel } from '@minicni/spec/invoke';
import { openIpam, type Ipam } from '@minicni/ipam';
import type { IpamChoice } from './config.js';
import { asCniError } from './errors.js';

export interface PodAddresses {
  ips: { address: string; gateway?: string | undefined; family: 4 | 6 }[];
  routes: Route[];
  dns: Dns;
  /** True when this call reserved the addresses (false: the owner already held them). */
  fresh: boolean;
}

/** One pod's addresses, from the built-in IPAM or an external IPAM plugin. */
export interface PodIpam {
  allocate(): Promise<PodAddresses>;
  /** Releases whatever the pod holds; idempotent. */
  release(): Promise<void>;
  /** Fails unless the pod still holds exactly these addresses. */
  check(expected: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export class ReservationMismatch extends Error {
  readonly code = 'RESERVATION_MISMATCH';
}

export async function openPodIpam(choice: IpamChoice, ctx: AttachmentContext): Promise<PodIpam> {
  if (choice.kind === 'delegate') return delegated(choice.type, ctx);
  let ipam: Ipam;
  try {
    ipam = await openIpam({
      config: choice.section,
      network: ctx.config.name,
      runtimeConfig: ctx.config.runtimeConfig,
      cniArgs: ctx.env.CNI_ARGS,
      args: ctx.config.args,
    });
  } catch (err) {
    // Config errors (bad CIDR, overlapping ranges, unsafe dataDir) surface here, before any change.
    throw asCniError(err);
  }
  return builtin(ipam, { containerId: ctx.containerId, ifname: ctx.ifname });
}

function builtin(ipam: Ipam, owner: { containerId: string; ifname: string }): PodIpam {
  return {
    async allocate() {
      // The owner index only (no scan of every reservation): ADD stays O(1) as the pool fills.
      const heldBefore = await ipam.store.getByOwner(owner);
      const r = await ipam.allocate(owner);
      return {
        ips: r.ips,
        routes: r.routes.map((x) => ({ ...x })),
        dns: r.dns,
        fresh: heldBefore.length === 0,
      };
    },
    async release() {
      await ipam.release(owner);
    },
    async check(expected) {
      const held = (await ipam.get(owner)).ips.map((i) => i.address).sort();
      const want = [...expected].sort();
      if (held.join() !== want.join()) {
        throw new ReservationMismatch(
          `the IPAM store holds ${held.join(', ') || 'nothing'} for ${owner.containerId}/${owner.ifname}, prevResult says ${want.join(', ')}`,
        );
      }
    },
    close: () => ipam.close(),
  };
}

function delegated(type: string, ctx: AttachmentContext): PodIpam {
  const env = { ...ctx.env };
  return {
    async allocate() {
      const r = await delegateAdd(type, ctx.rawConfig, env);
      return {
        ips: (r.ips ?? []).map((ip) => ({
          address: ip.address,
          gateway: ip.gateway,
          family: ip.address.includes(':') ? 6 : 4,
        })),
        routes: r.routes ?? [],
        dns: r.dns ?? {},
        fresh: true,
      };
    },
    release: () => delegateDel(type, ctx.rawConfig, env),
    check: () => delegateCheck(type, ctx.rawConfig, env),
    close: async () => {},
  };
}
