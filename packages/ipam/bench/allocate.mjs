// Allocation cost against pool fill, and throughput, for the memory, file and etcd stores, with
// the reference host-local ADD+DEL timed in the same run. Run: pnpm --filter @minicni/ipam bench
// (builds first through turbo) or `node bench/allocate.mjs` after `pnpm build`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, openIpam } from '../dist/index.js';
import { MemoryStore } from '../dist/testing.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const HOST_LOCAL = '/usr/lib/cni/host-local';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (ns) => Number(ns) / 1e6;
const fmt = (x) => (x >= 10 ? x.toFixed(1) : x.toFixed(3));
const owner = (id) => ({ containerId: id, ifname: 'eth0' });

const dirs = [];
async function tempDir() {
  const d = await mkdtemp(join(tmpdir(), 'mct-ipam-bench-'));
  dirs.push(d);
  return d;
}

async function makeStore(kind, network) {
  if (kind === 'memory') return new MemoryStore();
  return new FileStore({ dataDir: await tempDir(), network });
}

/** Reserves `count` addresses straight through the store (what `count` ADDs would leave behind). */
async function fill(ipam, count) {
  const set = ipam.settings.rangeSets[0];
  const r = set.ranges[0];
  const family = set.family;
  const { formatIp } = await import('../dist/index.js');
  let v = r.start;
  let done = 0;
  let last;
  while (done < count) {
    const batch = [];
    while (batch.length < 256 && done + batch.length < count) {
      if (v !== r.gateway) batch.push(formatIp({ family, value: v }));
      v++;
    }
    await Promise.all(
      batch.map((ip, i) => ipam.store.reserve({ ip, owner: owner(`fill-${done + i}`), rangeId: '0' })),
    );
    done += batch.length;
    last = batch[batch.length - 1];
  }
  if (last) await ipam.store.setCursor('0', last);
}

/** Median time of one allocate for a new owner, with the pool held at its current fill. */
async function allocCost(ipam, tag) {
  const times = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const o = owner(`${tag}-${i}`);
    const t0 = process.hrtime.bigint();
    await ipam.allocate(o);
    const t1 = process.hrtime.bigint();
    await ipam.release(o);
    if (i >= 3) times.push(ms(t1 - t0)); // first runs warm caches and the JIT
  }
  return median(times);
}

async function poolFillRatio(kind, subnet, nth) {
  const first = await openIpam({
    config: { subnet },
    network: `b-${kind}-a`,
    store: await makeStore(kind, `b-${kind}-a`),
  });
  const a = await allocCost(first, 'first');
  const full = await openIpam({
    config: { subnet },
    network: `b-${kind}-b`,
    store: await makeStore(kind, `b-${kind}-b`),
  });
  await fill(full, nth - 1);
  const b = await allocCost(full, 'nth');
  return { a, b, ratio: b / a };
}

async function ipv6CursorRatio(kind) {
  const base = 'fd00:be::';
  const mk = async (n) =>
    openIpam({ config: { subnet: `${base}/64` }, network: n, store: await makeStore(kind, n) });
  const near0 = await mk(`v6-${kind}-0`);
  await near0.store.setCursor('0', 'fd00:be::10');
  const a = await allocCost(near0, 'v6a');
  const far = await mk(`v6-${kind}-63`);
  await far.store.setCursor('0', 'fd00:be:0:0:8000::10'); // offset 2^63 + 16
  const b = await allocCost(far, 'v6b');
  return { a, b, ratio: b / a };
}

async function throughput(ipam, seconds = 2) {
  let n = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const o = owner(`tp-${n}`);
    await ipam.allocate(o);
    await ipam.release(o);
    n++;
  }
  return n / seconds;
}

function hostLocalAddDel(dataDir) {
  const conf = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'b-hl',
    type: 'bridge',
    ipam: { type: 'host-local', subnet: '10.244.200.0/24', dataDir },
  });
  const env = (cmd, id) => ({
    PATH: process.env.PATH,
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: id,
    CNI_NETNS: '/var/run/netns/none',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/usr/lib/cni',
  });
  const times = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const t0 = process.hrtime.bigint();
    const add = spawnSync(HOST_LOCAL, [], { input: conf, env: env('ADD', `hl-${i}`) });
    const del = spawnSync(HOST_LOCAL, [], { input: conf, env: env('DEL', `hl-${i}`) });
    const t1 = process.hrtime.bigint();
    if (add.status !== 0 || del.status !== 0)
      throw new Error(`host-local failed: ${add.stdout}${add.stderr}`);
    if (i >= 2) times.push(ms(t1 - t0));
  }
  return median(times);
}

/** One node process that opens the file store and does ADD+DEL: the plugin-shaped cost. */
function nodeAddDel(dataDir) {
  const script = `
    const { openIpam } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
    const ipam = await openIpam({ config: { subnet: '10.244.201.0/24', dataDir: ${JSON.stringify(dataDir)} }, network: 'b-node' });
    const o = { containerId: process.argv[1], ifname: 'eth0' };
    await ipam.allocate(o); await ipam.release(o);`;
  const times = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, `n-${i}`]);
    const t1 = process.hrtime.bigint();
    if (r.status !== 0) throw new Error(`node ADD+DEL failed: ${r.stderr}`);
    if (i >= 2) times.push(ms(t1 - t0));
  }
  return median(times);
}

async function withEtcd(fn) {
  if (spawnSync('etcd', ['--version']).status !== 0) return undefined;
  const { createServer } = await import('node:net');
  const port = () =>
    new Promise((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => res(p));
      });
    });
  const dir = await tempDir();
  const [c, p] = [await port(), await port()];
  const url = `http://127.0.0.1:${c}`;
  const child = spawn(
    'etcd',
    [
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      url,
      '--advertise-client-urls',
      url,
      '--listen-peer-urls',
      `http://127.0.0.1:${p}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${p}`,
      '--initial-cluster',
      `default=http://127.0.0.1:${p}`,
      '--log-level',
      'error',
    ],
    { stdio: 'ignore' },
  );
  try {
    for (let i = 0; i < 200; i++) {
      try {
        if ((await fetch(`${url}/health`)).ok) break;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return await fn(url);
  } finally {
    child.kill('SIGKILL');
  }
}

const out = [];
const line = (s) => {
  out.push(s);
  console.log(s);
};

try {
  line(
    `# @minicni/ipam bench, ${new Date().toISOString()}, node ${process.version}, medians of ${RUNS} runs`,
  );
  for (const kind of ['memory', 'file']) {
    const s24 = await poolFillRatio(kind, '10.244.100.0/24', 250);
    line(`${kind}: /24 1st ${fmt(s24.a)} ms, 250th ${fmt(s24.b)} ms, ratio ${s24.ratio.toFixed(2)}`);
    const s16 = await poolFillRatio(kind, '10.245.0.0/16', 60_000);
    line(`${kind}: /16 1st ${fmt(s16.a)} ms, 60000th ${fmt(s16.b)} ms, ratio ${s16.ratio.toFixed(2)}`);
    const v6 = await ipv6CursorRatio(kind);
    line(
      `${kind}: /64 cursor near 0 ${fmt(v6.a)} ms, near 2^63 ${fmt(v6.b)} ms, ratio ${v6.ratio.toFixed(2)}`,
    );
  }
  const mem = await openIpam({
    config: { subnet: '10.244.110.0/24' },
    network: 'tp-m',
    store: new MemoryStore(),
  });
  line(`throughput memory: ${Math.round(await throughput(mem))} allocate+release/s`);
  const fileIpam = await openIpam({
    config: { subnet: '10.244.111.0/24', dataDir: await tempDir() },
    network: 'tp-f',
  });
  line(`throughput file: ${Math.round(await throughput(fileIpam))} allocate+release/s`);
  const etcdTp = await withEtcd(async (url) => {
    const { EtcdStore } = await import('../dist/etcd.js');
    const store = new EtcdStore({ network: 'tp-e', hosts: url });
    const ipam = await openIpam({ config: { subnet: '10.244.112.0/24' }, network: 'tp-e', store });
    const tp = await throughput(ipam);
    await store.close();
    return tp;
  });
  if (etcdTp !== undefined) line(`throughput etcd: ${Math.round(etcdTp)} allocate+release/s`);
  if (existsSync(HOST_LOCAL)) {
    const hl = hostLocalAddDel(await tempDir());
    const fileOp = 1000 / (await throughput(fileIpam, 1));
    const nodeProc = nodeAddDel(await tempDir());
    line(`host-local ADD+DEL (2 processes): ${fmt(hl)} ms`);
    line(
      `minicni file store ADD+DEL in process: ${fmt(fileOp)} ms (ratio to host-local ${(fileOp / hl).toFixed(3)})`,
    );
    line(
      `minicni ADD+DEL in one fresh node process: ${fmt(nodeProc)} ms (ratio to host-local ${(nodeProc / hl).toFixed(2)})`,
    );
  }
} finally {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}
