import { describe, expect, it } from 'vitest';
import {
  BUILD_MISMATCH,
  buildMismatchReply,
  encodeResponse,
  parseRequest,
  PROTOCOL_VERSION,
  requestLengthSoFar,
  versionReply,
  WireVersionError,
} from './wire.js';

/** The 6-byte header every frame starts with: "MCNI", u16 version. */
function head(version = PROTOCOL_VERSION): Buffer {
  const b = Buffer.from('MCNI\0\0');
  b.writeUInt16BE(version, 4);
  return b;
}

function request(env: string[], stdin: string, build = ''): Buffer {
  const e = Buffer.from(env.map((x) => `${x}\0`).join(''));
  const s = Buffer.from(stdin);
  const n = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    return b;
  };
  const bl = Buffer.alloc(2);
  bl.writeUInt16BE(build.length);
  return Buffer.concat([head(), bl, Buffer.from(build), n(e.length), e, n(s.length), s]);
}

describe('shim wire format', () => {
  it('parses a complete request and keeps only CNI_* variables', () => {
    const r = parseRequest(
      request(['CNI_COMMAND=ADD', 'PATH=/evil', 'CNI_ARGS=A=1;B=2', 'CNI_=x', 'LD_PRELOAD=/x.so'], '{"a":1}'),
    );
    expect(r?.env).toEqual({ CNI_COMMAND: 'ADD', CNI_ARGS: 'A=1;B=2' });
    expect(r?.stdin.toString()).toBe('{"a":1}');
    expect(r?.build).toBe('');
  });

  it("carries the shim's build id, a plain name of at most 64 bytes", () => {
    expect(parseRequest(request(['CNI_COMMAND=ADD'], '{}', 'abc123.x-y_z'))?.build).toBe('abc123.x-y_z');
    expect(() => parseRequest(request([], '{}', 'a/b'))).toThrow(/not a plain name/);
    expect(() => parseRequest(request([], '{}', 'x'.repeat(65)))).toThrow(/build id of 65 bytes/);
    // The refusal a shim of another build gets: our build id after the reserved status word.
    const refusal = buildMismatchReply('b1');
    expect(refusal.subarray(0, 6)).toEqual(head());
    expect(refusal.readUInt32BE(6)).toBe(BUILD_MISMATCH);
    expect(refusal.readUInt32BE(10)).toBe(2);
    expect(refusal.subarray(14).toString()).toBe('b1');
  });

  it('waits for missing bytes at every point of the request', () => {
    const full = request(['CNI_COMMAND=DEL'], '{"cniVersion":"1.0.0"}');
    for (let i = 0; i < full.length; i++) expect(parseRequest(full.subarray(0, i))).toBeUndefined();
    expect(parseRequest(full)).toBeDefined();
  });

  it('knows from the length fields how many bytes the request has at least', () => {
    const full = request(
      ['CNI_COMMAND=ADD', 'CNI_CONTAINERID=c1'],
      '{"cniVersion":"1.1.0","name":"n"}',
      'b7',
    );
    const buildEnd = 8 + 2;
    const envEnd = buildEnd + 4 + full.readUInt32BE(buildEnd);
    for (let i = 0; i < full.length; i++) {
      const need = requestLengthSoFar(full.subarray(0, i));
      // Always more than what has come, never more than the request: the server waits for
      // exactly the bytes it has to, and parses again only then.
      expect(need).toBeGreaterThan(i);
      expect(need).toBeLessThanOrEqual(full.length);
      expect(need).toBe(
        i < 8 ? 8 : i < buildEnd + 4 ? buildEnd + 4 : i < envEnd + 4 ? envEnd + 4 : full.length,
      );
    }
    expect(requestLengthSoFar(full)).toBe(full.length);
  });

  it('rejects a wrong magic, trailing bytes and oversized blocks', () => {
    expect(() => parseRequest(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/not a minicni shim request/);
    expect(() => parseRequest(Buffer.from('X'))).toThrow(/not a minicni shim request/);
    expect(() => parseRequest(Buffer.concat([request([], '{}'), Buffer.from('x')]))).toThrow(/after the end/);
    const big = Buffer.concat([head(), Buffer.alloc(2), Buffer.from([0x7f, 0xff, 0xff, 0xff])]);
    expect(() => parseRequest(big)).toThrow(/over the limit/);
    const bigStdin = Buffer.concat([head(), Buffer.alloc(2), Buffer.alloc(4), Buffer.from([0x7f, 0, 0, 0])]);
    expect(() => parseRequest(bigStdin)).toThrow(/over the limit/);
  });

  it('encodes the magic, status, stdout and stderr with their lengths', () => {
    const b0 = encodeResponse(1, '{"code":7}', 'ünï');
    expect(b0.subarray(0, 6)).toEqual(head());
    const b = b0.subarray(6);
    expect(b.readUInt32BE(0)).toBe(1);
    const outLen = b.readUInt32BE(4);
    expect(b.toString('utf8', 8, 8 + outLen)).toBe('{"code":7}');
    const errLen = b.readUInt32BE(8 + outLen);
    expect(b.toString('utf8', 12 + outLen, 12 + outLen + errLen)).toBe('ünï');
    expect(b.length).toBe(12 + outLen + errLen);
  });

  it('carries the protocol version in every frame and knows another version from garbage', () => {
    expect(PROTOCOL_VERSION).toBe(3);
    expect(encodeResponse(0, '', '').readUInt16BE(4)).toBe(PROTOCOL_VERSION);
    // The first request of protocol 1 ("MCNI1\n") reads as version 0x310a: another version, not garbage.
    const v1 = Buffer.concat([Buffer.from('MCNI1\n'), Buffer.alloc(8)]);
    expect(() => requestLengthSoFar(v1)).toThrow(WireVersionError);
    expect(() => parseRequest(request(['CNI_COMMAND=ADD'], '{}').fill(0, 4, 6))).toThrow(
      expect.objectContaining({ version: 0, message: 'the shim speaks protocol 0, this server 3' }),
    );
    // Until the version bytes are in, a request of any version may still come.
    expect(requestLengthSoFar(Buffer.from('MCNI'))).toBe(8);
    // Another version's answer is our header alone: the shim falls back and runs nothing here.
    expect(versionReply()).toEqual(head());
  });
});
