import { describe, expect, it } from 'vitest';
import { encodeAttrs, stringAttr } from '../src/codec/attributes.js';
import * as C from '../src/codec/constants.js';
import { encodeIfInfoMsg } from '../src/codec/link.js';
import { encodeMessage } from '../src/codec/message.js';
import { NetlinkDecodeError, NetlinkError, NetlinkInputError } from '../src/errors.js';
import { Netlink } from '../src/netlink.js';
import { DUMP_RETRIES } from '../src/socket.js';
import { fakeAddon } from './replay.js';

const link = (index: number, name: string, flags = C.NLM_F_MULTI, seq = 0) =>
  encodeMessage(
    { type: C.RTM_NEWLINK, flags, seq, pid: 0 },
    Buffer.concat([encodeIfInfoMsg({ index }), encodeAttrs([stringAttr(C.IFLA_IFNAME, name)])]),
  );
const done = (flags = C.NLM_F_MULTI, status = 0) => {
  const p = Buffer.alloc(4);
  p.writeInt32LE(status);
  return encodeMessage({ type: C.NLMSG_DONE, flags, seq: 0, pid: 0 }, p);
};
const error = (errno: number, text?: string) => {
  const body = Buffer.alloc(4 + 16);
  body.writeInt32LE(-errno);
  body.writeUInt32LE(16, 4);
  const tlvs = text ? encodeAttrs([stringAttr(C.NLMSGERR_ATTR_MSG, text)]) : Buffer.alloc(0);
  return encodeMessage(
    { type: C.NLMSG_ERROR, flags: C.NLM_F_CAPPED | (text ? C.NLM_F_ACK_TLVS : 0), seq: 0, pid: 0 },
    Buffer.concat([body, tlvs]),
  );
};

describe('request/reply over the socket', () => {
  it('restarts a dump the kernel marked interrupted, and returns the clean retry', async () => {
    const addon = fakeAddon([
      Buffer.concat([link(1, 'lo', C.NLM_F_MULTI | C.NLM_F_DUMP_INTR), done()]),
      Buffer.concat([link(1, 'lo'), link(2, 'eth0'), done()]),
    ]);
    const links = await Netlink.open({ addon }).links.list();
    expect(links.map((l) => l.name)).toEqual(['lo', 'eth0']);
    expect(addon.sent).toHaveLength(2);
    expect(addon.sent[0]!.readUInt16LE(6)).toBe(C.NLM_F_REQUEST | C.NLM_F_DUMP);
  });

  it('gives up with EINTR after repeated interruptions', async () => {
    const queue = Array.from({ length: DUMP_RETRIES + 5 }, () =>
      Buffer.concat([link(1, 'lo', C.NLM_F_MULTI | C.NLM_F_DUMP_INTR), done()]),
    );
    await expect(Netlink.open({ addon: fakeAddon(queue) }).links.list()).rejects.toMatchObject({
      code: 'EINTR',
    });
  });

  it('skips replies to other sequence numbers (a request that timed out earlier)', async () => {
    const addon = fakeAddon([]);
    const queue = [link(9, 'stale', 0, 12345)];
    addon.send = async (_fd, bytes) => {
      const seq = Buffer.from(bytes).readUInt32LE(8);
      const ack = error(0);
      ack.writeUInt32LE(seq, 8);
      queue.push(link(2, 'eth0', 0, seq), ack);
      return bytes.length;
    };
    addon.recv = async () => queue.shift()!;
    const found = await Netlink.open({ addon }).links.get('eth0');
    expect(found).toMatchObject({ name: 'eth0', index: 2 });
    expect(queue).toHaveLength(0);
  });

  it('turns a missing reply into ETIMEDOUT instead of hanging', async () => {
    const err = await Netlink.open({ addon: fakeAddon([]) })
      .links.setUp('eth0')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'ETIMEDOUT', operation: 'link set eth0 up', syscall: 'recv' });
  });

  it('reports the error and extended ACK of a failed request, capped echo', async () => {
    const err = await Netlink.open({ addon: fakeAddon([error(17, 'File exists here')]) })
      .links.addBridge({ name: 'br0' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'EEXIST',
      errno: 17,
      extAck: 'File exists here',
      operation: 'link add bridge br0',
    });
  });

  it('reports a dump that ends in an error status', async () => {
    await expect(
      Netlink.open({ addon: fakeAddon([done(C.NLM_F_MULTI, -95)]) }).links.list(),
    ).rejects.toMatchObject({
      code: 'EOPNOTSUPP',
    });
  });

  it('closes once, and refuses work after close with EBADF', async () => {
    const addon = fakeAddon([]);
    const nl = Netlink.open({ addon });
    nl.close();
    nl[Symbol.dispose]();
    expect(addon.closed).toEqual([7]);
    await expect(nl.links.list()).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('rejects bad input before any syscall', async () => {
    const addon = fakeAddon([]);
    const nl = Netlink.open({ addon });
    await expect(nl.links.addBridge({ name: 'much-too-long-name' })).rejects.toBeInstanceOf(
      NetlinkInputError,
    );
    await expect(nl.links.setMac('eth0', 'zz')).rejects.toBeInstanceOf(NetlinkInputError);
    await expect(nl.addresses.add(3, '10.0.0.1/40')).rejects.toBeInstanceOf(NetlinkInputError);
    await expect(nl.routes.add({ dst: '10.0.0.0/8', gateway: 'fd00::1' })).rejects.toBeInstanceOf(
      NetlinkInputError,
    );
    await expect(nl.links.addVxlan({ name: 'vx0', vni: 1 << 24 })).rejects.toBeInstanceOf(NetlinkInputError);
    expect(addon.sent).toHaveLength(0);
  });

  it('throws only NetlinkDecodeError for a garbled datagram', async () => {
    const bad = Buffer.from('ffff0000100000000000000000000000', 'hex');
    await expect(Netlink.open({ addon: fakeAddon([bad]) }).links.list()).rejects.toBeInstanceOf(
      NetlinkDecodeError,
    );
  });

  it('runs concurrent requests on one socket one at a time, each getting its own replies', async () => {
    // A kernel that answers each request a moment later: a get with the link it names (index =
    // name length), a dump with three links in two datagrams; "busy0" fails with EBUSY.
    const addon = fakeAddon([]);
    const queue: { datagram: Buffer; last: boolean }[] = [];
    let answered = 0;
    const answeredAtSend: number[] = [];
    addon.send = async (_fd, bytes) => {
      const req = Buffer.from(bytes);
      addon.sent.push(req);
      answeredAtSend.push(answered);
      const seq = req.readUInt32LE(8);
      const stamped = (b: Buffer) => {
        b.writeUInt32LE(seq, 8);
        return b;
      };
      if (req.readUInt16LE(6) & C.NLM_F_DUMP) {
        const links = Buffer.concat([1, 2, 3].map((i) => link(i, `d${i}`, C.NLM_F_MULTI, seq)));
        queue.push({ datagram: links, last: false }, { datagram: stamped(done()), last: true });
      } else {
        // The IFLA_IFNAME attribute follows the 16-byte header and the 16-byte ifinfomsg.
        const name = req.subarray(36, req.indexOf(0, 36)).toString();
        const reply =
          name === 'busy0'
            ? stamped(error(16))
            : Buffer.concat([link(name.length, name, 0, seq), stamped(error(0))]);
        queue.push({ datagram: reply, last: true });
      }
      return req.length;
    };
    addon.recv = () =>
      new Promise((resolve, reject) =>
        setTimeout(() => {
          const next = queue.shift();
          if (!next) return reject(Object.assign(new Error('recv: EAGAIN'), { errno: 11, syscall: 'recv' }));
          if (next.last) answered++;
          resolve(next.datagram);
        }, 1),
      );
    const nl = Netlink.open({ addon });
    const results = await Promise.allSettled([
      ...['a', 'bb', 'busy0', 'cccc', 'ddddd'].map((n) => nl.links.get(n)),
      nl.links.list(),
      nl.links.get('eeeeee'),
    ]);
    expect(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as { code: string }).code)),
    ).toEqual([
      expect.objectContaining({ name: 'a', index: 1 }),
      expect.objectContaining({ name: 'bb', index: 2 }),
      'EBUSY',
      expect.objectContaining({ name: 'cccc', index: 4 }),
      expect.objectContaining({ name: 'ddddd', index: 5 }),
      [1, 2, 3].map((i): unknown => expect.objectContaining({ name: `d${i}`, index: i })),
      expect.objectContaining({ name: 'eeeeee', index: 6 }),
    ]);
    // Each request went out only once the one before had its final reply, and nothing was left unread.
    expect(answeredAtSend).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(new Set(addon.sent.map((b) => b.readUInt32LE(8))).size).toBe(7);
    expect(queue).toHaveLength(0);
  });

  it('at close rejects the request waiting for its reply and the queued ones, and closes the fd after the receive returns', async () => {
    const addon = fakeAddon([]);
    let finishRecv: (() => void) | undefined;
    addon.recv = () =>
      new Promise((_resolve, reject) => {
        finishRecv = () => reject(Object.assign(new Error('recv: EAGAIN'), { errno: 11, syscall: 'recv' }));
      });
    const nl = Netlink.open({ addon });
    const waiting = nl.links.setUp('eth0').catch((e: unknown) => e);
    const queued = nl.links.list().catch((e: unknown) => e);
    await new Promise((resolve) => setImmediate(resolve));
    expect(finishRecv).toBeDefined();
    nl.close();
    expect(await waiting).toMatchObject({ code: 'EBADF', operation: 'link set eth0 up' });
    expect(await queued).toMatchObject({ code: 'EBADF', operation: 'link list' });
    expect(addon.sent).toHaveLength(1);
    // The native receive still holds the fd: closing it now could hand its number to another socket.
    expect(addon.closed).toEqual([]);
    finishRecv!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(addon.closed).toEqual([7]);
    nl.close();
    expect(addon.closed).toEqual([7]);
  });
});
