// Benchmark: minicni against the Go reference bridge + host-local, all with ipMasq, in one run.
// minicni runs two ways: the standalone single executable (dist/minicni, a Node start per call)
// and the fast path a node with the agent uses (dist/minicni-shim forwarding each call to the
// plugin served by `minicni serve`, started here in the same node netns).
// Prints ADD and DEL medians, the wall time of 100 pods added (and deleted) at once, peak memory
// per call and processes spawned per ADD, each with the ratio to the reference.
// Runs as root inside a throwaway node netns that it creates and removes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServe } from '../scripts/serve.mjs';
import { cniCall } from '@minicni/testkit/bench-node';

const here = dirname(fileURLToPath(import.meta.url));
const MINICNI = process.env.MINICNI_PLUGIN ?? resolve(here, '..', 'dist', 'minicni');
const SHIM = process.env.MINICNI_SHIM ?? resolve(here, '..', 'dist', 'minicni-shim');
const REF_DIR = '/usr/lib/cni';
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 100);

if (process.argv[2] !== '--inner') {
  const node = `mcnibench-${process.pid.toString(36)}`;
  spawnSync('ip', ['netns', 'add', node], { stdio: 'inherit' });
  try {
    const r = spawnSync(
      'nsenter',
      [`--net=/run/netns/${node}`, '--', process.execPath, fileURLToPath(import.meta.url), '--inner'],
      {
        stdio: 'inherit',
      },
    );
    process.exitCode = r.status ?? 1;
  } finally {
    spawnSync('ip', ['netns', 'del', node]);
  }
} else {
  await inner();
}

async function inner() {
  spawnSync('ip', ['link', 'set', 'lo', 'up']);
  const work = mkdtempSync(join(tmpdir(), 'minicni-bench-'));
  // The served plugin, as the agent runs it: its own process in the node netns.
  const socket = join(work, 'run', 'plugin.sock');
  const server = await startServe(MINICNI, socket);
  process.on('exit', () => server.child.kill('SIGKILL')); // also when the run fails
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
  let seq = 0;
  const newPod = () => {
    const ns = `mcnibpod${(seq++).toString(36)}${process.pid.toString(36)}`;
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
  const agentPeak = Number(
    /VmHWM:\s+(\d+)/.exec(
      spawnSync('cat', [`/proc/${server.child.pid}/status`], { encoding: 'utf8' }).stdout,
    )?.[1],
  );
  await server.stop();
  rmSync(work, { recursive: true, force: true });

  const med = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
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
    row('DEL median', (r) => med(r.del), 'ms'),
    row(`${PARALLEL} ADDs at once (wall)`, (r) => r.parAdd, 'ms'),
    row(`${PARALLEL} DELs at once (wall)`, (r) => r.parDel, 'ms'),
    row('peak RSS per ADD (median of 5)', (r) => med(r.rss) / 1024, 'MiB'),
    `| processes spawned per ADD | ${mine.map((n) => results[n].spawns).join(' | ')} | ${ref.spawns} |`,
    '',
    `agent (minicni serve) peak RSS over the whole run: ${(agentPeak / 1024).toFixed(1)} MiB`,
    ...names.map((n) => `parallel ${n}: ${results[n].parOk}`),
  ];
  console.log(lines.join('\n'));
  if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, lines.join('\n') + '\n');
}
