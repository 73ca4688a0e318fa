// The charts of docs/performance.md: for each, the bench whose JSON feeds it and the Vega-Lite
// spec built from that JSON. Shared look: one width, a white background, the machine and date
// of the run in the subtitle, so a chart read on its own still says where it was measured.

const WIDTH = 520;

/** "2 × AMD EPYC, Node v20.20.2, 2026-12-03": the run a chart comes from. */
function subtitle(result) {
  const m = result.machine ?? {};
  return `${m.cpus ?? '?'} × ${m.cpuModel ?? '?'}, kernel ${m.kernel ?? '?'}, Node ${m.node ?? '?'}, ${String(result.date ?? '').slice(0, 10)}`;
}

function base(result, title) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: subtitle(result), anchor: 'start' },
    background: 'white',
    config: { font: 'sans-serif', view: { stroke: null } },
  };
}

/** Rows { series, command, ms } from { series: { add: [ms], del: [ms] } }. */
function callRows(bySeries) {
  const rows = [];
  for (const [series, cmds] of Object.entries(bySeries)) {
    for (const [command, xs] of Object.entries(cmds)) {
      if (!Array.isArray(xs)) continue;
      for (const ms of xs) rows.push({ series, command: command.toUpperCase(), ms });
    }
  }
  return rows;
}

/** A box per series and command (min-max whiskers), log time axis: distributions side by side. */
function boxes(result, title, rows, yTitle) {
  return {
    ...base(result, title),
    data: { values: rows },
    facet: { column: { field: 'command', type: 'nominal', title: null } },
    spec: {
      width: WIDTH / 2,
      height: 260,
      mark: { type: 'boxplot', extent: 'min-max', size: 28 },
      encoding: {
        x: { field: 'series', type: 'nominal', title: null, axis: { labelAngle: -20 } },
        y: { field: 'ms', type: 'quantitative', title: yTitle, scale: { type: 'log' } },
        color: { field: 'series', type: 'nominal', legend: null },
      },
    },
  };
}

/** A dashed rule at a goal's value on one axis: a layer over the chart it is a goal of. */
function goalRule(axis, goal) {
  return {
    data: { values: [{ goal }] },
    mark: { type: 'rule', strokeDash: [4, 3], color: '#444' },
    encoding: { [axis]: { field: 'goal', type: 'quantitative' } },
  };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Rows { series, command, pods, ms }: the median over rounds of the call made with `pods` there. */
function densityRows(r) {
  const rows = [];
  for (const [series, cmds] of Object.entries(r.callMs)) {
    for (const [command, rounds] of Object.entries(cmds)) {
      for (let i = 0; i < r.pods; i++) {
        rows.push({
          series,
          command: command.toUpperCase(),
          pods: i + 1,
          ms: median(rounds.map((xs) => xs[i])),
        });
      }
    }
  }
  return rows;
}

export const CHARTS = [
  {
    name: 'add-del',
    bench: 'add-del',
    spec: (r) =>
      boxes(
        r,
        `ADD and DEL, one call at a time (${r.runs} each): standalone, fast path, on-demand, reference`,
        callRows(
          Object.fromEntries(
            Object.entries(r.callMs).map(([series, c]) => [
              {
                minicni: 'standalone',
                'minicni-agent': 'fast path (agent)',
                'minicni-ondemand': 'on demand (no agent)',
              }[series] ?? series,
              { add: c.addMs, del: c.delMs },
            ]),
          ),
        ),
        'ms per call (log)',
      ),
  },
  {
    name: 'storm-calls',
    bench: 'storm',
    spec: (r) =>
      boxes(
        r,
        `${r.parallel} pods at once: each call's time (${r.rounds} bursts, agent running)`,
        callRows(r.callMs),
        'ms per call (log)',
      ),
  },
  {
    name: 'storm-walls',
    bench: 'storm',
    spec: (r) => ({
      ...base(r, `${r.parallel} pods at once: wall time of the burst (median of ${r.rounds})`),
      width: WIDTH,
      height: 160,
      data: {
        values: ['add', 'del'].flatMap((cmd) => [
          { series: 'minicni fast path', command: cmd.toUpperCase(), ms: r[`${cmd}WallMs`].fastPath },
          { series: 'reference', command: cmd.toUpperCase(), ms: r[`${cmd}WallMs`].reference },
        ]),
      },
      mark: 'bar',
      encoding: {
        y: { field: 'command', type: 'nominal', title: null },
        yOffset: { field: 'series' },
        x: { field: 'ms', type: 'quantitative', title: 'ms, whole burst' },
        color: { field: 'series', type: 'nominal', title: null },
      },
    }),
  },
  {
    name: 'density',
    bench: 'density',
    spec: (r) => ({
      ...base(r, `Node density: each call's time by the pods on the node (median of ${r.rounds} rounds)`),
      data: { values: densityRows(r) },
      facet: { column: { field: 'command', type: 'nominal', title: null } },
      spec: {
        width: WIDTH / 2,
        height: 240,
        mark: { type: 'line', strokeWidth: 1.2 },
        encoding: {
          x: { field: 'pods', type: 'quantitative', title: 'pods on the node' },
          y: { field: 'ms', type: 'quantitative', title: 'ms per call (log)', scale: { type: 'log' } },
          color: { field: 'series', type: 'nominal', title: null },
        },
      },
    }),
  },
  {
    name: 'soak',
    bench: 'soak',
    spec: (r) => ({
      ...base(r, `Soak: the served plugin over ${r.shimCycles} ADD/DEL cycles (${r.concurrency} in flight)`),
      data: {
        values: r.server.samples.flatMap((x) => [
          { cycles: x.cycles, measure: 'RSS, MiB', value: x.rssKiB / 1024 },
          { cycles: x.cycles, measure: 'open fds', value: x.fds },
        ]),
      },
      facet: { row: { field: 'measure', type: 'nominal', title: null } },
      resolve: { scale: { y: 'independent' } },
      spec: {
        width: WIDTH,
        height: 120,
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'cycles', type: 'quantitative', title: 'cycles done' },
          y: { field: 'value', type: 'quantitative', title: null, scale: { zero: true } },
        },
      },
    }),
  },
  {
    name: 'dataplane',
    bench: 'dataplane',
    spec: (r) => ({
      ...base(
        r,
        `Data plane: one TCP stream (iperf3, ${r.seconds} s, median of ${r.rounds ?? 1} rounds), policy with ${r.policies} policies`,
      ),
      width: WIDTH,
      height: 220,
      data: {
        values: r.results.map((x) => ({
          path: `${x.mode}${x.policy ? ', policy on' : ''}: ${x.path}`,
          gbit: x.gbitPerSec,
          kind: x.path.startsWith('node') ? 'underlay (reference)' : x.policy ? 'pods, policy on' : 'pods',
        })),
      },
      mark: 'bar',
      encoding: {
        y: { field: 'path', type: 'nominal', sort: null, title: null, axis: { labelLimit: 420 } },
        x: { field: 'gbit', type: 'quantitative', title: 'Gbit/s' },
        color: { field: 'kind', type: 'nominal', title: null, legend: { labelLimit: 240 } },
      },
    }),
  },
  {
    name: 'scale-convergence',
    bench: 'scale',
    spec: (r) => ({
      ...base(r, 'Agent convergence: start to every route, FDB and neighbour entry in the kernel'),
      width: WIDTH,
      height: 220,
      data: { values: r.convergence.map((x) => ({ ...x, seconds: x.initialProgrammingMs / 1000 })) },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'nodes', type: 'quantitative', title: 'nodes in the cluster' },
        y: { field: 'seconds', type: 'quantitative', title: 'seconds' },
        color: { field: 'mode', type: 'nominal', title: 'mode' },
      },
    }),
  },
  {
    name: 'scale-cpu',
    bench: 'scale',
    spec: (r) => ({
      ...base(r, `Agent CPU at ${r.nodes} nodes: idle, and under ${r.heartbeatsPerSec} node heartbeats/s`),
      width: WIDTH,
      height: 140,
      layer: [
        {
          data: {
            values: r.results.flatMap((x) => [
              { mode: x.mode, state: 'idle', cpu: x.idle.cpuPercent },
              { mode: x.mode, state: 'heartbeats', cpu: x.heartbeats.cpuPercent },
            ]),
          },
          mark: 'bar',
          encoding: {
            y: { field: 'mode', type: 'nominal', title: null },
            yOffset: { field: 'state' },
            x: { field: 'cpu', type: 'quantitative', title: '% of one core', scale: { domainMin: 0 } },
            color: { field: 'state', type: 'nominal', title: null },
          },
        },
        goalRule('x', 10),
      ],
    }),
  },
  {
    name: 'policy-enforce',
    bench: 'policy-enforce',
    spec: (r) => ({
      ...base(
        r,
        `Policy enforcement: watch event to the kernel enforcing it (${r.pods} pods, ${r.policies} policies)`,
      ),
      width: WIDTH,
      height: 200,
      layer: [
        {
          data: {
            values: Object.entries(r.enforceMs).flatMap(([event, x]) => [
              { event, stat: 'p50', ms: x.p50 },
              { event, stat: 'p99', ms: x.p99 },
            ]),
          },
          mark: 'bar',
          encoding: {
            y: { field: 'event', type: 'nominal', title: null },
            yOffset: { field: 'stat' },
            x: { field: 'ms', type: 'quantitative', title: 'ms (goal: p99 <= 100)' },
            color: { field: 'stat', type: 'nominal', title: null },
          },
        },
        goalRule('x', 100),
      ],
    }),
  },
  {
    name: 'policy-scale',
    bench: 'policy-scale',
    spec: (r) => ({
      ...base(
        r,
        `Agent RSS through the initial sync: ${r.cluster.pods} pods, ${r.cluster.namespaces} namespaces, ${r.cluster.policies} policies`,
      ),
      width: WIDTH,
      height: 200,
      layer: [
        {
          data: { values: r.samples },
          mark: { type: 'line' },
          encoding: {
            x: { field: 'seconds', type: 'quantitative', title: 'seconds since start' },
            y: { field: 'rssMiB', type: 'quantitative', title: 'RSS, MiB' },
          },
        },
        goalRule('y', r.goalMiB),
      ],
    }),
  },
];
