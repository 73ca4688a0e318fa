// Benchmark: a storm of CNI calls on a node laid out as the DaemonSet runs it, against the Go
// reference bridge + host-local in the same run. In one throwaway node netns: the agent (its
// bundle, routes from a nodes file, /healthz on 127.0.0.1:9153), the plugin served beside it in a
// process of its own (`minicni serve`, the built executable) and the shim the runtime would exec.
// Each round: PARALLEL ADDs at once, then PARALLEL DELs at once, through the shim, then the same
// with the reference; meanwhile /healthz is polled every 10 ms. Prints the wall times with their
// ratios to the reference, and the agent's /healthz latency (p50, p99, max) during the storms.
// Runs as root; everything it makes (netns, processes, temp dirs) goes at the end.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { benchNetnsName, cniCall, inThrowawayNodeNetns, writeBenchResult } from '@minicni/testkit/bench-node';
import { MINICNI, SHIM, startServedNode } from './served-node.mjs';

const REF_DIR = '/usr/lib/cni';
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const HEALTH_EVERY_MS = 10;
// Polls the agent's /healthz until its stdin closes, then prints every sample as JSON.
const POLLER = `
const every = Number(process.argv[1]);
const samples = [];
let on = true;
process.stdin.on('end', () => (on = false)).resume();
(async () => {
  while (on) {
    const at = Date.now();
    const t0 = performance.now();
    let ok = false;
    try {
      const r = await fetch('http://127.0.0.1:9153/healthz', { signal: AbortSignal.timeout(5000) });
      await r.text();
      ok = r.status === 200;
    } catch {}
    samples.push({ at, ms: performance.now() - t0, ok });
    await new Promise((r) => setTimeout(r, every));
  }
  process.stdout.write(JSON.stringify(samples));
})();
`;

if (inThrowawayNodeNetns(import.meta.url, 'mcnistorm')) await inner();

async function inner() {
  const work = mkdtempSync(join(tmpdir(), 'minicni-storm-'));
  const procs = [];
  try {
    const { socket, procs: started } = await startServedNode(work);
    procs.push(...started);

    const plugins = {
      'minicni fast path': {
        bin: SHIM,
        path: dirname(MINICNI),
        env: { MINICNI_AGENT_SOCKET: socket, MINICNI_STANDALONE: '/bin/false' },
        conf: {
          cniVersion: '1.0.0',
          name: 'stormmc',
          type: 'minicni',
          bridge: 'mcstorm0',
          subnet: '10.246.0.0/16',
          ipMasq: true,
          isGateway: true,
          dataDir: join(work, 'sh'),
        },
      },
      reference: {
        bin: join(REF_DIR, 'bridge'),
        path: REF_DIR,
        env: {},
        conf: {
          cniVersion: '1.0.0',
          name: 'stormref',
          type: 'bridge',
          bridge: 'refstorm0',
          isGateway: true,
          ipMasq: true,
          ipam: { type: 'host-local', subnet: '10.245.0.0/16', dataDir: join(work, 'ref') },
        },
      },
    };
    const names = Object.keys(plugins);

    // /healthz polled every 10 ms for the whole run by a process of its own (this one is busy
    // spawning the storm), each answer timed; phases are marked so each storm is judged apart.
    const poller = spawn(process.execPath, ['-e', POLLER, String(HEALTH_EVERY_MS)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let pollOut = '';
    poller.stdout.on('data', (d) => (pollOut += d));
    const polled = new Promise((r) => poller.once('close', r));
    const phases = [];
    const mark = (name) => phases.push({ name, at: Date.now() });
    const walls = Object.fromEntries(names.map((n) => [n, { add: [], del: [], failed: 0 }]));
    // Every call's own time, per plugin and command: the distribution the charts show.
    const calls = Object.fromEntries(names.map((n) => [n, { add: [], del: [] }]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of names) {
        const nss = Array.from({ length: PARALLEL }, () => {
          const ns = benchNetnsName('mcnistp');
          spawnSync('ip', ['netns', 'add', ns]);
          return ns;
        });
        mark(n);
        let t0 = performance.now();
        const adds = await Promise.all(nss.map((ns, i) => cniCall(plugins[n], 'ADD', ns, `s${round}-${i}`)));
        walls[n].add.push(performance.now() - t0);
        t0 = performance.now();
        const dels = await Promise.all(nss.map((ns, i) => cniCall(plugins[n], 'DEL', ns, `s${round}-${i}`)));
        walls[n].del.push(performance.now() - t0);
        walls[n].failed += [...adds, ...dels].filter((r) => r.code !== 0).length;
        calls[n].add.push(...adds.map((r) => r.ms));
        calls[n].del.push(...dels.map((r) => r.ms));
        const ips = new Set(adds.filter((r) => r.code === 0).map((r) => JSON.parse(r.out).ips[0].address));
        if (ips.size !== PARALLEL) walls[n].failed += PARALLEL - ips.size;
        mark('between');
        for (const ns of nss) spawnSync('ip', ['netns', 'del', ns]);
      }
    }
    mark('end');
    poller.stdin.end();
    await polled;
    const samples = JSON.parse(pollOut); // [{at, ms, ok}]
    const phaseOf = (at) => [...phases].reverse().find((p) => p.at <= at)?.name ?? 'before';
    const healthOf = (name) => samples.filter((x) => phaseOf(x.at) === name);

    const med = (xs) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    const pct = (xs, p) =>
      [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
    const fast = walls['minicni fast path'];
    const ref = walls.reference;
    const result = {
      parallel: PARALLEL,
      rounds: ROUNDS,
      addWallMs: { fastPath: med(fast.add), reference: med(ref.add), ratio: med(fast.add) / med(ref.add) },
      delWallMs: { fastPath: med(fast.del), reference: med(ref.del), ratio: med(fast.del) / med(ref.del) },
      failedCalls: { fastPath: fast.failed, reference: ref.failed },
      healthz: Object.fromEntries(
        names.map((n) => {
          const xs = healthOf(n);
          const ms = xs.map((x) => x.ms);
          const stats = { p50Ms: pct(ms, 50), p99Ms: pct(ms, 99), maxMs: Math.max(...ms) };
          return [n, { polls: xs.length, failures: xs.filter((x) => !x.ok).length, ...stats }];
        }),
      ),
    };
    const lines = [
      `${PARALLEL} ADDs at once, then ${PARALLEL} DELs at once, ${ROUNDS} rounds, medians; agent running, /healthz polled every ${HEALTH_EVERY_MS} ms`,
      '',
      '| measure | minicni fast path (shim -> minicni serve) | reference bridge + host-local | ratio |',
      '|---|---|---|---|',
      `| ${PARALLEL} ADDs, wall | ${result.addWallMs.fastPath.toFixed(0)} ms | ${result.addWallMs.reference.toFixed(0)} ms | ${result.addWallMs.ratio.toFixed(2)} |`,
      `| ${PARALLEL} DELs, wall | ${result.delWallMs.fastPath.toFixed(0)} ms | ${result.delWallMs.reference.toFixed(0)} ms | ${result.delWallMs.ratio.toFixed(2)} |`,
      `| failed calls | ${fast.failed} | ${ref.failed} | |`,
      '',
      ...names.map((n) => {
        const h = result.healthz[n];
        return `agent /healthz during the ${n} storms: ${h.polls} polls, ${h.failures} failed, p50 ${h.p50Ms.toFixed(1)} ms, p99 ${h.p99Ms.toFixed(1)} ms, max ${h.maxMs.toFixed(1)} ms`;
      }),
    ];
    console.log(lines.join('\n'));
    console.log(`wrote ${writeBenchResult('storm', { ...result, wallsMs: walls, callMs: calls })}`);
  } finally {
    for (const p of procs) await p.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
