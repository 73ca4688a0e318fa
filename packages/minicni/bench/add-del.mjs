// Benchmark: minicni against the Go reference bridge + host-local, all with ipMasq, in one run.
// minicni runs three ways: the standalone single executable (dist/minicni, a Node start per call);
// the fast path a node with the agent uses (dist/minicni-shim forwarding each call to the plugin
// served by `minicni serve`, started here in the same node netns); and a node without the agent
// (the shim installed as `minicni` beside `minicni-standalone`, "onDemand": true: the first call
// starts the on-demand server, later calls reuse it). The on-demand server's first call (the
// cold start: the server's start and the call) is measured apart, COLD times, each after stopping
// the server.
// Prints ADD and DEL median and p90, the wall time of 100 pods added (and deleted) at once, peak
// memory per call and processes spawned per ADD, each with the ratio to the reference, and writes
// every call's time to docs/bench/add-del.json.
// Runs as root inside a throwaway node netns that it creates and removes (with the benches' leak check).
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServe } from '../scripts/serve.mjs';
import { benchNetnsName, cniCall, inThrowawayNodeNetns, writeBenchResult } from '@minicni/testkit/bench-node';
import { stopOnDemandServer } from '@minicni/fastpath';

const here = dirname(fileURLToPath(import.meta.url));
const MINICNI = process.env.MINICNI_PLUGIN ?? resolve(here, '..', 'dist', 'minicni');
const SHIM = process.env.MINICNI_SHIM ?? resolve(here, '..', 'dist', 'minicni-shim');
const REF_DIR = '/usr/lib/cni';
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 100);
const COLD = Number(process.env.BENCH_COLD ?? 7);

if (inThrowawayNodeNetns(import.meta.url, 'mcnibench')) await inner();

async function inner() {
  const work = mkdtempSync(join(tmpdir(), 'minicni-bench-'));
  // A node without the agent: the shim as `minicni` (a copy: it finds minicni-standalone beside
  // its own file) and the executable as `minicni-standalone`, its socket directory in `work`.
  const odBin = join(work, 'bin');
  mkdirSync(odBin);
  copyFileSync(SHIM, join(odBin, 'minicni'));
  symlinkSync(MINICNI, join(odBin, 'minicni-standalone'));
  const odSocket = join(work, 'od', 'plugin.sock');
  mkdirSync(dirname(odSocket), { mode: 0o700 });
  // The served plugin, as the agent runs it: its own process in the node netns.
  const socket = join(work, 'run', 'plugin.sock');
  const server = await startServe(MINICNI, socket);
  process.on('exit', () => server.child.kill('SIGKILL')); // also when the run fails
  process.on('exit', () => {
    try {
      const pid = Number(readFileSync(join(dirname(odSocket), 'ondemand.pid'), 'utf8'));
      if (pid > 1) spawnSync('kill', ['-9', String(pid)]);
    } catch {
      // not running (stopped at the end of a run that went well)
    }
  });
  const plugins = {
    minicni: {
      bin: MINICNI,
      path: dirname(MINICNI),
      conf: {
        cniVersion: '1.0.0',
        name: 'benchmc',
        type: 'minicni',
        bridge: 'mcbench0',
        subnet: '10.244.0.0/16',
        ipMasq: true,
        isGateway: true,
        dataDir: join(work, 'mc'),
      },
    },
    'minicni-agent': {
      bin: SHIM,
      path: dirname(MINICNI),
      env: { MINICNI_AGENT_SOCKET: socket },
      conf: {
        cniVersion: '1.0.0',
        name: 'benchsh',
        type: 'minicni',
        bridge: 'mcbench1',
        subnet: '10.246.0.0/16',
        ipMasq: true,
        isGateway: true,
        dataDir: join(work, 'sh'),
      },
    },
    'minicni-ondemand': {
      bin: join(odBin, 'minicni'),
      path: odBin,
      conf: {
        cniVersion: '1.0.0',
        name: 'benchod',
        type: 'minicni',
        bridge: 'mcbench2',
        subnet: '10.247.0.0/16',
        ipMasq: true,
        isGateway: true,
        dataDir: join(work, 'od-data'),
        agentSocket: odSocket,
        onDemand: true,
      },
    },
    reference: {
      bin: join(REF_DIR, 'bridge'),
      path: REF_DIR,
      conf: {
        cniVersion: '1.0.0',
        name: 'benchref',
        type: 'bridge',
        bridge: 'refbench0',
        isGateway: true,
        ipMasq: true,
        ipam: { type: 'host-local', subnet: '10.245.0.0/16', dataDir: join(work, 'ref') },
      },
    },
  };
  const names = Object.keys(plugins);
  const results = Object.fromEntries(names.map((n) => [n, { add: [], del: [], rss: [], spawns: undefined }]));
  const newPod = () => {
    const ns = benchNetnsName('mcnibp');
    spawnSync('ip', ['netns', 'add', ns]);
    return ns;
  };
  const must = (r, what) => {
    if (r.code !== 0) throw new Error(`${what} failed: ${r.out} ${r.err}`);
    return r;
  };

  // Warm up each plugin (page cache, bridge and node rules created once).
  for (const n of names) {
    const ns = newPod();
    must(await cniCall(plugins[n], 'ADD', ns, `warm-${n}`), `${n} warm ADD`);
    must(await cniCall(plugins[n], 'DEL', ns, `warm-${n}`), `${n} warm DEL`);
    spawnSync('ip', ['netns', 'del', ns]);
  }
  // The on-demand server's cold start: its first call, each time after stopping it, beside a
  // standalone call (always a cold start) and a reference call made right after.
  const cold = { ondemandAdd: [], standaloneAdd: [], referenceAdd: [] };
  for (let i = 0; i < COLD; i++) {
    await stopOnDemandServer(odSocket);
    for (const [n, key] of [
      ['minicni-ondemand', 'ondemandAdd'],
      ['minicni', 'standaloneAdd'],
      ['reference', 'referenceAdd'],
    ]) {
      const ns = newPod();
      cold[key].push(must(await cniCall(plugins[n], 'ADD', ns, `cold-${n}-${i}`), `${n} cold ADD`).ms);
      must(await cniCall(plugins[n], 'DEL', ns, `cold-${n}-${i}`), `${n} cold DEL`);
      spawnSync('ip', ['netns', 'del', ns]);
    }
  }
  // Warm again for what follows.
  {
    const ns = newPod();
    must(await cniCall(plugins['minicni-ondemand'], 'ADD', ns, 'rewarm'), 'on-demand ADD');
    must(await cniCall(plugins['minicni-ondemand'], 'DEL', ns, 'rewarm'), 'on-demand DEL');
    spawnSync('ip', ['netns', 'del', ns]);
  }

  // Sequential ADD/DEL, interleaved so machine noise hits both alike.
  const pods = [];
  for (let i = 0; i < RUNS; i++) {
    for (const n of names) {
      const ns = newPod();
      pods.push(ns);
      results[n].add.push(must(await cniCall(plugins[n], 'ADD', ns, `seq-${n}-${i}`), `${n} ADD`).ms);
    }
  }
  for (let i = 0; i < RUNS; i++) {
    for (const n of names) {
      results[n].del.push(
        must(
          await cniCall(plugins[n], 'DEL', pods[i * names.length + names.indexOf(n)], `seq-${n}-${i}`),
          `${n} DEL`,
        ).ms,
      );
    }
  }
  for (const ns of pods) spawnSync('ip', ['netns', 'del', ns]);

  // Peak memory (max RSS) and processes spawned, per ADD.
  for (const n of names) {
    for (let i = 0; i < 5; i++) {
      const ns = newPod();
      const r = must(
        await cniCall(plugins[n], 'ADD', ns, `mem-${n}-${i}`, ['/usr/bin/time', '-f', '%M']),
        `${n} ADD (time)`,
      );
      results[n].rss.push(Number(r.err.trim().split('\n').pop()));
      if (i === 0) {
        const log = join(work, `strace-${n}`);
        await cniCall(plugins[n], 'DEL', ns, `mem-${n}-${i}`);
        must(
          await cniCall(plugins[n], 'ADD', ns, `mem-${n}-${i}`, [
            'strace',
            '-f',
            '-qq',
            '-e',
            'trace=execve',
            '-o',
            log,
          ]),
          `${n} ADD (strace)`,
        );
        const text = spawnSync('cat', [log], { encoding: 'utf8' }).stdout;
        results[n].spawns =
          text.split('\n').filter((l) => /execve\(/.test(l) && !/ENOENT/.test(l)).length - 1;
      }
      must(await cniCall(plugins[n], 'DEL', ns, `mem-${n}-${i}`), `${n} DEL`);
      spawnSync('ip', ['netns', 'del', ns]);
    }
  }

  // 100 pods at once, then all deleted at once.
  for (const n of names) {
    const nss = Array.from({ length: PARALLEL }, newPod);
    let t0 = Date.now();
    const adds = await Promise.all(nss.map((ns, i) => cniCall(plugins[n], 'ADD', ns, `par-${n}-${i}`)));
    results[n].parAdd = Date.now() - t0;
    const failedAdds = adds.filter((r) => r.code !== 0);
    const ips = new Set(adds.filter((r) => r.code === 0).map((r) => JSON.parse(r.out).ips[0].address));
    t0 = Date.now();
    const dels = await Promise.all(nss.map((ns, i) => cniCall(plugins[n], 'DEL', ns, `par-${n}-${i}`)));
    results[n].parDel = Date.now() - t0;
    results[n].parOk =
      `${adds.length - failedAdds.length}/${PARALLEL} ok, ${ips.size} distinct IPs, ${dels.filter((r) => r.code === 0).length} DEL ok`;
    if (failedAdds.length)
      console.error(
        `${n}: ${failedAdds.length} parallel ADDs failed, e.g. ${failedAdds[0].out} ${failedAdds[0].err}`,
      );
    for (const ns of nss) spawnSync('ip', ['netns', 'del', ns]);
  }
  const peakOf = (pid) =>
    Number(
      /VmHWM:\s+(\d+)/.exec(spawnSync('cat', [`/proc/${pid}/status`], { encoding: 'utf8' }).stdout)?.[1],
    );
  const agentPeak = peakOf(server.child.pid);
  const odPid = Number(readFileSync(join(dirname(odSocket), 'ondemand.pid'), 'utf8'));
  const odPeak = peakOf(odPid);
  await server.stop();
  const stopped = await stopOnDemandServer(odSocket);
  if (stopped !== odPid) throw new Error(`the on-demand server ${odPid} was not the one running at the end`);
  rmSync(work, { recursive: true, force: true });

  const med = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.9) - 1)];
  const ref = results.reference;
  const mine = names.filter((n) => n !== 'reference');
  const row = (what, pick, unit) =>
    `| ${what} | ${mine.map((n) => `${pick(results[n]).toFixed(1)} ${unit} (${(pick(results[n]) / pick(ref)).toFixed(2)})`).join(' | ')} | ${pick(ref).toFixed(1)} ${unit} |`;
  const lines = [
    `minicni vs reference bridge+host-local, all ipMasq, ${RUNS} runs each, interleaved, in one node netns`,
    '(ratio to the reference in parentheses)',
    '',
    `| measure | ${mine.join(' | ')} | reference |`,
    `|---|${mine.map(() => '---|').join('')}---|`,
    row('ADD median', (r) => med(r.add), 'ms'),
    row('ADD p90', (r) => p90(r.add), 'ms'),
    row('DEL median', (r) => med(r.del), 'ms'),
    row('DEL p90', (r) => p90(r.del), 'ms'),
    row(`${PARALLEL} ADDs at once (wall)`, (r) => r.parAdd, 'ms'),
    row(`${PARALLEL} DELs at once (wall)`, (r) => r.parDel, 'ms'),
    row('peak RSS per ADD (median of 5)', (r) => med(r.rss) / 1024, 'MiB'),
    `| processes spawned per ADD | ${mine.map((n) => results[n].spawns).join(' | ')} | ${ref.spawns} |`,
    '',
    `agent (minicni serve) peak RSS over the whole run: ${(agentPeak / 1024).toFixed(1)} MiB; ` +
      `on-demand server: ${(odPeak / 1024).toFixed(1)} MiB`,
    `cold start (median of ${COLD}, each after stopping the on-demand server): on-demand first ADD ` +
      `${med(cold.ondemandAdd).toFixed(1)} ms (${(med(cold.ondemandAdd) / med(cold.referenceAdd)).toFixed(2)}), ` +
      `standalone ADD ${med(cold.standaloneAdd).toFixed(1)} ms (${(med(cold.standaloneAdd) / med(cold.referenceAdd)).toFixed(2)}), ` +
      `reference ADD ${med(cold.referenceAdd).toFixed(1)} ms`,
    ...names.map((n) => `parallel ${n}: ${results[n].parOk}`),
  ];
  console.log(lines.join('\n'));
  if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, lines.join('\n') + '\n');
  const summary = Object.fromEntries(
    names.map((n) => {
      const r = results[n];
      return [
        n,
        {
          addMedianMs: med(r.add),
          addP90Ms: p90(r.add),
          delMedianMs: med(r.del),
          delP90Ms: p90(r.del),
          addRatio: med(r.add) / med(ref.add),
          delRatio: med(r.del) / med(ref.del),
          parallelAddWallMs: r.parAdd,
          parallelDelWallMs: r.parDel,
          peakRssKiB: med(r.rss),
          spawnsPerAdd: r.spawns,
        },
      ];
    }),
  );
  const calls = Object.fromEntries(names.map((n) => [n, { addMs: results[n].add, delMs: results[n].del }]));
  console.log(
    `wrote ${writeBenchResult('add-del', {
      runs: RUNS,
      parallel: PARALLEL,
      summary,
      coldStart: {
        runs: COLD,
        ondemandAddMedianMs: med(cold.ondemandAdd),
        standaloneAddMedianMs: med(cold.standaloneAdd),
        referenceAddMedianMs: med(cold.referenceAdd),
        ...Object.fromEntries(Object.entries(cold).map(([k, v]) => [`${k}Ms`, v])),
      },
      serverPeakRssKiB: { agent: agentPeak, ondemand: odPeak },
      callMs: calls,
    })}`,
  );
}
