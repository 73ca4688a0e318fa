import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { align4 } from '../src/codec/attributes.js';
import type { NativeAddon } from '../src/native.js';

export interface Fixture {
  description: string;
  requests: string[];
  replies: string[];
  error?: { code: string; message: string };
}

export function loadFixture(name: string): Fixture {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as Fixture;
}

export const datagrams = (f: Fixture): Buffer[] => f.replies.map((h) => Buffer.from(h, 'hex'));

/** Rewrites every message header's sequence number in a datagram. */
export function withSeq(datagram: Buffer, seq: number): Buffer {
  const out = Buffer.from(datagram);
  for (let at = 0; at + 16 <= out.length;) {
    const len = out.readUInt32LE(at);
    out.writeUInt32LE(seq, at + 8);
    if (len < 16) break;
    at += align4(len);
  }
  return out;
}

export interface FakeAddon extends NativeAddon {
  sent: Buffer[];
  closed: number[];
}

/**
 * A syscall layer that answers from a queue of datagrams, stamped with the sequence number of
 * the last request (as the kernel would), and times out (EAGAIN) when the queue is empty. Its
 * send and recv settle on a later microtask, as the threadpool-backed ones do.
 */
export function fakeAddon(queue: Buffer[], opts: { stampSeq?: boolean } = {}): FakeAddon {
  let seq = 0;
  const fake: FakeAddon = {
    sent: [],
    closed: [],
    socket: () => 7,
    setsockoptInt: () => undefined,
    async send(_fd, bytes) {
      const b = Buffer.from(bytes);
      fake.sent.push(b);
      seq = b.readUInt32LE(8);
      return b.length;
    },
    async recv() {
      const next = queue.shift();
      if (!next)
        throw Object.assign(new Error('recv: Resource temporarily unavailable'), {
          errno: constants.errno.EAGAIN,
          syscall: 'recv',
        });
      return opts.stampSeq === false ? next : withSeq(next, seq);
    },
    close(fd) {
      fake.closed.push(fd);
    },
    openInNetns: () => {
      throw Object.assign(new Error('open: No such file or directory'), {
        errno: constants.errno.ENOENT,
        syscall: 'open',
      });
    },
    netnsCreate: () => undefined,
    netnsDelete: () => undefined,
  };
  return fake;
}
