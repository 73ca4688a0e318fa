// The process behind @minicni/testkit/prober (prober.ts), a pod's stand-in for policy probes:
// serves TCP and UDP on the ports given in argv, and answers probe requests read as JSON lines
// on stdin ({id, dst, port, proto, srcPort, timeoutMs}) with {id, ok, why?} lines on stdout.
// Run inside a netns with nsenter. Each probe binds its own source port, so no conntrack entry
// of an earlier probe can carry a later one.
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

const ports = process.argv.slice(2).map(Number);
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function serve() {
  for (const port of ports) {
    await new Promise((resolve, reject) => {
      const tcp = createServer((s) => s.on('error', () => {}).end());
      tcp.on('error', reject).listen({ host: '::', port, ipv6Only: false }, resolve);
    });
    await new Promise((resolve, reject) => {
      const udp = createSocket({ type: 'udp6', ipv6Only: false });
      udp.on('message', (_m, r) => udp.send('ok', r.port, r.address));
      udp.on('error', reject).bind(port, '::', resolve);
    });
  }
}

function probeTcp({ dst, port, srcPort, timeoutMs }) {
  return new Promise((resolve) => {
    const s = connect({ host: dst, port, localPort: srcPort, timeout: timeoutMs });
    const done = (ok, why) => {
      s.destroy();
      resolve({ ok, why });
    };
    s.on('connect', () => done(true));
    s.on('timeout', () => done(false, 'timeout'));
    s.on('error', (e) => done(false, e.code));
  });
}

function probeUdp({ dst, port, srcPort, timeoutMs }) {
  return new Promise((resolve) => {
    const s = createSocket(dst.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => done(false, 'timeout'), timeoutMs);
    const done = (ok, why) => {
      clearTimeout(timer);
      s.close();
      resolve({ ok, why });
    };
    s.on('message', () => done(true));
    s.on('error', (e) => done(false, e.code));
    s.bind(srcPort, () => s.send('probe', port, dst));
  });
}

await serve();
out({ ready: true });
createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line);
  const probe = req.proto === 'UDP' ? probeUdp(req) : probeTcp(req);
  void probe.then((r) => out({ id: req.id, ...r }));
});
