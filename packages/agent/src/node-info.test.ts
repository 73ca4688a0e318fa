import { describe, expect, it } from 'vitest';
import { checkNodeInfo, nodeInfoFromKube } from './node-info.js';

describe('nodeInfoFromKube', () => {
  it('prefers spec.podCIDRs, falls back to spec.podCIDR, and keeps only InternalIPs', () => {
    const dual = nodeInfoFromKube({
      metadata: { name: 'n1' },
      spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'] },
      status: {
        addresses: [
          { type: 'InternalIP', address: '192.168.50.1' },
          { type: 'ExternalIP', address: '203.0.113.1' },
          { type: 'Hostname', address: 'n1' },
          { type: 'InternalIP', address: 'fd00:50::1' },
        ],
      },
    });
    expect(dual).toEqual({
      name: 'n1',
      internalIPs: ['192.168.50.1', 'fd00:50::1'],
      podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'],
    });
    const legacy = nodeInfoFromKube({ metadata: { name: 'n2' }, spec: { podCIDR: '10.244.2.0/24' } });
    expect(legacy.podCIDRs).toEqual(['10.244.2.0/24']);
    expect(nodeInfoFromKube({ metadata: { name: 'n3' } }).podCIDRs).toEqual([]);
    expect(() => nodeInfoFromKube({ spec: {} })).toThrow(expect.objectContaining({ code: 'INVALID_NODE' }));
  });
});

describe('checkNodeInfo', () => {
  it('canonicalises addresses and pod CIDRs and names the node in every refusal', () => {
    expect(
      checkNodeInfo({ name: 'a', internalIPs: ['FD00:50:0::1'], podCIDRs: ['fd00:10:244:0001::/64'] }),
    ).toEqual({ name: 'a', internalIPs: ['fd00:50::1'], podCIDRs: ['fd00:10:244:1::/64'] });
    const bad = (raw: Parameters<typeof checkNodeInfo>[0], msg: RegExp) =>
      expect(() => checkNodeInfo(raw)).toThrow(
        expect.objectContaining({ code: 'INVALID_NODE', message: expect.stringMatching(msg) }),
      );
    bad({ name: 'a', internalIPs: ['fe80::1%eth0'] }, /^node "a": "fe80::1%eth0" is not an IP address$/);
    bad({ name: 'a', podCIDRs: ['10.244.1.1/24'] }, /^node "a": .*did you mean 10\.244\.1\.0\/24\?$/);
    bad(
      { name: 'a', podCIDRs: ['10.244.1.0/24', '10.244.2.0/24'] },
      /^node "a": at most one pod CIDR per address family/,
    );
  });
});
