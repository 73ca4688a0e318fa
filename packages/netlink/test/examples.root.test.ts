import { run } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';

// The examples import the built package (`@minicni/netlink` resolves to dist/), so they run
// exactly as a reader would run them; each makes and deletes its own netns.
const example = (name: string) =>
  run(process.execPath, [new URL(`../examples/${name}`, import.meta.url).pathname]);

describe('examples', () => {
  it('bridge.mjs makes a bridge with its gateway address', async () => {
    expect(await example('bridge.mjs')).toMatch(
      /^cni0 \(index \d+, [0-9a-f:]{17}, mtu 1450, up true\): 10\.244\.0\.1\/24$/m,
    );
  });

  it('veth-into-netns.mjs sets up and tears down a pod veth', async () => {
    const out = await example('veth-into-netns.mjs');
    expect(out).toMatch(/host end veth[0-9a-f]{8} .* pod end eth0/);
    expect(out).toContain('pod route: 0.0.0.0/0 via 10.244.0.1');
  });

  it('vxlan.mjs programs a vxlan device, FDB, neighbour and route', async () => {
    const out = await example('vxlan.mjs');
    expect(out).toContain('vxlan0: vni 1, local 10.244.250.1, port 4789');
    expect(out).toContain('fdb: 00:00:00:00:00:00 dst 10.244.250.2');
    expect(out).toContain('route: 10.244.1.0/24 via 10.244.1.0 onlink');
  });
});
