// ADD and DEL wall time of the ptp example three ways, against the reference `ptp` + `host-local`
// (Debian containernetworking-plugins), all in the same run, alternating, inside a throwaway node
// netns with one pod netns: the standalone plugin (`node dist/main.js`), and the fast path (the
// @minicni/fastpath shim installed as `minicni-ptp`, forwarding to `minicni-ptp serve` running
// in the node netns). Prints medians and each as a ratio to the reference. Needs root and the build.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { builtShimPath } from '@minicni/fastpath';
import { startServe } from '@minicni/testkit/serve-process';

const RUNS = Number(process.env.RUNS ?? 20);
const MAIN = resolve(import.meta.dirname, '../dist/main.js');
const tag = process.pid.toString(36);
const node = `mct-bn-${tag}`;
const pod = `mct-bp-${tag}`;
const work = mkdtempSync(join(tmpdir(), 'mct-ptp-bench-'));
const data = join(work, 'data');
const socket = join(work, 'run', 'plugin.sock');
// Installed under the plugin's name, as on a node (its fallback would be minicni-ptp-standalone).
const shim = join(work, 'bin', 'minicni-ptp');

const plugins = [
  { label: 'standalone', cmd: [process.execPath, MAIN], ipam: { type: 'minicni', subnet: '10.244.62.0/24' } },
  { label: 'fast path', cmd: [shim], ipam: { type: 'minicni', subnet: '10.244.64.0/24' } },
  {
    label: 'reference ptp',
    cmd: ['/usr/lib/cni/ptp'],
    ipam: { type: 'host-local', subnet: '10.244.63.0/24' },
  },
];

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

async function call(p, command) {
  const conf = {
    cniVersion: '1.0.0',
    name: `mct-${p.label.replace(/\W/g, '')}`,
    type: 'ptp',
    mtu: 1400,
    ipam: { ...p.ipam, dataDir: data },
  };
  const env = {
    PATH: process.env.PATH,
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'bench',
    CNI_NETNS: `/run/netns/${pod}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/usr/lib/cni',
    MINICNI_AGENT_SOCKET: socket,
  };
  const t0 = process.hrtime.bigint();
  const child = spawn('nsenter', [`--net=/run/netns/${node}`, '--', ...p.cmd], { env });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  child.stdin.end(JSON.stringify(conf));
  const code = await new Promise((r) => child.once('close', r));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (code !== 0) throw new Error(`${p.label} ${command}: ${out}`);
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let server;
try {
  for (const n of [node, pod]) sh('ip', ['netns', 'add', n]);
  mkdirSync(dirname(shim), { recursive: true });
  copyFileSync(builtShimPath(), shim);
  server = await startServe([process.execPath, MAIN], socket, `/run/netns/${node}`);
  const times = plugins.map(() => ({ add: [], del: [] }));
  for (let i = 0; i < RUNS; i++) {
    for (const [j, p] of plugins.entries()) {
      times[j].add.push(await call(p, 'ADD'));
      times[j].del.push(await call(p, 'DEL'));
    }
  }
  const m = times.map((t) => ({ add: median(t.add), del: median(t.del) }));
  const ref = m.at(-1);
  console.log(
    `ptp ADD/DEL, medians of ${RUNS} runs each, ${new Date().toISOString()}, node ${process.version}`,
  );
  for (const [j, p] of plugins.entries()) {
    const ratio = `ratio to reference: ADD ${(m[j].add / ref.add).toFixed(2)}  DEL ${(m[j].del / ref.del).toFixed(2)}`;
    console.log(
      `  ${p.label.padEnd(14)} ADD ${m[j].add.toFixed(1).padStart(6)} ms  DEL ${m[j].del.toFixed(1).padStart(6)} ms  ${ratio}`,
    );
  }
} finally {
  await server?.stop();
  for (const n of [pod, node]) spawnSync('ip', ['netns', 'del', n]);
  rmSync(work, { recursive: true, force: true });
}
