// Soak: many ADD/DEL cycles on a node laid out as the DaemonSet runs it (the agent, the plugin
// served beside it, the shim the runtime execs), then cycles of the standalone executable on the
// same network. Each cycle adds a pod and deletes it; CONCURRENCY cycles are in flight at once.
// The served plugin's RSS and open fds are sampled every SAMPLE_EVERY cycles: after the warm-up
// its fds must not grow and its RSS must stay within +10%. Afterwards the node must be back to
// its baseline: the IPAM store's reservations, the plugin's rules records (stamps), the node's
// firewall rule lines and its links.
// Runs as root inside a throwaway node netns that it creates and removes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { benchNetnsName, cniCall, inThrowawayNodeNetns, writeBenchResult } from '@minicni/testkit/bench-node';
import { MINICNI, SHIM, startServedNode } from './served-node.mjs';

const SHIM_CYCLES = Number(process.env.BENCH_SHIM_CYCLES ?? 10_000);
const STANDALONE_CYCLES = Number(process.env.BENCH_STANDALONE_CYCLES ?? 1_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const WARMUP = Math.min(1_000, Math.floor(SHIM_CYCLES / 10));
const SAMPLE_EVERY = Math.max(1, Math.floor(SHIM_CYCLES / 40));
const STAMP_DIR = '/run/minicni/rules';

if (inThrowawayNodeNetns(import.meta.url, 'mcnisoak')) await inner();

function lines(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

/** What the node holds that a pod's ADD makes and its DEL must take back. */
function nodeState(storeDir) {
  const inode = spawnSync('stat', ['-L', '-c', '%i', '/proc/self/ns/net'], {
    encoding: 'utf8',
  }).stdout.trim();
  let store = [];
  let stamps = [];
  try {
    store = readdirSync(storeDir).filter((f) => /^[0-9a-f.:]+$/i.test(f));
  } catch {
    // no store yet
  }
  try {
    stamps = readdirSync(STAMP_DIR).filter((f) => f.startsWith(`${inode}-`));
  } catch {
    // no stamp dir
  }
  return {
    reservations: store.length,
    stamps: stamps.length,
    ruleLines: ['iptables-nft-save', 'iptables-legacy-save', 'ip6tables-nft-save', 'ip6tables-legacy-save']
      .flatMap((t) => lines(t, []))
      .filter((l) => l.startsWith('-A')).length,
    links: lines('ip', ['-o', 'link', 'show']).length,
  };
}

function processNow(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssKiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]), fds: readdirSync(`/proc/${pid}/fd`).length };
}

async function inner() {
  const work = mkdtempSync(join(tmpdir(), 'minicni-soak-'));
  const procs = [];
  try {
    const node = await startServedNode(work);
    procs.push(...node.procs);
    const conf = {
      cniVersion: '1.0.0',
      name: 'soakmc',
      type: 'minicni',
      bridge: 'mcsoak0',
      subnet: '10.246.0.0/16',
      ipMasq: true,
      isGateway: true,
      dataDir: node.dataDir,
    };
    const plugins = {
      shim: {
        bin: SHIM,
        path: dirname(MINICNI),
        env: { MINICNI_AGENT_SOCKET: node.socket, MINICNI_STANDALONE: '/bin/false' },
        conf,
      },
      standalone: { bin: MINICNI, path: dirname(MINICNI), env: {}, conf },
    };
    const storeDir = join(node.dataDir, conf.name);
    // One pod netns per lane, reused: a cycle's DEL leaves it empty for the next ADD.
    const lanes = Array.from({ length: CONCURRENCY }, () => {
      const ns = benchNetnsName('mcnisk');
      spawnSync('ip', ['netns', 'add', ns]);
      return ns;
    });
    const failures = [];
    const cycle = async (plugin, lane, id) => {
      const add = await cniCall(plugin, 'ADD', lanes[lane], id);
      const del = await cniCall(plugin, 'DEL', lanes[lane], id);
      for (const [what, r] of [
        ['ADD', add],
        ['DEL', del],
      ]) {
        if (r.code !== 0 && failures.length < 20) failures.push(`${id} ${what}: ${r.out} ${r.err}`.trim());
      }
      return { add: add.ms, del: del.ms, ok: add.code === 0 && del.code === 0 };
    };
    const ran = { shim: 0, standalone: 0 };
    const run = async (name, cycles, onDone) => {
      const offset = ran[name];
      ran[name] += cycles;
      let next = 0;
      let failed = 0;
      const times = { add: [], del: [] };
      const t0 = performance.now();
      await Promise.all(
        lanes.map(async (_, lane) => {
          while (next < cycles) {
            const i = next++;
            const r = await cycle(plugins[name], lane, `${name}-${offset + i}`);
            if (!r.ok) failed++;
            times.add.push(r.add);
            times.del.push(r.del);
            onDone?.();
          }
        }),
      );
      return { cycles, failed, seconds: (performance.now() - t0) / 1000, times };
    };

    // One cycle first: the bridge and the node rules exist from then on (the baseline).
    await cycle(plugins.shim, 0, 'baseline');
    const baseline = nodeState(storeDir);
    // Warm-up cycles first, then the rest; the warm and the end figures are read with no call
    // in flight (a call holds a connection fd), the samples between them draw the curve.
    const samples = [{ cycles: 0, ...processNow(node.server.child.pid) }];
    let done = 0;
    const sample = () => {
      done++;
      if (done % SAMPLE_EVERY === 0) samples.push({ cycles: done, ...processNow(node.server.child.pid) });
    };
    const warmup = await run('shim', WARMUP, sample);
    const warm = { cycles: WARMUP, ...processNow(node.server.child.pid) };
    const rest = await run('shim', SHIM_CYCLES - WARMUP, sample);
    const end = { cycles: SHIM_CYCLES, ...processNow(node.server.child.pid) };
    const shim = {
      failed: warmup.failed + rest.failed,
      seconds: warmup.seconds + rest.seconds,
      times: { add: [...warmup.times.add, ...rest.times.add], del: [...warmup.times.del, ...rest.times.del] },
    };
    const afterShim = nodeState(storeDir);
    const standalone = await run('standalone', STANDALONE_CYCLES);
    const afterStandalone = nodeState(storeDir);
    const agentEnd = processNow(node.agent.child.pid);
    for (const ns of lanes) spawnSync('ip', ['netns', 'del', ns]);

    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const result = {
      shimCycles: SHIM_CYCLES,
      standaloneCycles: STANDALONE_CYCLES,
      concurrency: CONCURRENCY,
      warmupCycles: WARMUP,
      shim: {
        failed: shim.failed,
        seconds: shim.seconds,
        addMedianMs: median(shim.times.add),
        delMedianMs: median(shim.times.del),
      },
      standalone: {
        failed: standalone.failed,
        seconds: standalone.seconds,
        addMedianMs: median(standalone.times.add),
        delMedianMs: median(standalone.times.del),
      },
      server: {
        afterWarmup: warm,
        end,
        rssGrowth: end.rssKiB / warm.rssKiB,
        fdGrowth: end.fds - warm.fds,
        samples,
      },
      agentEnd,
      node: { baseline, afterShim, afterStandalone },
      failures,
    };
    const same = (a, b) => Object.keys(a).every((k) => a[k] === b[k]);
    const lines = [
      `${SHIM_CYCLES} ADD/DEL cycles through the shim (agent and served plugin running), then ${STANDALONE_CYCLES} of the standalone executable; ${CONCURRENCY} in flight`,
      '',
      `shim: ${shim.failed} failed, ${shim.seconds.toFixed(0)} s, ADD median ${result.shim.addMedianMs.toFixed(1)} ms, DEL median ${result.shim.delMedianMs.toFixed(1)} ms`,
      `standalone: ${standalone.failed} failed, ${standalone.seconds.toFixed(0)} s, ADD median ${result.standalone.addMedianMs.toFixed(1)} ms, DEL median ${result.standalone.delMedianMs.toFixed(1)} ms`,
      `served plugin after ${warm.cycles} cycles (warm): ${(warm.rssKiB / 1024).toFixed(1)} MiB, ${warm.fds} fds; at the end: ${(end.rssKiB / 1024).toFixed(1)} MiB (x${result.server.rssGrowth.toFixed(3)}, goal <= 1.10), ${end.fds} fds (${result.server.fdGrowth >= 0 ? '+' : ''}${result.server.fdGrowth}, goal +0)`,
      `agent at the end: ${(agentEnd.rssKiB / 1024).toFixed(1)} MiB, ${agentEnd.fds} fds`,
      `node baseline ${JSON.stringify(baseline)}`,
      `after the shim cycles ${JSON.stringify(afterShim)} ${same(baseline, afterShim) ? '(= baseline)' : '(DIFFERS)'}`,
      `after the standalone cycles ${JSON.stringify(afterStandalone)} ${same(baseline, afterStandalone) ? '(= baseline)' : '(DIFFERS)'}`,
      ...failures.map((f) => `failure: ${f}`),
    ];
    console.log(lines.join('\n'));
    console.log(`wrote ${writeBenchResult('soak', result)}`);
  } finally {
    for (const p of procs) await p.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
