import { bytesAttr, u32Attr, type Attr } from '../codec/attributes.js';
import * as C from '../codec/constants.js';
import { familyToAf, parseIp, parseMac, type Family } from '../codec/ip.js';
import { decodeNeighbour, encodeNdMsg, type Neighbour } from '../codec/neighbour.js';
import { NetlinkInputError } from '../errors.js';
import { checkUint, type LinkRef } from '../names.js';
import type { RawMessage } from '../codec/message.js';
import type { NetlinkSocket } from '../socket.js';
import type { Links } from './links.js';

export type NeighbourState = 'permanent' | 'noarp' | 'reachable' | 'stale' | number;

const STATES: Record<string, number> = {
  permanent: C.NUD_PERMANENT,
  noarp: C.NUD_NOARP,
  reachable: C.NUD_REACHABLE,
  stale: C.NUD_STALE,
};

export interface NeighbourSpec {
  dev: LinkRef;
  /** The neighbour's IP address. */
  dst: string;
  /** Its link-layer address (required to add or replace). */
  lladdr?: string;
  /** Default permanent. */
  state?: NeighbourState;
}

export interface FdbSpec {
  /** The bridge port or vxlan device the entry belongs to. */
  dev: LinkRef;
  mac: string;
  /** For a vxlan device: the remote VTEP's IP address (NDA_DST). */
  dst?: string;
  vni?: number;
  /** Entry in the device's own table (NTF_SELF, default) or in its master bridge's (NTF_MASTER). */
  where?: 'self' | 'master';
  /** Default permanent. */
  state?: NeighbourState;
}

function stateOf(state: NeighbourState | undefined): number {
  if (state === undefined) return C.NUD_PERMANENT;
  const n = typeof state === 'number' ? state : STATES[state];
  if (n === undefined)
    throw new NetlinkInputError(`neighbour state "${state}" is not permanent, noarp, reachable or stale`);
  return checkUint(n, 0xffff, 'neighbour state');
}

async function indexOf(links: Links, ref: LinkRef): Promise<number> {
  return typeof ref === 'number' ? ref : (await links.get(ref)).index;
}

/** ARP/NDP neighbour entries of one handle. */
export class Neighbours {
  readonly #sock: NetlinkSocket;
  readonly #links: Links;

  constructor(sock: NetlinkSocket, links: Links) {
    this.#sock = sock;
    this.#links = links;
  }

  async list(opts: { family?: Family; dev?: LinkRef } = {}): Promise<Neighbour[]> {
    const index = opts.dev === undefined ? undefined : await indexOf(this.#links, opts.dev);
    const families = opts.family ? [familyToAf(opts.family)] : [C.AF_INET, C.AF_INET6];
    const out: Neighbour[] = [];
    for (const family of families) {
      const messages = await this.#sock.dump({
        operation: 'neighbour list',
        type: C.RTM_GETNEIGH,
        fixed: encodeNdMsg({ family, index: 0, state: 0 }),
      });
      for (const m of messages) {
        if (m.type !== C.RTM_NEWNEIGH || !onDevice(m, index)) continue;
        out.push(decodeNeighbour(m));
      }
    }
    return out;
  }

  async add(spec: NeighbourSpec): Promise<void> {
    await this.#change('neighbour add', C.RTM_NEWNEIGH, C.NLM_F_CREATE | C.NLM_F_EXCL, spec);
  }

  async replace(spec: NeighbourSpec): Promise<void> {
    await this.#change('neighbour replace', C.RTM_NEWNEIGH, C.NLM_F_CREATE | C.NLM_F_REPLACE, spec);
  }

  async delete(spec: NeighbourSpec): Promise<void> {
    await this.#change('neighbour delete', C.RTM_DELNEIGH, 0, spec);
  }

  async #change(verb: string, type: number, flags: number, spec: NeighbourSpec): Promise<void> {
    const operation = `${verb} ${spec.dst} dev ${spec.dev}`;
    const dst = parseIp(spec.dst);
    const attrs: Attr[] = [bytesAttr(C.NDA_DST, dst.bytes)];
    if (spec.lladdr) attrs.push(bytesAttr(C.NDA_LLADDR, parseMac(spec.lladdr)));
    else if (type === C.RTM_NEWNEIGH) throw new NetlinkInputError(`${operation}: lladdr is required`);
    await this.#sock.request({
      operation,
      type,
      flags,
      fixed: encodeNdMsg({
        family: familyToAf(dst.family),
        index: await indexOf(this.#links, spec.dev),
        state: type === C.RTM_NEWNEIGH ? stateOf(spec.state) : 0,
      }),
      attrs,
    });
  }
}

/** Bridge forwarding database entries (AF_BRIDGE neighbours): vxlan remotes and bridge ports. */
export class Fdb {
  readonly #sock: NetlinkSocket;
  readonly #links: Links;

  constructor(sock: NetlinkSocket, links: Links) {
    this.#sock = sock;
    this.#links = links;
  }

  async list(opts: { dev?: LinkRef } = {}): Promise<Neighbour[]> {
    const index = opts.dev === undefined ? undefined : await indexOf(this.#links, opts.dev);
    return (
      await this.#sock.dump({
        operation: 'fdb list',
        type: C.RTM_GETNEIGH,
        fixed: encodeNdMsg({ family: C.AF_BRIDGE, index: 0, state: 0 }),
      })
    )
      .filter((m) => m.type === C.RTM_NEWNEIGH && onDevice(m, index))
      .map(decodeNeighbour);
  }

  /** Adds an entry; EEXIST when the same MAC (and dst) is there. */
  async add(spec: FdbSpec): Promise<void> {
    await this.#change('fdb add', C.RTM_NEWNEIGH, C.NLM_F_CREATE | C.NLM_F_EXCL, spec);
  }

  /** Adds one more remote for the same MAC (vxlan: several dsts for the all-zeros MAC flood list). */
  async append(spec: FdbSpec): Promise<void> {
    await this.#change('fdb append', C.RTM_NEWNEIGH, C.NLM_F_CREATE | C.NLM_F_APPEND, spec);
  }

  async replace(spec: FdbSpec): Promise<void> {
    await this.#change('fdb replace', C.RTM_NEWNEIGH, C.NLM_F_CREATE | C.NLM_F_REPLACE, spec);
  }

  async delete(spec: FdbSpec): Promise<void> {
    await this.#change('fdb delete', C.RTM_DELNEIGH, 0, spec);
  }

  async #change(verb: string, type: number, flags: number, spec: FdbSpec): Promise<void> {
    const operation = `${verb} ${spec.mac} dev ${spec.dev}${spec.dst ? ` dst ${spec.dst}` : ''}`;
    const attrs: Attr[] = [bytesAttr(C.NDA_LLADDR, parseMac(spec.mac))];
    if (spec.dst) attrs.push(bytesAttr(C.NDA_DST, parseIp(spec.dst).bytes));
    if (spec.vni !== undefined) attrs.push(u32Attr(C.NDA_VNI, checkUint(spec.vni, 0xffffff, 'VNI')));
    await this.#sock.request({
      operation,
      type,
      flags,
      fixed: encodeNdMsg({
        family: C.AF_BRIDGE,
        index: await indexOf(this.#links, spec.dev),
        state: type === C.RTM_NEWNEIGH ? stateOf(spec.state) : 0,
        flags: spec.where === 'master' ? C.NTF_MASTER : C.NTF_SELF,
      }),
      attrs,
    });
  }
}

/** Byte offset of ndm_ifindex in struct ndmsg. */
const NDM_IFINDEX_AT = 4;

/**
 * Whether an entry is on the device asked for (any, when undefined), read off the header: an
 * entry of another device is never decoded (a bridge's FDB holds one per pod MAC).
 */
function onDevice(m: RawMessage, index: number | undefined): boolean {
  // A header too short to read is decoded, which reports it.
  if (index === undefined || m.payload.length < NDM_IFINDEX_AT + 4) return true;
  return m.payload.readInt32LE(NDM_IFINDEX_AT) === index;
}
