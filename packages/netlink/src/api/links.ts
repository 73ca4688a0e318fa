import {
  be16Attr,
  bytesAttr,
  nestedAttr,
  stringAttr,
  u32Attr,
  u8Attr,
  type Attr,
} from '../codec/attributes.js';
import * as C from '../codec/constants.js';
import { parseIp, parseMac } from '../codec/ip.js';
import { decodeLink, encodeIfInfoMsg, vethPeerAttr, type IfInfoMsg, type Link } from '../codec/link.js';
import { fs } from '../builtins.js';
import { ERRNO } from '../errno.js';
import { NetlinkError, fromSyscallError } from '../errors.js';
import { checkIfname, checkLinkRef, checkUint, type LinkRef } from '../names.js';
import { netnsPath } from '../netns.js';
import type { NetlinkSocket } from '../socket.js';

export interface CommonLinkOptions {
  name: string;
  mtu?: number;
  mac?: string;
  /** Bring the link up once created (default false, like `ip link add`). */
  up?: boolean;
}

export type BridgeOptions = CommonLinkOptions;

export interface VethOptions extends CommonLinkOptions {
  peerName: string;
  /** Netns (path, or name under /run/netns) the peer is created in directly; this handle's netns when absent. */
  peerNetns?: string;
  /** MTU of the peer (defaults to `mtu`). */
  peerMtu?: number;
  peerMac?: string;
}

export interface VxlanOptions extends CommonLinkOptions {
  vni: number;
  /** Source address of encapsulated packets (IPv4 or IPv6). */
  local?: string;
  /** Multicast group or a single remote (IFLA_VXLAN_GROUP). */
  group?: string;
  /** Underlay device. */
  dev?: LinkRef;
  /** UDP destination port (the kernel's default is 8472; IANA's is 4789). */
  port?: number;
  learning?: boolean;
}

/** Link operations of one handle (one netns). Links are named by name or index. */
export class Links {
  readonly #sock: NetlinkSocket;

  constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  async list(): Promise<Link[]> {
    return (
      await this.#sock.dump({ operation: 'link list', type: C.RTM_GETLINK, fixed: encodeIfInfoMsg({}) })
    )
      .filter((m) => m.type === C.RTM_NEWLINK)
      .map(decodeLink);
  }

  /** The link, or a NetlinkError with code ENODEV. */
  async get(ref: LinkRef): Promise<Link> {
    checkLinkRef(ref);
    const replies = await this.#sock.request({
      operation: `link get ${ref}`,
      type: C.RTM_GETLINK,
      fixed: encodeIfInfoMsg(typeof ref === 'number' ? { index: ref } : {}),
      attrs: typeof ref === 'string' ? [stringAttr(C.IFLA_IFNAME, ref)] : [],
    });
    const reply = replies.find((m) => m.type === C.RTM_NEWLINK);
    if (!reply)
      throw new NetlinkError({
        operation: `link get ${ref}`,
        errno: ERRNO.ENODEV,
        extAck: 'no link in the reply',
      });
    return decodeLink(reply);
  }

  /** The link, or undefined when there is none. */
  async find(ref: LinkRef): Promise<Link | undefined> {
    try {
      return await this.get(ref);
    } catch (err) {
      if (err instanceof NetlinkError && err.code === 'ENODEV') return undefined;
      throw err;
    }
  }

  async addBridge(opts: BridgeOptions): Promise<void> {
    await this.#create(`link add bridge ${opts.name}`, opts, 'bridge', []);
  }

  async addVeth(opts: VethOptions): Promise<void> {
    checkIfname(opts.peerName, 'veth peer name');
    const peerMtu = opts.peerMtu ?? opts.mtu;
    const peer: Attr[] = [stringAttr(C.IFLA_IFNAME, opts.peerName)];
    if (peerMtu !== undefined) peer.push(u32Attr(C.IFLA_MTU, checkUint(peerMtu, 0xffffffff, 'MTU')));
    if (opts.peerMac) peer.push(bytesAttr(C.IFLA_ADDRESS, parseMac(opts.peerMac)));
    const op = `link add veth ${opts.name} peer ${opts.peerName}${opts.peerNetns ? ` in ${opts.peerNetns}` : ''}`;
    await withNetnsFd(op, opts.peerNetns, (fd) => {
      if (fd !== undefined) peer.push(u32Attr(C.IFLA_NET_NS_FD, fd));
      return this.#create(op, opts, 'veth', [vethPeerAttr(peer)]);
    });
  }

  async addVxlan(opts: VxlanOptions): Promise<void> {
    const data: Attr[] = [u32Attr(C.IFLA_VXLAN_ID, checkUint(opts.vni, 0xffffff, 'VNI'))];
    if (opts.local) {
      const ip = parseIp(opts.local);
      data.push(bytesAttr(ip.family === 4 ? C.IFLA_VXLAN_LOCAL : C.IFLA_VXLAN_LOCAL6, ip.bytes));
    }
    if (opts.group) {
      const ip = parseIp(opts.group);
      data.push(bytesAttr(ip.family === 4 ? C.IFLA_VXLAN_GROUP : C.IFLA_VXLAN_GROUP6, ip.bytes));
    }
    if (opts.dev !== undefined) data.push(u32Attr(C.IFLA_VXLAN_LINK, await this.#index(opts.dev)));
    if (opts.port !== undefined) data.push(be16Attr(C.IFLA_VXLAN_PORT, checkUint(opts.port, 0xffff, 'port')));
    if (opts.learning !== undefined) data.push(u8Attr(C.IFLA_VXLAN_LEARNING, opts.learning ? 1 : 0));
    await this.#create(`link add vxlan ${opts.name}`, opts, 'vxlan', data);
  }

  async setUp(ref: LinkRef): Promise<void> {
    await this.#set(`link set ${ref} up`, ref, { flags: C.IFF_UP, change: C.IFF_UP });
  }

  async setDown(ref: LinkRef): Promise<void> {
    await this.#set(`link set ${ref} down`, ref, { flags: 0, change: C.IFF_UP });
  }

  async setMtu(ref: LinkRef, mtu: number): Promise<void> {
    await this.#set(`link set ${ref} mtu ${mtu}`, ref, {}, [
      u32Attr(C.IFLA_MTU, checkUint(mtu, 0xffffffff, 'MTU')),
    ]);
  }

  async setMac(ref: LinkRef, mac: string): Promise<void> {
    await this.#set(`link set ${ref} address ${mac}`, ref, {}, [bytesAttr(C.IFLA_ADDRESS, parseMac(mac))]);
  }

  async setMaster(ref: LinkRef, master: LinkRef): Promise<void> {
    const index = await this.#index(master);
    await this.#set(`link set ${ref} master ${master}`, ref, {}, [u32Attr(C.IFLA_MASTER, index)]);
  }

  async setNoMaster(ref: LinkRef): Promise<void> {
    await this.#set(`link set ${ref} nomaster`, ref, {}, [u32Attr(C.IFLA_MASTER, 0)]);
  }

  /** Hairpin mode of a bridge port (the link must already be attached to a bridge). */
  async setHairpin(ref: LinkRef, on: boolean): Promise<void> {
    const slave = nestedAttr(C.IFLA_LINKINFO, [
      stringAttr(C.IFLA_INFO_SLAVE_KIND, 'bridge'),
      nestedAttr(C.IFLA_INFO_SLAVE_DATA, [u8Attr(C.IFLA_BRPORT_MODE, on ? 1 : 0)]),
    ]);
    // Bridge-port settings travel through RTM_NEWLINK on the existing link (no CREATE flag).
    const op = `link set ${ref} hairpin ${on ? 'on' : 'off'}`;
    await this.#sock.request({
      operation: op,
      type: C.RTM_NEWLINK,
      fixed: encodeIfInfoMsg(refMsg(ref)),
      attrs: [...refAttrs(ref), slave],
    });
  }

  async rename(ref: LinkRef, newName: string): Promise<void> {
    checkIfname(newName);
    const index = await this.#index(ref);
    await this.#set(`link set ${ref} name ${newName}`, index, {}, [stringAttr(C.IFLA_IFNAME, newName)]);
  }

  /** Moves the link into the netns at `netnsPath`; it disappears from this handle's netns. */
  async moveToNetns(ref: LinkRef, netnsPath: string): Promise<void> {
    const op = `link set ${ref} netns ${netnsPath}`;
    await withNetnsFd(op, netnsPath, (fd) => this.#set(op, ref, {}, [u32Attr(C.IFLA_NET_NS_FD, fd!)]));
  }

  /** Deletes the link (a veth takes its peer with it). ENODEV when it does not exist. */
  async delete(ref: LinkRef): Promise<void> {
    checkLinkRef(ref);
    await this.#sock.request({
      operation: `link delete ${ref}`,
      type: C.RTM_DELLINK,
      fixed: encodeIfInfoMsg(refMsg(ref)),
      attrs: refAttrs(ref),
    });
  }

  /** A bridge named `name` with these settings: created when missing, adjusted when it differs. */
  async ensureBridge(opts: BridgeOptions): Promise<Link> {
    let link = await this.find(opts.name);
    if (!link) {
      try {
        await this.addBridge(opts);
      } catch (err) {
        // Another process may have created it between the lookup and the add.
        if (!(err instanceof NetlinkError && err.code === 'EEXIST')) throw err;
      }
      link = await this.get(opts.name);
    }
    if (link.kind !== 'bridge') {
      throw new NetlinkError({
        operation: `ensure bridge ${opts.name}`,
        errno: ERRNO.EEXIST,
        extAck: `a link named ${opts.name} exists and is a ${link.kind ?? 'device'} of no kind "bridge"`,
      });
    }
    if (opts.mtu !== undefined && link.mtu !== opts.mtu) await this.setMtu(link.index, opts.mtu);
    if (opts.mac && link.mac !== opts.mac.toLowerCase()) await this.setMac(link.index, opts.mac);
    if ((opts.up ?? true) && !link.up) await this.setUp(link.index);
    return this.get(link.index);
  }

  async #index(ref: LinkRef): Promise<number> {
    return typeof ref === 'number' ? ref : (await this.get(ref)).index;
  }

  async #create(
    operation: string,
    opts: CommonLinkOptions,
    kind: string,
    data: readonly Attr[],
  ): Promise<void> {
    checkIfname(opts.name);
    const attrs: Attr[] = [stringAttr(C.IFLA_IFNAME, opts.name)];
    if (opts.mtu !== undefined) attrs.push(u32Attr(C.IFLA_MTU, checkUint(opts.mtu, 0xffffffff, 'MTU')));
    if (opts.mac) attrs.push(bytesAttr(C.IFLA_ADDRESS, parseMac(opts.mac)));
    const info: Attr[] = [stringAttr(C.IFLA_INFO_KIND, kind)];
    if (data.length) info.push(nestedAttr(C.IFLA_INFO_DATA, data));
    attrs.push(nestedAttr(C.IFLA_LINKINFO, info));
    await this.#sock.request({
      operation,
      type: C.RTM_NEWLINK,
      flags: C.NLM_F_CREATE | C.NLM_F_EXCL,
      fixed: encodeIfInfoMsg(opts.up ? { flags: C.IFF_UP, change: C.IFF_UP } : {}),
      attrs,
    });
  }

  async #set(operation: string, ref: LinkRef, msg: IfInfoMsg, attrs: readonly Attr[] = []): Promise<void> {
    checkLinkRef(ref);
    await this.#sock.request({
      operation,
      type: C.RTM_SETLINK,
      fixed: encodeIfInfoMsg({ ...msg, ...refMsg(ref) }),
      attrs: [...refAttrs(ref), ...attrs],
    });
  }
}

/** A link named by index goes in the header; one named by name in IFLA_IFNAME (the kernel looks it up). */
function refMsg(ref: LinkRef): IfInfoMsg {
  return typeof ref === 'number' ? { index: ref } : {};
}

function refAttrs(ref: LinkRef): Attr[] {
  return typeof ref === 'string' ? [stringAttr(C.IFLA_IFNAME, ref)] : [];
}

/** Opens the netns file until the request `fn` makes has finished (the kernel takes the netns from the fd). */
export async function withNetnsFd<T>(
  operation: string,
  path: string | undefined,
  fn: (fd: number | undefined) => Promise<T>,
): Promise<T> {
  if (path === undefined) return fn(undefined);
  let fd: number;
  try {
    fd = fs.openSync(netnsPath(path), 'r');
  } catch (err) {
    throw fromSyscallError(`${operation}: open netns`, err);
  }
  try {
    return await fn(fd);
  } finally {
    fs.closeSync(fd);
  }
}
