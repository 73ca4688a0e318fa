import { describe, expect, it } from 'vitest';
import { decodeError } from '../src/codec/ack.js';
import * as C from '../src/codec/constants.js';
import { decodeMessages } from '../src/codec/message.js';
import { decodeLink } from '../src/codec/link.js';
import { NetlinkError } from '../src/errors.js';
import { Netlink } from '../src/netlink.js';
import { datagrams, fakeAddon, loadFixture } from './replay.js';

// The fixtures are real kernel replies recorded by scripts/record-fixtures.mjs (kernel 6.18).
const open = (name: string) => {
  const addon = fakeAddon(datagrams(loadFixture(name)));
  return { nl: Netlink.open({ addon }), addon };
};

describe('recorded link dump', () => {
  it('decodes lo, a bridge, a bridge-port veth with hairpin and a vxlan', async () => {
    const { nl } = open('link-dump');
    const links = await nl.links.list();
    expect(links.map((l) => l.name)).toEqual(['lo', 'br0', 'v0', 'vx0']);
    const [lo, br, veth, vx] = links;
    expect(lo).toMatchObject({ index: 1, up: true, mtu: 65536, mac: '00:00:00:00:00:00' });
    expect(lo!.kind).toBeUndefined();
    expect(br).toMatchObject({ kind: 'bridge', mtu: 1400, mac: '02:00:00:00:00:aa', up: true });
    expect(veth).toMatchObject({
      kind: 'veth',
      mac: '02:00:00:00:00:01',
      mtu: 1400,
      master: br!.index,
      slaveKind: 'bridge',
      hairpin: true,
      linkNetnsId: 0,
    });
    expect(vx).toMatchObject({
      kind: 'vxlan',
      mtu: 1450,
      vxlan: { vni: 42, port: 4789, learning: false, local: '10.244.9.1' },
    });
  });

  it('spans several datagrams, all flagged multipart, ended by NLMSG_DONE', () => {
    const all = datagrams(loadFixture('link-dump')).flatMap(decodeMessages);
    expect(all.at(-1)!.type).toBe(C.NLMSG_DONE);
    expect(all.slice(0, -1).every((m) => m.type === C.RTM_NEWLINK && m.flags & C.NLM_F_MULTI)).toBe(true);
    expect(decodeLink(all[0]!).name).toBe('lo');
  });
});

describe('recorded errors and ACKs', () => {
  it('turns ENODEV into a NetlinkError naming the operation', async () => {
    const { nl } = open('link-get-missing');
    const err = await nl.links.get('nosuch0').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'ENODEV', errno: 19, operation: 'link get nosuch0' });
  });

  it('finds() a missing link as undefined', async () => {
    const { nl } = open('link-get-missing');
    expect(await nl.links.find('nosuch0')).toBeUndefined();
  });

  it('accepts a plain ACK', async () => {
    const { nl, addon } = open('link-set-up-ack');
    await nl.links.setUp('br0');
    const req = addon.sent[0]!;
    expect(req.readUInt16LE(4)).toBe(C.RTM_SETLINK);
    expect(req.readUInt16LE(6)).toBe(C.NLM_F_REQUEST | C.NLM_F_ACK);
  });

  it('carries the extended-ACK text of an uncapped error', async () => {
    const { nl } = open('route-add-bad-gateway');
    const err = await nl.routes.add({ dst: '10.245.0.0/24', gateway: '10.99.0.2' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENETUNREACH', extAck: 'Nexthop has invalid gateway' });
    expect((err as Error).message).toBe(
      'route add 10.245.0.0/24 via 10.99.0.2: ENETUNREACH: Nexthop has invalid gateway',
    );
    const [msg] = decodeMessages(datagrams(loadFixture('route-add-bad-gateway'))[0]!);
    expect(msg!.flags & C.NLM_F_ACK_TLVS).toBeTruthy();
    expect(decodeError(msg!)).toMatchObject({ errno: 101, extAck: 'Nexthop has invalid gateway' });
  });

  it('reports EEXIST for an address that is there', async () => {
    const { nl } = open('addr-add-exists');
    await expect(nl.addresses.add('br0', '10.244.0.1/24')).rejects.toMatchObject({ code: 'EEXIST' });
  });
});

describe('recorded address, route, neighbour and fdb dumps', () => {
  it('decodes IPv4 and IPv6 addresses as CIDRs', async () => {
    const { nl } = open('addr-dump');
    const addrs = await nl.addresses.list();
    const cidrs = addrs.map((a) => a.cidr);
    expect(cidrs).toEqual(expect.arrayContaining(['127.0.0.1/8', '::1/128', '10.244.0.1/24', 'fd00::1/64']));
    const v6 = addrs.find((a) => a.cidr === 'fd00::1/64')!;
    expect(v6.flags & C.IFA_F_NODAD).toBeTruthy();
    expect(addrs.find((a) => a.cidr === '127.0.0.1/8')).toMatchObject({
      scope: C.RT_SCOPE_HOST,
      label: 'lo',
    });
  });

  it('decodes routes of both families, with gateway and metric', async () => {
    const { nl } = open('route-dump');
    const routes = await nl.routes.list();
    expect(routes.find((r) => r.dst === '10.244.1.0/24')).toMatchObject({
      family: 4,
      gateway: '10.244.0.2',
      metric: 100,
      table: 254,
      protocol: C.RTPROT_BOOT,
    });
    expect(routes.find((r) => r.dst === '10.244.0.0/24')).toMatchObject({
      scope: C.RT_SCOPE_LINK,
      prefsrc: '10.244.0.1',
      protocol: C.RTPROT_KERNEL,
    });
    expect(routes.find((r) => r.dst === 'fd00:1::/64')).toMatchObject({ family: 6, gateway: 'fd00::2' });
  });

  it('decodes a permanent ARP entry', async () => {
    const { nl } = open('neigh-dump');
    const n = (await nl.neighbours.list()).find((x) => x.dst === '10.244.0.9');
    expect(n).toMatchObject({ family: C.AF_INET, lladdr: '02:00:00:00:00:09', state: C.NUD_PERMANENT });
  });

  it('decodes a vxlan FDB entry with its remote VTEP', async () => {
    const { nl } = open('fdb-dump');
    const entries = await nl.fdb.list();
    expect(entries.find((e) => e.dst === '10.244.9.2')).toMatchObject({
      family: C.AF_BRIDGE,
      lladdr: '00:00:00:00:00:00',
      flags: C.NTF_SELF,
    });
  });
});
