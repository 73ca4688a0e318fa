import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeDone, decodeError } from '../src/codec/ack.js';
import { AttrTable, align4 } from '../src/codec/attributes.js';
import { decodeAddress } from '../src/codec/address.js';
import * as C from '../src/codec/constants.js';
import { decodeLink } from '../src/codec/link.js';
import { decodeMessages } from '../src/codec/message.js';
import { decodeNeighbour } from '../src/codec/neighbour.js';
import { decodeRoute } from '../src/codec/route.js';
import { NetlinkDecodeError } from '../src/errors.js';
import { Netlink } from '../src/netlink.js';
import { datagrams, fakeAddon, loadFixture } from './replay.js';

const FIXTURES = [
  'link-dump',
  'addr-dump',
  'route-dump',
  'neigh-dump',
  'fdb-dump',
  'route-add-bad-gateway',
  'addr-add-exists',
];
const seeds = FIXTURES.flatMap((f) => datagrams(loadFixture(f)));

/** Decodes every message of a datagram with every decoder; only NetlinkDecodeError may escape. */
function decodeAll(datagram: Buffer): void {
  for (const m of decodeMessages(datagram)) {
    for (const decode of [decodeLink, decodeAddress, decodeRoute, decodeNeighbour, decodeError, decodeDone]) {
      try {
        const out = decode(m);
        JSON.stringify(out);
      } catch (err) {
        if (!(err instanceof NetlinkDecodeError)) throw err;
      }
    }
    AttrTable.parse(m.payload.subarray(Math.min(16, m.payload.length)));
  }
}

const tolerant = (datagram: Buffer) => {
  try {
    decodeAll(datagram);
  } catch (err) {
    if (!(err instanceof NetlinkDecodeError)) throw err;
  }
};

/** A recorded datagram with a few bytes overwritten, a length field bent, or cut short. */
const mutated = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
    fc.option(fc.nat(), { nil: undefined }),
    fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xffff })), { nil: undefined }),
  )
  .map(([seed, pokes, cut, bend]) => {
    const b = Buffer.from(seed);
    for (const [at, v] of pokes) b[at % b.length] = v;
    if (bend) {
      const at = bend[0] % Math.max(1, b.length - 1);
      b.writeUInt16LE(bend[1], at - (at % 2));
    }
    return cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
  });

describe('decoder fuzzing', () => {
  it('decodes random bytes to results or NetlinkDecodeError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => tolerant(Buffer.from(bytes))),
      { numRuns: 3000 },
    );
  });

  it('survives mutated real kernel replies', () => {
    fc.assert(fc.property(mutated, tolerant), { numRuns: 5000 });
  });

  it('survives random messages with well-formed headers and random attributes', () => {
    const attr = fc
      .tuple(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 40 }))
      .map(([type, value]) => {
        const b = Buffer.alloc(4 + align4(value.length));
        b.writeUInt16LE(4 + value.length, 0);
        b.writeUInt16LE(type, 2);
        b.set(value, 4);
        return b;
      });
    const message = fc
      .tuple(
        fc.constantFrom(
          C.RTM_NEWLINK,
          C.RTM_NEWADDR,
          C.RTM_NEWROUTE,
          C.RTM_NEWNEIGH,
          C.NLMSG_ERROR,
          C.NLMSG_DONE,
        ),
        fc.integer({ min: 0, max: 0xffff }),
        fc.uint8Array({ minLength: 0, maxLength: 24 }),
        fc.array(attr, { maxLength: 6 }),
      )
      .map(([type, flags, fixed, attrs]) => {
        const body = Buffer.concat([
          Buffer.from(fixed),
          Buffer.alloc((4 - (fixed.length % 4)) % 4),
          ...attrs,
        ]);
        const h = Buffer.alloc(16);
        h.writeUInt32LE(16 + body.length, 0);
        h.writeUInt16LE(type, 4);
        h.writeUInt16LE(flags, 6);
        return Buffer.concat([h, body]);
      });
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 4 }), (msgs) => tolerant(Buffer.concat(msgs))),
      {
        numRuns: 3000,
      },
    );
  });

  it('lets a whole request fail only with typed errors when the kernel reply is garbage', async () => {
    await fc.assert(
      fc.asyncProperty(mutated, async (datagram) => {
        const nl = Netlink.open({ addon: fakeAddon([datagram]) });
        const err = await nl.links.list().then(
          () => undefined,
          (e: unknown) => e,
        );
        if (err !== undefined)
          expect((err as { code?: unknown }).code).toMatch(/^(ERR_NETLINK_DECODE|E[A-Z0-9]+)$/);
      }),
      { numRuns: 1000 },
    );
  });
});
