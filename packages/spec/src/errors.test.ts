import { describe, expect, it } from 'vitest';
import { CniError, ErrorCode, SPEC_ERROR_TO_CNI, SpecError, toCniError } from './errors.js';

describe('errors', () => {
  it('CniError serialises as the spec error object', () => {
    const e = new CniError(ErrorCode.TryAgainLater, 'busy', 'lock held');
    expect(e.toJSON('0.4.0')).toEqual({ cniVersion: '0.4.0', code: 11, msg: 'busy', details: 'lock held' });
    expect(new CniError(7, 'bad').toJSON('1.0.0')).toEqual({ cniVersion: '1.0.0', code: 7, msg: 'bad' });
    // Inside JSON.stringify the argument is a property key, not a version.
    expect(JSON.parse(JSON.stringify({ e }))).toEqual({
      e: { cniVersion: '1.1.0', code: 11, msg: 'busy', details: 'lock held' },
    });
  });

  it('maps library errors once, by code, and hides everything else behind 999', () => {
    expect(toCniError(new SpecError('ENV_MISSING', 'x')).code).toBe(4);
    expect(toCniError(new SpecError('CONFIG_DECODE', 'x')).code).toBe(6);
    expect(toCniError(new SpecError('RUNTIME_CONFIG_INVALID', 'x')).code).toBe(7);
    const internal = toCniError(new TypeError('oops'));
    expect([internal.code, internal.message, internal.details]).toEqual([999, 'oops', undefined]);
    expect(toCniError({ weird: 1 }).message).toBe('internal error: {"weird":1}');
    const same = new CniError(50, 'down');
    expect(toCniError(same)).toBe(same);
    for (const code of Object.values(SPEC_ERROR_TO_CNI)) expect(Number.isInteger(code)).toBe(true);
  });
});
