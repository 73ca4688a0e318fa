import { bytesAttr, stringAttr, u32Attr, type Attr } from '../codec/attributes.js';
import * as C from '../codec/constants.js';
import { decodeAddress, encodeIfAddrMsg, type Address } from '../codec/address.js';
import { familyToAf, parseCidr, type Family } from '../codec/ip.js';
import { NetlinkError } from '../errors.js';
import type { LinkRef } from '../names.js';
import type { NetlinkSocket } from '../socket.js';
import type { Links } from './links.js';

export interface AddressOptions {
  /** Skip duplicate address detection (IFA_F_NODAD): an IPv6 address is usable at once. */
  noDad?: boolean;
  /** RT_SCOPE_* (default universe). */
  scope?: number;
  label?: string;
}

export interface AddressListOptions {
  family?: Family;
  dev?: LinkRef;
}

/** Address operations of one handle. Addresses are CIDR strings: `10.244.0.5/24`, `fd00::5/64`. */
export class Addresses {
  readonly #sock: NetlinkSocket;
  readonly #links: Links;

  constructor(sock: NetlinkSocket, links: Links) {
    this.#sock = sock;
    this.#links = links;
  }

  async list(opts: AddressListOptions = {}): Promise<Address[]> {
    const index = opts.dev === undefined ? undefined : (await this.#links.get(opts.dev)).index;
    const family = opts.family ? familyToAf(opts.family) : C.AF_UNSPEC;
    return (
      await this.#sock.dump({
        operation: 'address list',
        type: C.RTM_GETADDR,
        // With strict checking the kernel filters by the index in the header.
        fixed: encodeIfAddrMsg({ family, prefixLength: 0, index: index ?? 0 }),
      })
    )
      .filter((m) => m.type === C.RTM_NEWADDR)
      .map(decodeAddress)
      .filter((a): a is Address => a !== undefined && (index === undefined || a.index === index));
  }

  /** Adds an address; EEXIST when the link already has it. */
  async add(dev: LinkRef, cidr: string, opts: AddressOptions = {}): Promise<void> {
    await this.#change(
      `address add ${cidr} dev ${dev}`,
      C.RTM_NEWADDR,
      C.NLM_F_CREATE | C.NLM_F_EXCL,
      dev,
      cidr,
      opts,
    );
  }

  /** Adds the address or updates it in place (flags, scope, label). */
  async replace(dev: LinkRef, cidr: string, opts: AddressOptions = {}): Promise<void> {
    await this.#change(
      `address replace ${cidr} dev ${dev}`,
      C.RTM_NEWADDR,
      C.NLM_F_CREATE | C.NLM_F_REPLACE,
      dev,
      cidr,
      opts,
    );
  }

  /** Removes the address; EADDRNOTAVAIL when the link does not have it. */
  async delete(dev: LinkRef, cidr: string): Promise<void> {
    await this.#change(`address delete ${cidr} dev ${dev}`, C.RTM_DELADDR, 0, dev, cidr, {});
  }

  /** Adds the address unless the link has it already. Returns whether it was added. */
  async ensure(dev: LinkRef, cidr: string, opts: AddressOptions = {}): Promise<boolean> {
    try {
      await this.add(dev, cidr, opts);
      return true;
    } catch (err) {
      if (err instanceof NetlinkError && err.code === 'EEXIST') return false;
      throw err;
    }
  }

  async #change(
    operation: string,
    type: number,
    flags: number,
    dev: LinkRef,
    cidr: string,
    opts: AddressOptions,
  ): Promise<void> {
    const parsed = parseCidr(cidr);
    const index = typeof dev === 'number' ? dev : (await this.#links.get(dev)).index;
    const attrs: Attr[] = [bytesAttr(C.IFA_LOCAL, parsed.bytes), bytesAttr(C.IFA_ADDRESS, parsed.bytes)];
    if (parsed.family === 4 && parsed.prefixLength < 31 && type === C.RTM_NEWADDR) {
      attrs.push(bytesAttr(C.IFA_BROADCAST, broadcastOf(parsed.bytes, parsed.prefixLength)));
    }
    if (opts.label) attrs.push(stringAttr(C.IFA_LABEL, opts.label));
    const ifaFlags = opts.noDad ? C.IFA_F_NODAD : 0;
    if (ifaFlags) attrs.push(u32Attr(C.IFA_FLAGS, ifaFlags));
    await this.#sock.request({
      operation,
      type,
      flags,
      fixed: encodeIfAddrMsg({
        family: familyToAf(parsed.family),
        prefixLength: parsed.prefixLength,
        flags: ifaFlags,
        scope: opts.scope ?? C.RT_SCOPE_UNIVERSE,
        index,
      }),
      attrs,
    });
  }
}

function broadcastOf(addr: Buffer, prefixLength: number): Buffer {
  const out = Buffer.from(addr);
  for (let bit = prefixLength; bit < 32; bit++) out[bit >> 3] = out[bit >> 3]! | (0x80 >> (bit & 7));
  return out;
}
