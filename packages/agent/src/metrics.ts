import type { RangeUsage } from './ipam-usage.js';
import { SYNC_BUCKETS, type PolicyStatus } from './policy-controller.js';
import type { PolicyDrops } from './policy-nft.js';
import type { ReconcileStatus } from './reconciler.js';

export interface MetricsInput {
  status: ReconcileStatus;
  ready: boolean;
  ipam: RangeUsage[];
  source?: { lists: number; watches: number; gone: number; failures: number };
  policy?: PolicyStatus;
  /** The policy table's drop counters, carried across ruleset replacements (when read). */
  policyDrops?: PolicyDrops;
  process: { rssBytes: number; cpuSeconds: number; startTimeSeconds: number };
}

type Sample = [labels: Record<string, string | number>, value: number];

/** Renders the Prometheus text exposition format (version 0.0.4). */
export function renderMetrics(m: MetricsInput): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labelText(labels)} ${formatValue(value)}`);
  };
  const s = m.status;
  const byKind = (kind: string) => new Set(s.paths.filter((p) => p.kind === kind).map((p) => p.node)).size;
  metric('minicni_agent_ready', 'gauge', 'Whether the node is set up (routes programmed at least once).', [
    [{}, m.ready ? 1 : 0],
  ]);
  metric('minicni_agent_self_known', 'gauge', 'Whether this node is in the node source with an InternalIP.', [
    [{}, s.selfKnown ? 1 : 0],
  ]);
  metric('minicni_agent_peers', 'gauge', 'Peer nodes by the path their pod CIDRs take.', [
    [{ path: 'host-gw' }, byKind('host-gw')],
    [{ path: 'vxlan' }, byKind('vxlan')],
    [{ path: 'unreachable' }, byKind('unreachable')],
  ]);
  metric('minicni_agent_routes', 'gauge', 'Routes to peer pod CIDRs the agent keeps.', [[{}, s.routes]]);
  metric('minicni_agent_vxlan_device', 'gauge', 'Whether the vxlan device is wanted.', [
    [{}, s.vxlan ? 1 : 0],
  ]);
  metric('minicni_agent_reconcile_passes_total', 'counter', 'Reconcile passes run.', [[{}, s.passes]]);
  metric(
    'minicni_agent_dataplane_changes_total',
    'counter',
    'Kernel changes applied (routes, neighbours, FDB, device).',
    [[{}, s.opsApplied]],
  );
  metric(
    'minicni_agent_dataplane_errors_total',
    'counter',
    'Kernel changes that failed (retried next pass).',
    [[{}, s.opErrors]],
  );
  if (s.lastSyncMs !== undefined) {
    metric(
      'minicni_agent_last_sync_timestamp_seconds',
      'gauge',
      'When the kernel last matched the desired state.',
      [[{}, s.lastSyncMs / 1000]],
    );
  }
  if (m.source) {
    metric('minicni_agent_node_lists_total', 'counter', 'Full node lists from the API server.', [
      [{}, m.source.lists],
    ]);
    metric('minicni_agent_node_watches_total', 'counter', 'Node watches opened.', [[{}, m.source.watches]]);
    metric('minicni_agent_node_watch_expired_total', 'counter', 'Watches ended by 410 Gone.', [
      [{}, m.source.gone],
    ]);
    metric('minicni_agent_node_watch_failures_total', 'counter', 'Failed node list/watch attempts.', [
      [{}, m.source.failures],
    ]);
  }
  if (m.policy) policyMetrics(m.policy, metric, lines);
  if (m.policyDrops) {
    const d = m.policyDrops;
    metric(
      'minicni_agent_policy_dropped_packets_total',
      'counter',
      'Packets the NetworkPolicy table dropped, by the direction that denied them.',
      [
        [{ direction: 'ingress' }, d.ingress.packets],
        [{ direction: 'egress' }, d.egress.packets],
      ],
    );
    metric(
      'minicni_agent_policy_dropped_bytes_total',
      'counter',
      'Bytes of the packets the NetworkPolicy table dropped, by direction.',
      [
        [{ direction: 'ingress' }, d.ingress.bytes],
        [{ direction: 'egress' }, d.egress.bytes],
      ],
    );
  }
  metric(
    'minicni_ipam_allocated_addresses',
    'gauge',
    'Addresses reserved in each pod range (host-local-format store).',
    m.ipam.map((u) => [{ network: u.network, range: u.range }, u.allocated]),
  );
  metric(
    'minicni_ipam_capacity_addresses',
    'gauge',
    'Usable addresses in each pod range.',
    m.ipam.map((u) => [{ network: u.network, range: u.range }, u.capacity]),
  );
  metric('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', [
    [{}, m.process.rssBytes],
  ]);
  metric('process_cpu_seconds_total', 'counter', 'User and system CPU time spent in seconds.', [
    [{}, m.process.cpuSeconds],
  ]);
  metric('process_start_time_seconds', 'gauge', 'Start time of the process since the epoch in seconds.', [
    [{}, m.process.startTimeSeconds],
  ]);
  return `${lines.join('\n')}\n`;
}

type MetricFn = (name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]) => void;

function policyMetrics(p: PolicyStatus, metric: MetricFn, lines: string[]): void {
  metric(
    'minicni_agent_policy_synced',
    'gauge',
    'Whether pods, namespaces, policies and this node are known.',
    [[{}, p.synced ? 1 : 0]],
  );
  metric('minicni_agent_policy_pending_changes', 'gauge', 'Changes seen and not yet in an applied ruleset.', [
    [{}, p.pending],
  ]);
  metric('minicni_agent_policy_networkpolicies', 'gauge', 'NetworkPolicies in the cache.', [
    [{}, p.policies],
  ]);
  metric('minicni_agent_policy_applies_total', 'counter', 'Rulesets handed to nft -f.', [[{}, p.applies]]);
  metric(
    'minicni_agent_policy_full_applies_total',
    'counter',
    'Of those, whole-table replacements (the others were deltas).',
    [[{}, p.fullApplies]],
  );
  metric(
    'minicni_agent_policy_applies_failed_total',
    'counter',
    'Syncs that failed to compile or apply (the previous ruleset stays; retried).',
    [[{}, p.applyFailures]],
  );
  metric('minicni_agent_policy_syncs_total', 'counter', 'Successful syncs (compile, and apply if changed).', [
    [{}, p.syncs],
  ]);
  metric('minicni_agent_policy_sync_seconds_total', 'counter', 'Time spent in successful syncs.', [
    [{}, p.syncSecondsTotal],
  ]);
  if (p.lastSyncSeconds !== undefined) {
    metric(
      'minicni_agent_policy_last_sync_duration_seconds',
      'gauge',
      'Duration of the last successful sync.',
      [[{}, p.lastSyncSeconds]],
    );
  }
  const h = 'minicni_agent_policy_sync_duration_seconds';
  lines.push(
    `# HELP ${h} Duration of successful syncs (compile, and nft -f when the ruleset changed).`,
    `# TYPE ${h} histogram`,
  );
  let cumulative = 0;
  for (const [i, le] of [...SYNC_BUCKETS, Infinity].entries()) {
    cumulative += p.syncBuckets[i] ?? 0;
    lines.push(`${h}_bucket{le="${le === Infinity ? '+Inf' : String(le)}"} ${cumulative}`);
  }
  lines.push(`${h}_sum ${String(p.syncSecondsTotal)}`, `${h}_count ${p.syncs}`);
  // A resourceVersion is opaque text to clients; etcd's are integers, and only those are shown.
  const versions = Object.entries(p.syncedResourceVersions).flatMap(([resource, v]): Sample[] =>
    v !== undefined && /^\d{1,15}$/.test(v) ? [[{ resource }, Number(v)]] : [],
  );
  if (versions.length) {
    metric(
      'minicni_agent_policy_synced_resource_version',
      'gauge',
      'API resourceVersion the ruleset in force reflects, per resource.',
      versions,
    );
  }
  const per = (k: 'lists' | 'pages' | 'watches' | 'gone' | 'failures') =>
    Object.entries(p.informers).map(([resource, s]): Sample => [{ resource }, s[k]]);
  metric('minicni_agent_policy_lists_total', 'counter', 'Full lists from the API server.', per('lists'));
  metric(
    'minicni_agent_policy_list_pages_total',
    'counter',
    'List pages fetched (limit/continue).',
    per('pages'),
  );
  metric('minicni_agent_policy_watches_total', 'counter', 'Watches opened.', per('watches'));
  metric('minicni_agent_policy_watch_expired_total', 'counter', 'Watches ended by 410 Gone.', per('gone'));
  metric(
    'minicni_agent_policy_watch_failures_total',
    'counter',
    'Failed list/watch attempts.',
    per('failures'),
  );
}

function labelText(labels: Record<string, string | number>): string {
  const entries = Object.entries(labels);
  if (!entries.length) return '';
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${entries.map(([k, v]) => `${k}="${esc(String(v))}"`).join(',')}}`;
}

function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}
