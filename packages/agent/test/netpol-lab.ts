// The upstream NetworkPolicy suite's cluster on real node namespaces: two nodes on one L2
// segment, the nine pods x/a .. z/c made by the minicni executable at the addresses the policy
// package's cases expect, an agent per node watching an API stand-in, a Service ClusterIP per
// pod DNAT'd on every node as kube-proxy does it, and a prober in every pod.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { MultiNodeLab, type LabPod } from '@minicni/testkit/multinode';
import { FakeKubeApi, type FakeObject } from '@minicni/testkit/k8s-fake-api';
import {
  forwardIntoNetns,
  forwardOutOfNetns,
  getOverSocket,
  type NetnsForward,
  type NetnsSocket,
} from '@minicni/testkit/netns-forward';
import { Prober, type ProbeOutcome, type ProbeProtocol } from '@minicni/testkit/prober';
import { ALL_PODS, NODE_OF, podIps, type K8sObject } from '../../policy/test/cluster-fixture.js';
import type { NetpolCase } from '../../policy/test/netpol-cases.js';
import { podPlugin } from './demo-main.js';
import { LabAgent } from './lab-agents.js';

const MINICNI = resolve(import.meta.dirname, '../../minicni/dist/minicni');

/** Node names as the cases' pods name them (spec.nodeName); pod CIDRs 10.244.1.0/24, 10.244.2.0/24. */
const NODES = ['node-1', 'node-2'] as const;

/** The resources the agents' policy informers watch; a write to one is waited for on every node. */
type Watched = 'pods' | 'namespaces' | 'networkpolicies';
const METRIC_RESOURCE: Record<Watched, string> = {
  pods: 'pods',
  namespaces: 'namespaces',
  networkpolicies: 'policies',
};

export type Family = 4 | 6;

/**
 * Pod `ns/name`'s Service ClusterIP per family: 10.244.200.<n> and fd00:244:200::<n>, n = 1..9
 * in ALL_PODS order (a dual-stack Service).
 */
export const serviceIp = (pod: string, family: Family = 4): string =>
  family === 4 ? `10.244.200.${ALL_PODS.indexOf(pod) + 1}` : `fd00:244:200::${ALL_PODS.indexOf(pod) + 1}`;
/** The address the policy cases give pod `ns/name` in a family. */
export const podIp = (pod: string, family: Family = 4): string =>
  podIps(pod.split('/')[0]!, pod.split('/')[1]!)[family === 4 ? 0 : 1];

/**
 * kube-proxy's part, as its nftables mode does it: in prerouting each ClusterIP is DNAT'd to its
 * backend, and a pod reaching itself through its own Service (hairpin) is masqueraded, since a
 * packet whose source is the pod's own address would be dropped as martian on the way back in.
 */
function kubeProxyRules(): string {
  const svc = ALL_PODS.flatMap((p) =>
    (['ip', 'ip6'] as const).flatMap((ip, i) => {
      const [s, b] = [serviceIp(p, i ? 6 : 4), podIp(p, i ? 6 : 4)];
      return [
        `    ${ip} daddr ${s} ${ip} saddr ${b} meta mark set 0x4000`,
        `    ${ip} daddr ${s} dnat ${ip} to ${b}`,
      ];
    }),
  );
  return `table inet kube-proxy-test {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
${svc.join('\n')}
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    meta mark 0x4000 masquerade
  }
}
`;
}

export interface CellOutcome extends ProbeOutcome {
  from: string;
  to: string;
}

export class NetpolLab implements AsyncDisposable {
  readonly api: FakeKubeApi;
  readonly lab: MultiNodeLab;
  readonly agents: LabAgent[] = [];
  readonly probers = new Map<string, Prober>();
  readonly pods = new Map<string, LabPod>();
  readonly #forwards: (NetnsForward | NetnsSocket)[] = [];
  /** Per agent, a socket leading to its health server on the node's loopback. */
  readonly #metrics: NetnsSocket[] = [];
  /** Per watched resource, the resourceVersion of the last write the agents must have seen. */
  readonly #lastWrite: Record<Watched, number> = { pods: 0, namespaces: 0, networkpolicies: 0 };
  readonly #written: Record<Watched, Map<string, K8sObject>> = {
    pods: new Map(),
    namespaces: new Map(),
    networkpolicies: new Map(),
  };

  private constructor(api: FakeKubeApi, lab: MultiNodeLab) {
    this.api = api;
    this.lab = lab;
  }

  static async create(bundle: string, ports: readonly number[]): Promise<NetpolLab> {
    if (!existsSync(MINICNI)) throw new Error(`${MINICNI} is not built: run pnpm build first`);
    const api = await FakeKubeApi.start();
    let lab: MultiNodeLab;
    try {
      lab = await MultiNodeLab.create(
        NODES.map((name) => ({ name, segment: 'a' as const })),
        { dualStack: true },
      );
    } catch (e) {
      await api.close();
      throw e;
    }
    const t = new NetpolLab(api, lab);
    try {
      await t.#build(bundle, ports);
    } catch (e) {
      await t[Symbol.asyncDispose]();
      throw e;
    }
    return t;
  }

  async #build(bundle: string, ports: readonly number[]): Promise<void> {
    const base = podPlugin(MINICNI);
    // Hairpin on the bridge ports: a pod's packet to its own Service comes back out its port.
    const plugin = {
      ...base,
      // Dual stack: one range set per family, a default route per family.
      config: (...a: Parameters<typeof base.config>) => ({
        ...(base.config(...a) as object),
        subnet: undefined,
        ranges: [[{ subnet: a[0].podCIDR }], [{ subnet: a[0].podCIDR6 }]],
        routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
        // The whole pod network of each family: pod to pod across nodes is never masqueraded
        // (a masqueraded source is the node's address, which no selector peer matches).
        clusterCIDRs: ['10.244.0.0/16', 'fd00:244::/32'],
        hairpinMode: true,
      }),
    };
    for (const node of this.lab.nodes) {
      // Same-node pod traffic crosses the bridge: br_netfilter hands it to the forward hook.
      for (const k of ['net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables'])
        await node.ns.run('sysctl', ['-qw', `${k}=1`]);
      await node.ns.run('nft', ['-f', '-'], { stdin: kubeProxyRules() });
      this.api.addNode({
        name: node.name,
        internalIPs: [node.ip, node.ip6!],
        podCIDRs: [node.podCIDR, node.podCIDR6!],
      });
      const fwd = await forwardIntoNetns(node.ns, {
        host: '127.0.0.1',
        port: Number(new URL(this.api.url).port),
      });
      this.#forwards.push(fwd);
      this.agents.push(
        new LabAgent(this.lab, node, bundle, { source: ['--server', `http://127.0.0.1:${fwd.port}`] }),
      );
      const metrics = await forwardOutOfNetns(node.ns, { host: '127.0.0.1', port: 9153 });
      this.#forwards.push(metrics);
      this.#metrics.push(metrics);
    }
    for (const key of ALL_PODS) {
      const [ns, name] = key.split('/') as [string, string];
      const pod = await this.lab.addPod(NODE_OF[name]!, plugin, `${ns}-${name}`, {
        args: `IP=${podIp(key, 4)},${podIp(key, 6)}`,
      });
      if (pod.ip !== podIp(key)) throw new Error(`${key} got ${pod.ip}, asked for ${podIp(key)}`);
      this.pods.set(key, pod);
    }
    await Promise.all(
      ALL_PODS.map(async (key) =>
        this.probers.set(key, await Prober.start(key, this.pods.get(key)!.ns, ports)),
      ),
    );
  }

  /**
   * Makes the API hold exactly the case's namespaces, pods and policies (writing only what
   * differs), as the cluster would after `kubectl apply`. The pods' `status.podIPs` are the
   * addresses they really have here (both families).
   */
  setObjects(objects: NetpolCase['objects']): void {
    this.#sync('namespaces', objects.namespaces);
    this.#sync('pods', objects.pods);
    this.#sync('networkpolicies', objects.policies);
  }

  #sync(resource: Watched, want: readonly K8sObject[]): void {
    const key = (o: { metadata: { name: string; namespace?: string } }) =>
      o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
    // What this lab wrote before: the API stand-in is only written through here.
    const have = this.#written[resource];
    const wanted = new Set(want.map(key));
    for (const k of [...have.keys()]) {
      if (wanted.has(k)) continue;
      this.api.delete(resource, k);
      have.delete(k);
      this.#lastWrite[resource] = Number(this.api.resourceVersion);
    }
    for (const o of want) {
      const old = have.get(key(o));
      if (old && JSON.stringify(old) === JSON.stringify(o)) continue;
      this.api.put(resource, structuredClone<FakeObject>(o));
      have.set(key(o), o);
      this.#lastWrite[resource] = Number(this.api.resourceVersion);
    }
  }

  /**
   * Resolves once every agent's ruleset in force reflects every write so far (its
   * `minicni_agent_policy_synced_resource_version` per resource); no fixed sleeps.
   */
  async waitApplied(ms = 30_000): Promise<number> {
    const t0 = performance.now();
    const want = Object.entries(this.#lastWrite) as [Watched, number][];
    await Promise.all(
      this.agents.map(async (agent, i) => {
        for (;;) {
          const m = await getOverSocket(this.#metrics[i]!.socketPath, '/metrics').catch(
            (e: Error) => e.message,
          );
          const behind = want.filter(([r, v]) => syncedVersion(m, METRIC_RESOURCE[r]) < v);
          if (!behind.length) return;
          if (performance.now() - t0 > ms)
            throw new Error(
              `agent on ${agent.node.name} has not applied ${behind.map(([r, v]) => `${r}@${v}`).join(', ')} within ${ms} ms:\n${agent.log()}`,
            );
          await new Promise((r) => setTimeout(r, 10));
        }
      }),
    );
    return performance.now() - t0;
  }

  /** Probes every (from, to) cell at once, each source's probes from its own prober. */
  async probeMatrix(
    cells: readonly { from: string; to: string }[],
    port: number,
    proto: ProbeProtocol,
    target: 'pod' | 'service',
    family: Family,
    /** Timeouts scale by this: a retry waits longer, so a loaded machine does not fail it twice. */
    patience = 1,
  ): Promise<CellOutcome[]> {
    const timeoutMs = (proto === 'UDP' ? 300 : 500) * patience;
    return Promise.all(
      cells.map(async ({ from, to }) => {
        const dst = target === 'pod' ? podIp(to, family) : serviceIp(to, family);
        const r = await this.probers.get(from)!.probe({ dst, port, proto, timeoutMs });
        return { from, to, ...r };
      }),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const a of this.agents) await a.stop('SIGKILL');
    for (const p of this.probers.values()) p.stop();
    for (const f of this.#forwards) await f.close().catch(() => {});
    await this.lab[Symbol.asyncDispose]();
    await this.api.close();
  }
}

function syncedVersion(metrics: string, resource: string): number {
  const m = new RegExp(
    `^minicni_agent_policy_synced_resource_version\\{resource="${resource}"\\} (\\d+)$`,
    'm',
  ).exec(metrics);
  return m ? Number(m[1]) : -1;
}
