// Benchmark: node density. 250 pods added one after another on one node through the fast path
// (the native shim handing each call to `minicni serve`), then deleted one after another, beside
// the Go reference bridge + host-local doing the same in the same run. Each call is timed with
// the number of pods already on the node, so the curve shows whether a pod costs more when the
// node is full (goal: the 250th ADD and DEL within 1.2x of the first). It also counts what the
// node holds after each phase (bridge ports, firewall rule lines, IPAM store entries): per-pod
// state must be the pod's own (one port, one reservation) and the node rules must not grow.
// Runs as root inside a throwaway node netns that it creates and removes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServe } from '../scripts/serve.mjs';
import { benchNetnsName, cniCall, inThrowawayNodeNetns, writeBenchResult } from '@minicni/testkit/bench-node';

const here = dirname(fileURLToPath(import.meta.url));
const MINICNI = process.env.MINICNI_PLUGIN ?? resolve(here, '..', 'dist', 'minicni');
const SHIM = process.env.MINICNI_SHIM ?? resolve(here, '..', 'dist', 'minicni-shim');
const REF_DIR = '/usr/lib/cni';
const PODS = Number(process.env.BENCH_PODS ?? 250);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** The first and the last calls compared: the median of this many at each end of a round. */
const EDGE = 5;

if (inThrowawayNodeNetns(import.meta.url, 'mcnidense')) await inner();

function countLines(cmd, args, keep = () => true) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim() && keep(l)).length;
}

/** What the node holds: the bridge's ports, the nat+filter rule lines, the store's entries. */
function nodeState(bridge, storeDir) {
  let store = 0;
  try {
    store = readdirSync(storeDir).filter((f) => /^[0-9a-f.:]+$/i.test(f)).length;
  } catch {
    // no store yet
  }
  return {
    bridgePorts: countLines('ip', ['-o', 'link', 'show', 'master', bridge]),
    // Both backends: the reference writes through `iptables`, minicni through the one it detects.
    ruleLines: ['iptables-nft-save', 'iptables-legacy-save', 'ip6tables-nft-save', 'ip6tables-legacy-save']
      .map((tool) => countLines(tool, [], (l) => l.startsWith('-A')))
      .reduce((a, b) => a + b, 0),
    storeEntries: store,
  };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function inner() {
  const work = mkdtempSync(join(tmpdir(), 'minicni-density-'));
  const socket = join(work, 'run', 'plugin.sock');
  const server = await startServe(MINICNI, socket);
  process.on('exit', () => server.child.kill('SIGKILL')); // also when the run fails
  const plugins = {
    'minicni fast path': {
      bin: SHIM,
      path: dirname(MINICNI),
      env: { MINICNI_AGENT_SOCKET: socket },
      bridge: 'mcdense0',
      store: join(work, 'mc', 'densemc'),
      conf: {
        cniVersion: '1.0.0',
        name: 'densemc',
        type: 'minicni',
        bridge: 'mcdense0',
        subnet: '10.244.0.0/16',
        ipMasq: true,
        isGateway: true,
        dataDir: join(work, 'mc'),
      },
    },
    reference: {
      bin: join(REF_DIR, 'bridge'),
      path: REF_DIR,
      bridge: 'refdense0',
      store: join(work, 'ref', 'denseref'),
      conf: {
        cniVersion: '1.0.0',
        name: 'denseref',
        type: 'bridge',
        bridge: 'refdense0',
        isGateway: true,
        ipMasq: true,
        ipam: { type: 'host-local', subnet: '10.245.0.0/16', dataDir: join(work, 'ref') },
      },
    },
  };
  const names = Object.keys(plugins);
  // calls[name].add[i] = ms of the ADD made with i pods already there, one array per round.
  const calls = Object.fromEntries(names.map((n) => [n, { add: [], del: [] }]));
  const states = Object.fromEntries(names.map((n) => [n, []]));
  // The server's resident memory and open fds after each round: both must stay flat.
  const serverRounds = [];
  const serverNow = () => {
    const status = spawnSync('cat', [`/proc/${server.child.pid}/status`], { encoding: 'utf8' }).stdout;
    return {
      rssKiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]),
      fds: readdirSync(`/proc/${server.child.pid}/fd`).length,
    };
  };
  const must = (r, what) => {
    if (r.code !== 0) throw new Error(`${what} failed: ${r.out} ${r.err}`);
    return r;
  };
  try {
    // Warm up: the bridge and the node rules are created by a node's first pod, not measured here.
    for (const n of names) {
      const ns = benchNetnsName('mcnidpw');
      spawnSync('ip', ['netns', 'add', ns]);
      must(await cniCall(plugins[n], 'ADD', ns, 'warm'), `${n} warm ADD`);
      must(await cniCall(plugins[n], 'DEL', ns, 'warm'), `${n} warm DEL`);
      spawnSync('ip', ['netns', 'del', ns]);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of names) {
        const p = plugins[n];
        const nss = Array.from({ length: PODS }, () => {
          const ns = benchNetnsName('mcnidp');
          spawnSync('ip', ['netns', 'add', ns]);
          return ns;
        });
        const add = [];
        for (let i = 0; i < PODS; i++)
          add.push(must(await cniCall(p, 'ADD', nss[i], `d${round}-${i}`), `${n} ADD`).ms);
        const full = nodeState(p.bridge, p.store);
        // DEL newest first: the k-th DEL runs with PODS - k pods on the node; stored by pods present - 1.
        const del = new Array(PODS);
        for (let i = PODS - 1; i >= 0; i--)
          del[i] = must(await cniCall(p, 'DEL', nss[i], `d${round}-${i}`), `${n} DEL`).ms;
        const empty = nodeState(p.bridge, p.store);
        for (const ns of nss) spawnSync('ip', ['netns', 'del', ns]);
        calls[n].add.push(add);
        calls[n].del.push(del);
        states[n].push({ round, full, empty });
      }
      serverRounds.push(serverNow());
    }
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }

  const summary = Object.fromEntries(
    names.map((n) => {
      const edge = (rounds, from) => median(rounds.flatMap((xs) => xs.slice(from, from + EDGE)));
      const firstAdd = edge(calls[n].add, 0);
      const lastAdd = edge(calls[n].add, PODS - EDGE);
      const firstDel = edge(calls[n].del, 0);
      const lastDel = edge(calls[n].del, PODS - EDGE);
      return [
        n,
        {
          addFirstMs: firstAdd,
          addLastMs: lastAdd,
          addGrowth: lastAdd / firstAdd,
          delFirstMs: firstDel,
          delLastMs: lastDel,
          delGrowth: lastDel / firstDel,
          addMedianMs: median(calls[n].add.flat()),
          delMedianMs: median(calls[n].del.flat()),
        },
      ];
    }),
  );
  const mc = summary['minicni fast path'];
  const ref = summary.reference;
  const lines = [
    `${PODS} pods added one after another on one node, then deleted newest first; ${ROUNDS} rounds;`,
    `"first" and "last" are the median of the ${EDGE} calls at each end over all rounds`,
    '',
    '| measure | minicni fast path | reference bridge + host-local | ratio |',
    '|---|---|---|---|',
    ...[
      ['ADD, 1st pods', 'addFirstMs'],
      [`ADD, ${PODS}th pods`, 'addLastMs'],
      ['DEL, with 1 pod left', 'delFirstMs'],
      [`DEL, with ${PODS} pods`, 'delLastMs'],
      ['ADD median, all', 'addMedianMs'],
      ['DEL median, all', 'delMedianMs'],
    ].map(
      ([what, k]) =>
        `| ${what} | ${mc[k].toFixed(1)} ms | ${ref[k].toFixed(1)} ms | ${(mc[k] / ref[k]).toFixed(2)} |`,
    ),
    `| last / first, ADD (goal <= 1.2) | ${mc.addGrowth.toFixed(2)} | ${ref.addGrowth.toFixed(2)} | |`,
    `| last / first, DEL (goal <= 1.2) | ${mc.delGrowth.toFixed(2)} | ${ref.delGrowth.toFixed(2)} | |`,
    '',
    ...names.map((n) => {
      const s = states[n].at(-1);
      return `${n}: with ${PODS} pods ${s.full.bridgePorts} bridge ports, ${s.full.storeEntries} store entries, ${s.full.ruleLines} rule lines; after the DELs ${s.empty.bridgePorts} ports, ${s.empty.storeEntries} entries, ${s.empty.ruleLines} rule lines`;
    }),
  ];
  console.log(lines.join('\n'));
  console.log(
    `minicni serve after each round: ${serverRounds.map((r) => `${(r.rssKiB / 1024).toFixed(1)} MiB, ${r.fds} fds`).join('; ')}`,
  );
  console.log(
    `wrote ${writeBenchResult('density', { pods: PODS, rounds: ROUNDS, edge: EDGE, summary, states, serverRounds, callMs: calls })}`,
  );
}
