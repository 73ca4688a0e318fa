import { describe, expect, it } from 'vitest';
import { networkAddress, parsePodCidr, parsePodCidrs } from './addresses.js';

function refused(parse: () => unknown, message: RegExp): void {
  expect(parse).toThrow(
    expect.objectContaining({
      name: 'AgentError',
      code: 'INVALID_CIDR',
      message: expect.stringMatching(message),
    }),
  );
}

describe('parsePodCidr', () => {
  it("parses through @minicni/ipam and keeps the agent's codes and host-bits hint", () => {
    const s = parsePodCidr(' 10.244.1.0/24\n');
    expect(s).toEqual({ family: 4, base: 0x0af40100n, prefix: 24 });
    expect(networkAddress(parsePodCidr('fd00:10:244:1::/64'))).toBe('fd00:10:244:1::');
    refused(
      () => parsePodCidr('10.244.1.1/24'),
      /^"10\.244\.1\.1\/24" has host bits set; did you mean 10\.244\.1\.0\/24\?$/,
    );
    refused(() => parsePodCidr('fd00::1/64'), /did you mean fd00::\/64\?/);
    // Other refusals carry ipam's reason, which names the text and what is wrong with it.
    refused(() => parsePodCidr('10.244.1.0/33'), /"10\.244\.1\.0\/33".*prefix length/);
    refused(() => parsePodCidr('10.244.1.0'), /"10\.244\.1\.0" is not in CIDR form/);
    refused(() => parsePodCidr('"10.244.1.0/24"'), /not a dotted-decimal IPv4 address/);
    refused(() => parsePodCidr('::ffff:10.0.0.0/104'), /IPv4-mapped/);
  });

  it('takes at most one pod CIDR per family', () => {
    expect(parsePodCidrs(['10.244.1.0/24', 'fd00:1::/64']).map((s) => s.family)).toEqual([4, 6]);
    expect(parsePodCidrs([])).toEqual([]);
    refused(
      () => parsePodCidrs(['10.244.1.0/24', '10.244.2.0/24']),
      /^at most one pod CIDR per address family, got 10\.244\.1\.0\/24, 10\.244\.2\.0\/24$/,
    );
  });
});
