import { describe, expect, it } from 'vitest';
import { cniCodeOf } from '@minicni/testkit';
import { DEFAULT_MTU, parsePtpConfig } from './config.js';

describe('parsePtpConfig', () => {
  it('takes the host-local style fields of ipam type "minicni" as the built-in allocator section', () => {
    const section = {
      subnet: '10.244.50.0/24',
      dataDir: '/var/lib/cni/networks',
      routes: [{ dst: '0.0.0.0/0' }],
    };
    expect(parsePtpConfig({ name: 'p', ipam: { type: 'minicni', ...section } })).toEqual({
      mtu: DEFAULT_MTU,
      ipam: { kind: 'builtin', section },
    });
  });

  it('delegates to the IPAM plugin named by ipam.type', () => {
    const cfg = parsePtpConfig({ mtu: 9000, ipam: { type: 'host-local', subnet: '10.244.50.0/24' } });
    expect(cfg).toEqual({
      mtu: 9000,
      ipam: { kind: 'delegate', type: 'host-local' },
      policySocket: undefined,
    });
  });

  it.each([
    ['no ipam', {}],
    ['ipam not an object', { ipam: 'host-local' }],
    ['ipam an array', { ipam: [] }],
    ['ipam.type a path', { ipam: { type: '../../bin/sh' } }],
    ['ipam.type not a string', { ipam: { type: 7 } }],
    ['ipam without type', { ipam: { subnet: '10.244.50.0/24' } }],
    ['mtu a string', { mtu: '1500', ipam: { type: 'minicni' } }],
    ['mtu too small', { mtu: 67, ipam: { type: 'minicni' } }],
    ['mtu too large', { mtu: 65536, ipam: { type: 'minicni' } }],
    ['mtu fractional', { mtu: 1500.5, ipam: { type: 'minicni' } }],
    ['policySocket relative', { policySocket: 'policy.sock', ipam: { type: 'minicni' } }],
    ['policySocket not a string', { policySocket: 1, ipam: { type: 'minicni' } }],
  ])('rejects %s with code 7', (_, raw) => {
    expect(cniCodeOf(() => parsePtpConfig(raw))).toBe(7);
  });

  it('rejects ipMasq: true as an unsupported field (code 2), accepts false', () => {
    expect(cniCodeOf(() => parsePtpConfig({ ipMasq: true, ipam: { type: 'minicni' } }))).toBe(2);
    expect(parsePtpConfig({ ipMasq: false, ipam: { type: 'minicni' } }).ipam).toEqual({
      kind: 'builtin',
      section: {},
    });
  });

  it('names the offending field in the message', () => {
    expect(() => parsePtpConfig({ mtu: 1e6, ipam: { type: 'minicni' } })).toThrow(
      /"mtu" must be an integer from 68 to 65535, got 1000000/,
    );
  });
});
