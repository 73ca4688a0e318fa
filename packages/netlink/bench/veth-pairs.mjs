// Creates and deletes 1,000 veth pairs inside a throwaway netns, with this package and with
// `ip -batch` (iproute2) in the same run, and prints the time ratio and per-operation latency.
// Run as root after a build: `node bench/veth-pairs.mjs` (BENCH_PAIRS, BENCH_ROUNDS to change).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { Netlink, createNetns, deleteNetns } from '../dist/index.js';

const PAIRS = Number(process.env.BENCH_PAIRS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function ours(netns) {
  const nl = Netlink.open({ netns });
  const add = [];
  const del = [];
  const start = now();
  for (let i = 0; i < PAIRS; i++) {
    const t = now();
    await nl.links.addVeth({ name: `mcb${i}`, peerName: `mcp${i}` });
    add.push(now() - t);
  }
  for (let i = 0; i < PAIRS; i++) {
    const t = now();
    await nl.links.delete(`mcb${i}`);
    del.push(now() - t);
  }
  const total = now() - start;
  nl.close();
  return { total, add, del };
}

function iproute2(netns, dir) {
  const lines = [];
  for (let i = 0; i < PAIRS; i++) lines.push(`link add mcb${i} type veth peer name mcp${i}`);
  for (let i = 0; i < PAIRS; i++) lines.push(`link del mcb${i}`);
  const file = join(dir, 'batch');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const start = now();
  const r = spawnSync('nsenter', [`--net=${netns}`, 'ip', '-batch', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const total = now() - start;
  if (r.status !== 0) throw new Error(`ip -batch failed: ${r.stderr}`);
  return { total };
}

const netns = createNetns(`mctbench${randomBytes(3).toString('hex')}`);
const dir = mkdtempSync(join(tmpdir(), 'minicni-bench-'));
try {
  const ratios = [];
  const oursTotals = [];
  const ipTotals = [];
  const add = [];
  const del = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate who goes first, so a drift in machine load does not favour one side.
    const first = round % 2 === 0;
    const ip1 = first ? undefined : iproute2(netns, dir);
    const o = await ours(netns);
    const ip = ip1 ?? iproute2(netns, dir);
    ratios.push(o.total / ip.total);
    oursTotals.push(o.total);
    ipTotals.push(ip.total);
    add.push(...o.add);
    del.push(...o.del);
    process.stdout.write(
      `round ${round + 1}: @minicni/netlink ${o.total.toFixed(0)} ms, ip -batch ${ip.total.toFixed(0)} ms, ratio ${(o.total / ip.total).toFixed(3)}\n`,
    );
  }
  const f = (x) => x.toFixed(3);
  process.stdout.write(
    [
      `veth pairs: ${PAIRS} created + deleted per round, ${ROUNDS} rounds, inside one throwaway netns`,
      `median total: @minicni/netlink ${median(oursTotals).toFixed(0)} ms, ip -batch ${median(ipTotals).toFixed(0)} ms`,
      `median ratio (netlink / ip -batch): ${f(median(ratios))} (target <= 1.2)`,
      `veth add latency: median ${f(median(add))} ms, p99 ${f(pct(add, 0.99))} ms`,
      `veth delete latency: median ${f(median(del))} ms, p99 ${f(pct(del, 0.99))} ms`,
      '',
    ].join('\n'),
  );
} finally {
  deleteNetns(netns);
  rmSync(dir, { recursive: true, force: true });
}
