import type { LabPod, MultiNodeLab, PodPlugin } from '@minicni/testkit/multinode';

/** The pods the four checks expect: two on n1, one on n2, one on n3 (behind the router). */
export const LAB_PODS = [
  ['p1a', 'n1'],
  ['p1b', 'n1'],
  ['p2', 'n2'],
  ['p3', 'n3'],
] as const;

/** Adds LAB_PODS with `plugin`, in order. */
export async function addLabPods(lab: MultiNodeLab, plugin: PodPlugin): Promise<void> {
  for (const [pod, node] of LAB_PODS) await lab.addPod(node, plugin, pod);
}

export interface CheckRow {
  check: 'pod -> its node' | 'pod -> pod, same node' | 'pod -> another node' | 'pod -> pod, across nodes';
  from: string;
  to: string;
  /** Whether the mode can carry this path (host-gw cannot cross the router). */
  applicable: boolean;
  ok: boolean;
}

/**
 * The seed's four checks, over every kind of path the lab has: same L2 segment (n1-n2) and
 * across the router (n3). Expects pods p1a, p1b on n1, p2 on n2, p3 on n3.
 */
export async function fourChecks(lab: MultiNodeLab, mode: string): Promise<CheckRow[]> {
  const pod = (name: string): LabPod => {
    const p = lab.pods.find((x) => x.name === name);
    if (!p) throw new Error(`no pod ${name}`);
    return p;
  };
  const [p1a, p1b, p2, p3] = ['p1a', 'p1b', 'p2', 'p3'].map(pod) as [LabPod, LabPod, LabPod, LabPod];
  const routed = (a: LabPod, b: { segment: string }) => a.node.segment !== b.segment;
  const plan: [CheckRow['check'], LabPod, string, string, boolean][] = [
    ['pod -> its node', p1a, lab.node('n1').ip, 'n1', true],
    ['pod -> its node', p3, lab.node('n3').ip, 'n3', true],
    ['pod -> pod, same node', p1a, p1b.ip, 'p1b', true],
    ['pod -> another node', p1a, lab.node('n2').ip, 'n2', true],
    ['pod -> another node', p1a, lab.node('n3').ip, 'n3', !routed(p1a, lab.node('n3'))],
    ['pod -> another node', p3, lab.node('n1').ip, 'n1', !routed(p3, lab.node('n1'))],
    ['pod -> pod, across nodes', p1a, p2.ip, 'p2', true],
    ['pod -> pod, across nodes', p1a, p3.ip, 'p3', !routed(p1a, p3.node)],
    ['pod -> pod, across nodes', p3, p2.ip, 'p2', !routed(p3, p2.node)],
  ];
  const rows: CheckRow[] = [];
  for (const [check, from, to, toName, sameL2] of plan) {
    const applicable = mode !== 'host-gw' || sameL2;
    const ok = await lab.ping(from, to);
    rows.push({
      check,
      from: `${from.name}@${from.node.name} (${from.ip})`,
      to: `${toName} (${to})`,
      applicable,
      ok,
    });
  }
  return rows;
}

export function formatChecks(mode: string, rows: CheckRow[]): string {
  const w = [26, 28, 22];
  const line = (a: string, b: string, c: string, d: string) =>
    `  ${a.padEnd(w[0]!)}${b.padEnd(w[1]!)}${c.padEnd(w[2]!)}${d}`;
  const out = [`mode ${mode}:`, line('check', 'from', 'to', 'result')];
  for (const r of rows) {
    const result = r.applicable
      ? r.ok
        ? 'PASS'
        : 'FAIL'
      : r.ok
        ? 'reachable (n/a)'
        : 'n/a: host-gw cannot cross the router';
    out.push(line(r.check, r.from, r.to, result));
  }
  return out.join('\n');
}
