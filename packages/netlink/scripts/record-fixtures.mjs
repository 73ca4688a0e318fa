// Records real kernel replies as hex fixtures for the codec's unit tests. Run once, as root,
// after a build: `node scripts/record-fixtures.mjs`. Works inside two throwaway namespaces it
// creates and deletes; the machine's own network is not touched.
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { Netlink, createNetns, deleteNetns, nativeAddon } from '../dist/index.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures');
// The package's own syscall layer, wrapped to keep a copy of every datagram.
const real = nativeAddon();

let exchange = { requests: [], replies: [] };
const recording = {
  ...real,
  send(fd, bytes) {
    exchange.requests.push(Buffer.from(bytes).toString('hex'));
    return real.send(fd, bytes);
  },
  async recv(fd) {
    const datagram = await real.recv(fd);
    exchange.replies.push(datagram.toString('hex'));
    return datagram;
  },
};

async function record(name, description, fn) {
  exchange = { requests: [], replies: [] };
  let error;
  try {
    await fn();
  } catch (err) {
    error = { code: err.code, message: err.message };
  }
  const fixture = { description, ...exchange, ...(error ? { error } : {}) };
  writeFileSync(join(out, `${name}.json`), `${JSON.stringify(fixture, null, 2)}\n`);
  process.stdout.write(`${name}: ${exchange.replies.length} datagram(s)${error ? ` (${error.code})` : ''}\n`);
}

const tag = randomBytes(3).toString('hex');
const a = createNetns(`mctreca${tag}`);
const b = createNetns(`mctrecb${tag}`);
try {
  const nl = Netlink.open({ netns: a, addon: recording });
  await nl.links.setUp('lo');
  await nl.links.addBridge({ name: 'br0', mtu: 1400, mac: '02:00:00:00:00:aa' });
  await nl.links.addVeth({ name: 'v0', peerName: 'p0', peerNetns: b, mac: '02:00:00:00:00:01', mtu: 1400 });
  await nl.links.setMaster('v0', 'br0');
  await nl.links.setHairpin('v0', true);
  await nl.links.addVxlan({
    name: 'vx0',
    vni: 42,
    port: 4789,
    learning: false,
    local: '10.244.9.1',
    mtu: 1450,
  });
  await nl.links.setUp('br0');
  await nl.addresses.add('br0', '10.244.0.1/24');
  await nl.addresses.add('br0', 'fd00::1/64', { noDad: true });
  await nl.routes.add({ dst: '10.244.1.0/24', gateway: '10.244.0.2', dev: 'br0', metric: 100 });
  await nl.routes.add({ dst: 'fd00:1::/64', gateway: 'fd00::2', dev: 'br0' });
  await nl.neighbours.add({ dev: 'br0', dst: '10.244.0.9', lladdr: '02:00:00:00:00:09' });
  await nl.fdb.append({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '10.244.9.2' });

  await record(
    'link-dump',
    'RTM_GETLINK dump: lo, bridge br0 (mtu 1400), veth v0 (port of br0, hairpin), vxlan vx0',
    () => nl.links.list(),
  );
  await record('link-get-missing', 'RTM_GETLINK of a name that does not exist: ENODEV', () =>
    nl.links.get('nosuch0'),
  );
  await record('link-set-up-ack', 'RTM_SETLINK br0 up: a plain ACK', () => nl.links.setUp('br0'));
  await record(
    'addr-dump',
    'RTM_GETADDR dump: 127.0.0.1/8, ::1, 10.244.0.1/24 and fd00::1/64 on br0, link-local',
    () => nl.addresses.list(),
  );
  await record('route-dump', 'RTM_GETROUTE dumps (IPv4 then IPv6) of the main table', () => nl.routes.list());
  await record(
    'route-add-bad-gateway',
    'RTM_NEWROUTE via an unreachable gateway: ENETUNREACH with extended ACK',
    () => nl.routes.add({ dst: '10.245.0.0/24', gateway: '10.99.0.2' }),
  );
  await record('addr-add-exists', 'RTM_NEWADDR of an address br0 already has: EEXIST', () =>
    nl.addresses.add('br0', '10.244.0.1/24'),
  );
  await record('neigh-dump', 'RTM_GETNEIGH dumps (IPv4 then IPv6): 10.244.0.9 on br0, permanent', () =>
    nl.neighbours.list(),
  );
  await record(
    'fdb-dump',
    'RTM_GETNEIGH AF_BRIDGE dump: vx0 00:00:00:00:00:00 dst 10.244.9.2 and bridge entries',
    () => nl.fdb.list(),
  );
  nl.close();
} finally {
  deleteNetns(a);
  deleteNetns(b);
}
