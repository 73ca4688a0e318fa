// ADD and DEL wall time of the built plugin (node dist/main.js) against the reference `ptp` +
// `host-local` (Debian containernetworking-plugins), measured in the same run, alternating, inside
// a throwaway node netns with one pod netns. Prints medians and ratios. Needs root.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const RUNS = Number(process.env.RUNS ?? 20);
const BIN = resolve(import.meta.dirname, '../dist/main.js');
const tag = process.pid.toString(36);
const node = `mct-bn-${tag}`;
const pod = `mct-bp-${tag}`;
const data = mkdtempSync(join(tmpdir(), 'mct-ptp-bench-'));

const plugins = [
  { label: 'minicni-ptp', cmd: ['node', BIN], ipam: { type: 'minicni', subnet: '10.244.62.0/24' } },
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

function call(p, command) {
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
  };
  const t0 = process.hrtime.bigint();
  const r = spawnSync('nsenter', [`--net=/run/netns/${node}`, '--', ...p.cmd], {
    env,
    input: JSON.stringify(conf),
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${p.label} ${command}: ${r.stdout}${r.stderr}`);
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  for (const n of [node, pod]) sh('ip', ['netns', 'add', n]);
  const times = plugins.map(() => ({ add: [], del: [] }));
  const bare = [];
  for (let i = 0; i < RUNS; i++) {
    // Node's own start, the floor under every call of this plugin.
    const t0 = process.hrtime.bigint();
    spawnSync('node', ['-e', '0']);
    bare.push(Number(process.hrtime.bigint() - t0) / 1e6);
    plugins.forEach((p, j) => {
      times[j].add.push(call(p, 'ADD'));
      times[j].del.push(call(p, 'DEL'));
    });
  }
  const [ours, ref] = times.map((t) => ({ add: median(t.add), del: median(t.del) }));
  console.log(`ptp ADD/DEL, medians of ${RUNS} runs each, ${new Date().toISOString()}`);
  for (const [label, t] of [
    ['minicni-ptp', ours],
    ['reference ptp', ref],
  ])
    console.log(`  ${label.padEnd(14)} ADD ${t.add.toFixed(1)} ms  DEL ${t.del.toFixed(1)} ms`);
  console.log(`  node -e 0      ${median(bare).toFixed(1)} ms (same run)`);
  console.log(
    `  ratio (ours / reference): ADD ${(ours.add / ref.add).toFixed(2)}  DEL ${(ours.del / ref.del).toFixed(2)}`,
  );
} finally {
  for (const n of [pod, node]) spawnSync('ip', ['netns', 'del', n]);
  rmSync(data, { recursive: true, force: true });
}
