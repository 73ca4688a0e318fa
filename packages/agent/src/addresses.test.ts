import { describe, expect, it } from 'vitest';
import { ipFamily, networkAddress, parsePodCidr, parsePodCidrs } from './addresses.js';

const invalidCidr = (message: RegExp) =>
  expect.objectContaining({ name: 'AgentError', code: 'INVALID_CIDR', message: expect.stringMatching(message) });

describe('parsePodCidr', () => {
  it("parses through @minicni/ipam and keeps the agent's codes and host-bits hint", () => {
    const s = parsePodCidr(' 10.244.1.0/24\n');
    expect(s).toEqual({ family: 4, base: 0x0af40100n, prefix: 24 });
    expect(networkAddress(parsePodCidr('fd00:10:244:1::/64'))).toBe('fd00:10:244:1::');
    expect(() => parsePodCidr('10.244.1.1/24')).toThrow(
      invalidCidr(/^"10\.244\.1\.1\/24" has host bits set; did you mean 10\.244\.1\.0\/24\?$/),
    );
    expect(() => parsePodCidr('fd00::1/64')).toThrow(invalidCidr(/did you mean fd00::\/64\?/));
    // Other refusals carry ipam's reason, which names the text and what is wrong with it.
    expect(() => parsePodCidr('10.244.1.0/33')).toThrow(invalidCidr(/"10\.244\.1\.0\/33".*prefix length/));
    expect(() => parsePodCidr('10.244.1.0')).toThrow(invalidCidr(/"10\.244\.1\.0" is not in CIDR form/));
    expect(() => parsePodCidr('"10.244.1.0/24"')).toThrow(invalidCidr(/not a dotted-decimal IPv4 address/));
    expect(() => parsePodCidr('::ffff:10.0.0.0/104')).toThrow(invalidCidr(/IPv4-mapped/));
  });

  it('takes at most one pod CIDR per family', () => {
    expect(parsePodCidrs(['10.244.1.0/24', 'fd00:1::/64']).map((s) => s.family)).toEqual([4, 6]);
    expect(parsePodCidrs([])).toEqual([]);
    expect(() => parsePodCidrs(['10.244.1.0/24', '10.244.2.0/24'])).toThrow(
      invalidCidr(/^at most one pod CIDR per address family, got 10\.244\.1\.0\/24, 10\.244\.2\.0\/24$/),
    );
  });
});

describe('ipFamily', () => {
  it('tells IPv4 from IPv6 and refuses what is not one address', () => {
    expect(ipFamily('192.168.50.1')).toBe(4);
    expect(ipFamily('fd00:50::1')).toBe(6);
    expect(ipFamily('::ffff:1.2.3.4')).toBe(6);
    for (const t of ['n1', '', '010.0.0.1', '10.0.0.0/8', 'fe80::1%eth0']) expect(ipFamily(t)).toBeUndefined();
  });
});
