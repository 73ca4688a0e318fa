import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  announcePod,
  announcementLength,
  decodeAnnouncement,
  decodeReply,
  encodeAnnouncement,
  handOverPod,
  encodeReply,
  HANDOFF_VERSION,
  HandoffError,
  MAX_HANDOFF_BODY,
  serveHandoff,
  type PodAnnouncement,
} from './handoff.js';

const POD: PodAnnouncement = { namespace: 'x', name: 'web-0', ips: ['10.244.1.5', 'fd00:1::5'] };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof HandoffError ? e.code : `not a HandoffError: ${String(e)}`;
  }
  return undefined;
}

async function rejection(p: Promise<unknown>): Promise<HandoffError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HandoffError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

/** A frame with any header version and raw body. */
function frame(body: Buffer, version = HANDOFF_VERSION, len = body.length): Buffer {
  const h = Buffer.alloc(10);
  h.write('MCNP');
  h.writeUInt16BE(version, 4);
  h.writeUInt32BE(len, 6);
  return Buffer.concat([h, body]);
}

describe('hand-off codec', () => {
  it('round-trips an announcement and a reply', () => {
    const buf = encodeAnnouncement({ ...POD, containerId: 'abc' });
    expect(buf.subarray(0, 4).toString()).toBe('MCNP');
    expect(buf.readUInt16BE(4)).toBe(HANDOFF_VERSION);
    expect(announcementLength(buf)).toBe(buf.length);
    expect(decodeAnnouncement(buf)).toEqual({ ...POD, containerId: 'abc' });
    expect(decodeReply(encodeReply({ ok: true, message: 'applied' }))).toEqual({
      ok: true,
      message: 'applied',
    });
    expect(decodeReply(encodeReply({ ok: false, message: 'no' }))).toEqual({ ok: false, message: 'no' });
  });

  it('asks for more bytes at every prefix and calls a prefix truncated', () => {
    const buf = encodeAnnouncement(POD);
    for (let i = 0; i < buf.length; i++) {
      const part = buf.subarray(0, i);
      expect(announcementLength(part)).toBeGreaterThan(i);
      expect(codeOf(() => decodeAnnouncement(part))).toBe('TRUNCATED');
    }
    const reply = encodeReply({ ok: true, message: 'applied' });
    for (let i = 0; i < reply.length; i++)
      expect(codeOf(() => decodeReply(reply.subarray(0, i)))).toBe('TRUNCATED');
  });

  it('refuses oversized, foreign, other-version and trailing bytes', () => {
    expect(
      codeOf(() => announcementLength(frame(Buffer.alloc(0), HANDOFF_VERSION, MAX_HANDOFF_BODY + 1))),
    ).toBe('TOO_LARGE');
    expect(
      codeOf(() =>
        encodeAnnouncement({
          ...POD,
          name: `${'a'.repeat(250)}`,
          containerId: 'c'.repeat(256),
          ips: Array(8).fill('10.244.1.5'),
        }),
      ),
    ).toBe(undefined);
    expect(codeOf(() => announcementLength(Buffer.from('MCNI\0\x02')))).toBe('BAD_FRAME');
    expect(codeOf(() => announcementLength(Buffer.from('GET /')))).toBe('BAD_FRAME');
    expect(codeOf(() => announcementLength(frame(Buffer.from('{}'), 2)))).toBe('VERSION');
    expect(codeOf(() => decodeReply(encodeReply({ ok: true, message: '' }, 7)))).toBe('VERSION');
    expect(codeOf(() => decodeAnnouncement(Buffer.concat([encodeAnnouncement(POD), Buffer.from('x')])))).toBe(
      'BAD_FRAME',
    );
    expect(
      codeOf(() => decodeReply(Buffer.concat([encodeReply({ ok: true, message: '' }), Buffer.from('x')]))),
    ).toBe('BAD_FRAME');
    const badStatus = encodeReply({ ok: true, message: '' });
    badStatus.writeUInt8(9, 6);
    expect(codeOf(() => decodeReply(badStatus))).toBe('BAD_FRAME');
  });

  it('refuses bodies that are not valid announcements', () => {
    const bodies = [
      'not json',
      '[]',
      '{"namespace":"X","name":"a","ips":["10.244.1.5"]}',
      '{"namespace":"x","name":"a_b","ips":["10.244.1.5"]}',
      '{"namespace":"x","name":"a","ips":[]}',
      '{"namespace":"x","name":"a","ips":["10.244.1.5/24"]}',
      '{"namespace":"x","name":"a","ips":["10.244.1.5"],"containerId":5}',
      `{"namespace":"${'a'.repeat(64)}","name":"a","ips":["10.244.1.5"]}`,
    ];
    for (const b of bodies)
      expect(
        codeOf(() => decodeAnnouncement(frame(Buffer.from(b)))),
        b,
      ).toBe('INVALID');
    expect(codeOf(() => encodeAnnouncement({ ...POD, ips: ['nope'] }))).toBe('INVALID');
  });
});

describe('hand-off over a unix socket', () => {
  let dir: string;
  let socket: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mct-handoff-'));
    socket = join(dir, 'run', 'policy.sock');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('answers applied once onAnnounce resolves, and refused with its reason', async () => {
    const seen: PodAnnouncement[] = [];
    await using server = await serveHandoff({
      socketPath: socket,
      onAnnounce: async (a) => {
        seen.push(a);
        await new Promise((r) => setTimeout(r, 20));
        if (a.name === 'bad') throw new Error('API unreachable');
      },
    });
    await announcePod({ socket, ...POD, containerId: 'c1' });
    expect(seen).toEqual([{ ...POD, containerId: 'c1' }]);
    const e = await rejection(announcePod({ socket, namespace: 'x', name: 'bad', ips: ['10.244.1.6'] }));
    expect(e.code).toBe('REFUSED');
    expect(e.message).toMatch(/x\/bad: API unreachable/);
    expect(server.answered).toBe(2);
  });

  it('times out on a slow agent, and the server refuses what it cannot answer in time', async () => {
    const lines: string[] = [];
    await using _server = await serveHandoff({
      socketPath: socket,
      onAnnounce: () => new Promise(() => {}),
      answerTimeoutMs: 100,
      log: (l) => lines.push(l),
    });
    const slow = await rejection(announcePod({ socket, ...POD, timeoutMs: 30 }));
    expect(slow.code).toBe('TIMEOUT');
    const refused = await rejection(announcePod({ socket, ...POD, timeoutMs: 2000 }));
    expect(refused.code).toBe('REFUSED');
    expect(refused.message).toMatch(/no ruleset applied within 100 ms/);
  });

  it('is unreachable without a socket or a listener, and untrusted when others may connect', async () => {
    expect((await rejection(announcePod({ socket, ...POD }))).code).toBe('UNREACHABLE');
    const s = await serveHandoff({ socketPath: socket, onAnnounce: async () => {} });
    chmodSync(socket, 0o666);
    expect((await rejection(announcePod({ socket, ...POD }))).code).toBe('UNTRUSTED');
    chmodSync(socket, 0o600);
    await s.close();
    // The agent stopped: the socket is gone with it.
    expect((await rejection(announcePod({ socket, ...POD }))).code).toBe('UNREACHABLE');
  });

  it('makes the socket 0600 and answers a truncated or foreign frame with a refusal', async () => {
    await using _server = await serveHandoff({ socketPath: socket, onAnnounce: async () => {} });
    const { statSync } = await import('node:fs');
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    const send = (bytes: Buffer) =>
      new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const c = createConnection(socket, () => c.end(bytes));
        c.on('data', (d: Buffer) => chunks.push(d));
        c.on('end', () => resolve(Buffer.concat(chunks)));
        c.on('error', reject);
      });
    const full = encodeAnnouncement(POD);
    const cut = decodeReply(await send(full.subarray(0, full.length - 3)));
    expect(cut).toMatchObject({ ok: false, message: expect.stringMatching(/cut at/) });
    const other = await send(frame(Buffer.from('{}'), 9));
    expect(other.readUInt16BE(4)).toBe(HANDOFF_VERSION);
    expect(decodeReply(other)).toMatchObject({ ok: false, message: expect.stringMatching(/version 9/) });
    const big = decodeReply(await send(frame(Buffer.alloc(0), HANDOFF_VERSION, MAX_HANDOFF_BODY + 1)));
    expect(big.message).toMatch(/over/);
  });
});

describe('handOverPod: the hand-off as a plugin ADD makes it', () => {
  const ctx = (args: Record<string, string>) => {
    const log: string[] = [];
    return {
      log,
      ctx: {
        args: { ignoreUnknown: true, pairs: [], ...args },
        containerId: 'ctr1',
        log: (m: string, f?: Record<string, unknown>) => void log.push(`${m} ${JSON.stringify(f)}`),
      },
    };
  };
  const k8s = { k8sPodNamespace: 'x', k8sPodName: 'web-0' };

  it('announces the pod from CNI_ARGS with its addresses, prefixes dropped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mct-handoff-'));
    try {
      const socket = join(dir, 'policy.sock');
      const seen: PodAnnouncement[] = [];
      await using _s = await serveHandoff({ socketPath: socket, onAnnounce: async (a) => void seen.push(a) });
      const c = ctx(k8s);
      const r = await handOverPod(c.ctx, { socket, ips: ['10.244.1.5/24', 'fd00:1::5/64'] });
      expect(r).toEqual({ outcome: 'applied' });
      expect(seen).toEqual([{ ...POD, containerId: 'ctr1' }]);
      expect(c.log.join('\n')).toMatch(/policy hand-off applied/);
      const refused = await serveHandoff({
        socketPath: join(dir, 'no.sock'),
        onAnnounce: async () => {
          throw new Error('not synced');
        },
      });
      const f = await handOverPod(c.ctx, { socket: refused.socketPath, ips: ['10.244.1.5/24'] });
      expect(f).toMatchObject({
        outcome: 'failed',
        code: 'REFUSED',
        reason: expect.stringMatching(/not synced/),
      });
      await refused.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('skips without a socket or the K8S_* keys, and never throws when no agent listens', async () => {
    expect(await handOverPod(ctx(k8s).ctx, { socket: undefined, ips: ['10.244.1.5/24'] })).toMatchObject({
      outcome: 'skipped',
    });
    const none = await handOverPod(ctx({}).ctx, {
      socket: '/run/mct-none/policy.sock',
      ips: ['10.244.1.5/24'],
    });
    expect(none).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/K8S_POD_NAMESPACE/) });
    const gone = await handOverPod(ctx(k8s).ctx, {
      socket: '/run/mct-none/policy.sock',
      ips: ['10.244.1.5/24'],
    });
    expect(gone).toMatchObject({ outcome: 'failed', code: 'UNREACHABLE' });
  });
});
