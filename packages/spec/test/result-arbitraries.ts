import fc from 'fast-check';
import type { Dns, Interface, IpConfig, Result, Route } from '@minicni/spec';

const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const hextet = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
const ipv6 = fc.array(hextet, { minLength: 8, maxLength: 8 }).map((g) => g.join(':'));
export const ip = fc.oneof(ipv4, ipv6);
const cidr4 = fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`);
const cidr6 = fc.tuple(ipv6, fc.integer({ min: 0, max: 128 })).map(([a, p]) => `${a}/${p}`);
const mac = fc
  .array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 })
  .map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':'));
const name = fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/);
const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });

const iface: fc.Arbitrary<Interface> = fc.record(
  {
    name,
    mac,
    sandbox: fc.constantFrom('/run/netns/a', '/proc/1/ns/net'),
    mtu: fc.integer({ min: 68, max: 65535 }),
    socketPath: fc.constant('/run/sock'),
    pciID: fc.constant('0000:00:01.0'),
  },
  { requiredKeys: ['name'] },
);

const route = (dst: fc.Arbitrary<string>, gw: fc.Arbitrary<string>): fc.Arbitrary<Route> =>
  fc.record(
    { dst, gw, mtu: u32, advmss: u32, priority: u32, table: u32, scope: fc.integer({ min: 0, max: 255 }) },
    { requiredKeys: ['dst'] },
  );

const dns: fc.Arbitrary<Dns> = fc.record(
  {
    nameservers: fc.array(ip, { maxLength: 3 }),
    domain: name,
    search: fc.array(name, { maxLength: 3 }),
    options: fc.array(fc.constantFrom('ndots:5', 'rotate'), { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

/** Arbitrary valid 1.1.0 results (interface indexes always point inside `interfaces`). */
export const latestResult: fc.Arbitrary<Result> = fc
  .array(iface, { maxLength: 3 })
  .chain((interfaces) => {
    const index = interfaces.length
      ? fc.integer({ min: 0, max: interfaces.length - 1 })
      : fc.constant(undefined);
    const ipConf = (address: fc.Arbitrary<string>, gw: fc.Arbitrary<string>): fc.Arbitrary<IpConfig> =>
      fc
        .record({ address, gateway: fc.option(gw, { nil: undefined }), interface: index })
        .map(
          (r) =>
            Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as IpConfig,
        );
    return fc.record(
      {
        cniVersion: fc.constant('1.1.0' as const),
        interfaces: fc.constant(interfaces),
        ips: fc.array(fc.oneof(ipConf(cidr4, ipv4), ipConf(cidr6, ipv6)), { maxLength: 4 }),
        routes: fc.array(fc.oneof(route(cidr4, ipv4), route(cidr6, ipv6)), { maxLength: 4 }),
        dns,
      },
      { requiredKeys: ['cniVersion', 'interfaces'] },
    );
  })
  .map((r) => (r.interfaces?.length === 0 ? dropKey(r, 'interfaces') : r));

function dropKey<T extends object>(o: T, key: keyof T): T {
  const copy = { ...o };
  delete copy[key];
  return copy;
}
