import { describe, expect, it } from 'vitest';
import { cniCodeOf } from '@minicni/testkit';
import { DEFAULTS, parseBridgeConfig } from './config.js';

const seed = {
  cniVersion: '0.1.0',
  name: 'minicni',
  type: 'minicni',
  bridge: 'minicni0',
  mtu: 1500,
  subnet: '10.244.0.0/24',
};

const code = cniCodeOf;

describe('parseBridgeConfig', () => {
  it("keeps the seed's config working, with the pool moved into a host-local style section", () => {
    const c = parseBridgeConfig(seed);
    expect(c.bridge).toBe('minicni0');
    expect(c.mtu).toBe(1500);
    expect(c.ipam).toEqual({
      kind: 'builtin',
      section: { subnet: '10.244.0.0/24', dataDir: DEFAULTS.dataDir },
    });
    expect(c).toMatchObject({ isGateway: true, isDefaultGateway: true, ipMasq: true, hairpinMode: false });
  });

  it('honours the bridge name (the seed always used minicni0) and applies defaults only when absent', () => {
    expect(parseBridgeConfig({ ...seed, bridge: 'cni-custom' }).bridge).toBe('cni-custom');
    expect(parseBridgeConfig({ ...seed, bridge: undefined, mtu: undefined })).toMatchObject({
      bridge: 'minicni0',
      mtu: 1500,
    });
    expect(parseBridgeConfig({ ...seed, ipMasq: false, isGateway: false })).toMatchObject({
      ipMasq: false,
      isGateway: false,
    });
  });

  it('delegates to an external IPAM plugin named in ipam.type', () => {
    expect(
      parseBridgeConfig({ ...seed, subnet: undefined, ipam: { type: 'host-local', subnet: '10.244.1.0/24' } })
        .ipam,
    ).toEqual({
      kind: 'delegate',
      type: 'host-local',
    });
  });

  it.each([
    ['a bridge name that is too long', { bridge: 'a-very-long-bridge-name' }],
    ['a bridge name with a slash', { bridge: '../x' }],
    ['a huge MTU', { mtu: 1_000_000 }],
    ['a fractional MTU', { mtu: 1500.5 }],
    ['an MTU of the wrong type', { mtu: '1500' }],
    ['a boolean of the wrong type', { ipMasq: 'yes' }],
    ['a relative dataDir', { dataDir: 'var/lib' }],
    ['a dataDir escaping with ..', { dataDir: '/var/lib/cni/../../etc' }],
    ['an ipam plugin name with a slash', { ipam: { type: '../../bin/sh' } }],
    ['no pool at all', { subnet: undefined }],
    ['a multicast MAC', { mac: '01:00:5e:00:00:01' }],
    ['a malformed MAC', { mac: 'zz:00:00:00:00:00' }],
    ['a relative log file', { logFile: 'log.txt' }],
    ['an agent socket of the wrong type', { agentSocket: 42 }],
    ['a relative agent socket', { agentSocket: 'run/plugin.sock' }],
    ['an onDemand that is not a boolean', { onDemand: 'yes' }],
    ['a fractional idle time', { onDemandIdleSeconds: 1.5 }],
    ['an idle time of zero', { onDemandIdleSeconds: 0 }],
    ['an idle time over a day', { onDemandIdleSeconds: 86_401 }],
    ['a policy socket of the wrong type', { policySocket: true }],
    ['a relative policy socket', { policySocket: 'run/policy.sock' }],
  ])('rejects %s with code 7', (_what, patch) => {
    expect(code(() => parseBridgeConfig({ ...seed, ...patch }))).toBe(7);
  });
});
