import { describe, expect, it } from 'vitest';
import { CniError, ErrorCode, type PluginHandlers } from '@minicni/spec';
import { IpamError } from '@minicni/ipam';
import { NetlinkError } from '@minicni/netlink';
import { asCniError, CHECK_MISMATCH, checkFailed, withCniErrors } from './errors.js';
import { ReservationMismatch } from './pod-ipam.js';

const codeOf = (err: unknown) => (err instanceof CniError ? err.code : undefined);

describe('asCniError', () => {
  it('maps IPAM codes: exhaustion and conflicts to 11, store failures to 5, the rest to 7', () => {
    for (const c of ['POOL_EXHAUSTED', 'ATTEMPTS_EXHAUSTED', 'ADDRESS_IN_USE'] as const)
      expect(codeOf(asCniError(new IpamError(c, 'x')))).toBe(ErrorCode.TryAgainLater);
    for (const c of ['STORE_IO', 'STORE_CORRUPT', 'STORE_CLOSED'] as const)
      expect(codeOf(asCniError(new IpamError(c, 'x')))).toBe(ErrorCode.IoFailure);
    const bad = asCniError(new IpamError('INVALID_SUBNET', 'subnet "x" is not a CIDR'));
    expect(bad).toMatchObject({
      code: ErrorCode.InvalidNetworkConfig,
      message: 'subnet "x" is not a CIDR',
      details: 'INVALID_SUBNET',
    });
  });

  it('maps netlink errors to 5 with the errno name as details, and keeps CNI errors as they are', () => {
    const nl = new NetlinkError({ errno: 17, operation: 'create link' });
    expect(asCniError(nl)).toMatchObject({ code: ErrorCode.IoFailure, details: 'EEXIST' });
    const cni = new CniError(ErrorCode.InvalidNetns, 'gone');
    expect(asCniError(cni)).toBe(cni);
  });

  it('turns a reservation mismatch into a CHECK failure (100)', () => {
    const e = asCniError(new ReservationMismatch('holds 10.0.0.2, prevResult says 10.0.0.3'));
    expect(e).toMatchObject({
      code: CHECK_MISMATCH,
      message: 'CHECK failed: holds 10.0.0.2, prevResult says 10.0.0.3',
    });
    expect(checkFailed('x').code).toBe(CHECK_MISMATCH);
  });

  it("maps a plugin's own codes when asked, and leaves unknown errors for runPlugin", () => {
    const lock = Object.assign(new Error('lock busy'), { code: 'LOCK_TIMEOUT' });
    expect(asCniError(lock, { LOCK_TIMEOUT: ErrorCode.TryAgainLater })).toMatchObject({
      code: 11,
      details: 'LOCK_TIMEOUT',
    });
    expect(asCniError(lock)).toBe(lock);
    expect(asCniError('text')).toBe('text');
    // An inherited key is not a mapping.
    const proto = Object.assign(new Error('p'), { code: 'toString' });
    expect(asCniError(proto, {})).toBe(proto);
  });
});

describe('withCniErrors', () => {
  it('maps what every verb throws, sync or async, and keeps the verbs a plugin leaves out', async () => {
    const h: PluginHandlers = {
      add: () => {
        throw new IpamError('POOL_EXHAUSTED', 'pool exhausted: all 3 addresses');
      },
      del: async () => {
        throw new IpamError('STORE_IO', 'disk');
      },
      check: async () => {},
    };
    const w = withCniErrors(h);
    await expect(w.add({} as never)).rejects.toMatchObject({ code: ErrorCode.TryAgainLater });
    await expect(w.del({} as never)).rejects.toMatchObject({ code: ErrorCode.IoFailure });
    await expect(w.check({} as never)).resolves.toBeUndefined();
    expect('status' in w).toBe(false);
    expect('gc' in w).toBe(false);
    const g = withCniErrors({ ...h, gc: () => Promise.reject(new Error('boom')) });
    await expect(g.gc!({} as never)).rejects.toThrow('boom');
  });
});
