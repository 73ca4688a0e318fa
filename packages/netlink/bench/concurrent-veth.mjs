// N veth pairs added, then deleted, inside a throwaway netns: one after the other on one handle
// (what blocking I/O amounted to: every request waited for the one before) versus all at once,
// one handle per operation (what concurrent CNI calls in a served plugin do). A 5 ms timer
// measures how late the event loop turns meanwhile. Runs itself once per libuv threadpool size.
// Run as root after a build: `node bench/concurrent-veth.mjs` (BENCH_N, BENCH_ROUNDS, BENCH_POOLS).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { Netlink, createNetns, deleteNetns } from '../dist/index.js';

const N = Number(process.env.BENCH_N ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const POOLS = (process.env.BENCH_POOLS ?? '4,16,64').split(',').map(Number);

const now = () => performance.now();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Runs `work` with a 5 ms timer beside it; returns its wall time and the timer's worst lateness. */
async function timed(work) {
  let last = now();
  let worst = 0;
  const timer = setInterval(() => {
    const t = now();
    worst = Math.max(worst, t - last - 5);
    last = t;
  }, 5);
  const start = now();
  await work();
  const ms = now() - start;
  clearInterval(timer);
  return { ms, lag: Math.max(worst, now() - last - 5) };
}

async function sequential(netns, tag) {
  const nl = Netlink.open({ netns });
  try {
    const add = await timed(async () => {
      for (let i = 0; i < N; i++) await nl.links.addVeth({ name: `${tag}${i}`, peerName: `${tag}p${i}` });
    });
    const del = await timed(async () => {
      for (let i = 0; i < N; i++) await nl.links.delete(`${tag}${i}`);
    });
    return { add, del };
  } finally {
    nl.close();
  }
}

async function concurrent(netns, tag) {
  const each = (fn) =>
    Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const nl = Netlink.open({ netns });
        try {
          await fn(nl, i);
        } finally {
          nl.close();
        }
      }),
    );
  const add = await timed(() =>
    each((nl, i) => nl.links.addVeth({ name: `${tag}${i}`, peerName: `${tag}p${i}` })),
  );
  const del = await timed(() => each((nl, i) => nl.links.delete(`${tag}${i}`)));
  return { add, del };
}

async function child() {
  const netns = createNetns(`mctbenchc${randomBytes(3).toString('hex')}`);
  try {
    const rows = { seqAdd: [], seqDel: [], conAdd: [], conDel: [], seqLag: [], conLag: [] };
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate who goes first, so a drift in machine load does not favour one side.
      const order = round % 2 ? [concurrent, sequential] : [sequential, concurrent];
      for (const run of order) {
        const r = await run(netns, run === sequential ? 'mcs' : 'mcc');
        const side = run === sequential ? 'seq' : 'con';
        rows[`${side}Add`].push(r.add.ms);
        rows[`${side}Del`].push(r.del.ms);
        rows[`${side}Lag`].push(Math.max(r.add.lag, r.del.lag));
      }
    }
    process.stdout.write(
      `${JSON.stringify(Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)])))}\n`,
    );
  } finally {
    deleteNetns(netns);
  }
}

if (process.env.BENCH_CHILD) {
  await child();
} else {
  const f = (x) => x.toFixed(0).padStart(6);
  process.stdout.write(
    `${N} veth pairs added then deleted in a throwaway netns; median of ${ROUNDS} rounds; ms\n` +
      'UV_THREADPOOL_SIZE | add seq | add conc | ratio | del seq | del conc | ratio | worst timer lag seq / conc\n',
  );
  for (const pool of POOLS) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_CHILD: '1', UV_THREADPOOL_SIZE: String(pool) },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`bench child for UV_THREADPOOL_SIZE=${pool} failed`);
    const m = JSON.parse(r.stdout);
    process.stdout.write(
      `${String(pool).padStart(18)} | ${f(m.seqAdd)}  | ${f(m.conAdd)}   | ${(m.conAdd / m.seqAdd).toFixed(2)}  | ` +
        `${f(m.seqDel)}  | ${f(m.conDel)}   | ${(m.conDel / m.seqDel).toFixed(2)}  | ${m.seqLag.toFixed(1)} / ${m.conLag.toFixed(1)}\n`,
    );
  }
}
