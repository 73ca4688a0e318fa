import { nodeNetns, podNetns, type TestNetns } from '@minicni/testkit';
import { Prober } from '@minicni/testkit/prober';
import type { Protocol } from '../src/index.js';

/** One place that can send and serve probes: a pod, the node itself, or a host outside the cluster. */
export interface ProbeHost {
  readonly name: string;
  readonly ips: readonly [string, string];
  probe(dst: string, port: number, proto: Protocol): Promise<{ ok: boolean; why?: string }>;
}

class LabHost implements ProbeHost {
  constructor(
    readonly name: string,
    readonly ips: readonly [string, string],
    readonly prober: Prober,
  ) {}

  probe(dst: string, port: number, proto: Protocol): Promise<{ ok: boolean; why?: string }> {
    return this.prober.probe({ dst, port, proto, timeoutMs: 500 });
  }
}

/**
 * A veth from the node (`hostSide`) into `ns` as eth0, with the given addresses and default
 * routes inside `ns`; the caller wires the node's end.
 */
async function attach(
  node: TestNetns,
  hostSide: string,
  ns: TestNetns,
  cidrs: [string, string],
  gateways: [string, string],
): Promise<void> {
  await node.run('ip', ['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.path]);
  await ns.run('ip', ['addr', 'add', cidrs[0], 'dev', 'eth0']);
  await ns.run('ip', ['addr', 'add', cidrs[1], 'dev', 'eth0', 'nodad']);
  await ns.run('ip', ['link', 'set', 'eth0', 'up']);
  await ns.run('ip', ['route', 'add', 'default', 'via', gateways[0]]);
  await ns.run('ip', ['-6', 'route', 'add', 'default', 'via', gateways[1]]);
}

/**
 * One node netns with a bridge (10.244.1.1/24, fd00:244:1::1/64) and br_netfilter on, pods
 * bridged to it, and a host outside the cluster routed through the node (172.16.0.9,
 * fd00:172::9): so probes cross the forward hook both bridged and routed. Every host serves
 * TCP and UDP on `ports`. Dispose it and every netns and process goes.
 */
export class ProbeLab implements AsyncDisposable {
  readonly pods: ProbeHost[] = [];
  node!: ProbeHost;
  outside!: ProbeHost;
  nodeNs!: TestNetns;
  /** The node's own addresses (bridge gateway and uplink), for the model's Node. */
  readonly nodeIps = ['10.244.1.1', 'fd00:244:1::1', '172.16.0.1', 'fd00:172::1'];
  /**
   * A Service's ClusterIP per family, DNAT'd to pod0 in prerouting and output the way
   * kube-proxy does it, by a table that is not ours: the backend's policy must apply. The same
   * foreign table accepts everything in forward chains before and after ours: our drops must
   * still win (an accept ends only its own base chain).
   */
  readonly serviceIps = ['10.96.0.10', 'fd00:96::10'] as const;
  readonly #netns: TestNetns[] = [];
  readonly #probers: Prober[] = [];
  #port = 20000;

  nextSourcePort(): number {
    return this.#port++;
  }

  static async create(podCount: number, ports: readonly number[]): Promise<ProbeLab> {
    const lab = new ProbeLab();
    try {
      await lab.#build(podCount, ports);
    } catch (e) {
      await lab[Symbol.asyncDispose]();
      throw e;
    }
    return lab;
  }

  /** A fresh netns without IPv6 duplicate address detection (addresses usable at once). */
  async #netnsOf(make: () => Promise<TestNetns>): Promise<TestNetns> {
    const ns = await make();
    this.#netns.push(ns);
    for (const scope of ['all', 'default'])
      await ns.run('sysctl', ['-qw', `net.ipv6.conf.${scope}.accept_dad=0`]);
    return ns;
  }

  async #build(podCount: number, ports: readonly number[]): Promise<void> {
    const node = await this.#netnsOf(nodeNetns);
    this.nodeNs = node;
    for (const [k, v] of [
      ['net.ipv4.ip_forward', '1'],
      ['net.ipv6.conf.all.forwarding', '1'],
      ['net.bridge.bridge-nf-call-iptables', '1'],
      ['net.bridge.bridge-nf-call-ip6tables', '1'],
    ]) {
      await node.run('sysctl', ['-qw', `${k}=${v}`]);
    }
    await node.run('ip', ['link', 'add', 'br0', 'type', 'bridge']);
    await node.run('ip', ['addr', 'add', '10.244.1.1/24', 'dev', 'br0']);
    await node.run('ip', ['addr', 'add', 'fd00:244:1::1/64', 'dev', 'br0', 'nodad']);
    await node.run('ip', ['link', 'set', 'br0', 'up']);
    const hosts: [string, readonly [string, string], TestNetns][] = [];
    for (let i = 0; i < podCount; i++) {
      const pod = await this.#netnsOf(podNetns);
      const ips = [`10.244.1.${10 + i}`, `fd00:244:1::${(10 + i).toString(16)}`] as const;
      await attach(node, `vp${i}`, pod, [`${ips[0]}/24`, `${ips[1]}/64`], ['10.244.1.1', 'fd00:244:1::1']);
      await node.run('ip', ['link', 'set', `vp${i}`, 'master', 'br0', 'up']);
      hosts.push([`pod${i}`, ips, pod]);
    }
    const ext = await this.#netnsOf(podNetns);
    await attach(node, 'up0', ext, ['172.16.0.9/24', 'fd00:172::9/64'], ['172.16.0.1', 'fd00:172::1']);
    await node.run('ip', ['addr', 'add', '172.16.0.1/24', 'dev', 'up0']);
    await node.run('ip', ['addr', 'add', 'fd00:172::1/64', 'dev', 'up0', 'nodad']);
    await node.run('ip', ['link', 'set', 'up0', 'up']);
    hosts.push(
      ['outside', ['172.16.0.9', 'fd00:172::9'], ext],
      ['node', ['10.244.1.1', 'fd00:244:1::1'], node],
    );
    // One source-port counter for all: no two probes of the lab share a source port.
    const nextSourcePort = () => this.nextSourcePort();
    const lab = await Promise.all(
      hosts.map(async ([name, ips, ns]) => {
        const prober = await Prober.start(name, ns, ports, { nextSourcePort });
        this.#probers.push(prober);
        return new LabHost(name, ips, prober);
      }),
    );
    this.pods.push(...lab.filter((p) => p.name.startsWith('pod')));
    this.outside = lab.find((p) => p.name === 'outside')!;
    this.node = lab.find((p) => p.name === 'node')!;
    await this.#service(this.pods[0]!.ips);
    await this.#warmUp();
  }

  async #service(backend: readonly [string, string]): Promise<void> {
    const [v4, v6] = this.serviceIps;
    // The node needs some route to a ClusterIP for its own output (a default route does it on a
    // real node); DNAT then re-routes to the backend.
    await this.nodeNs.run('ip', ['route', 'add', '10.96.0.0/16', 'dev', 'br0']);
    await this.nodeNs.run('ip', ['-6', 'route', 'add', 'fd00:96::/64', 'dev', 'br0']);
    const dnat = `ip daddr ${v4} dnat ip to ${backend[0]}\n    ip6 daddr ${v6} dnat ip6 to ${backend[1]}`;
    await this.nodeNs.run('nft', ['-f', '-'], {
      stdin: `table inet kube-proxy-test {
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    ${dnat}
  }
  chain output {
    type nat hook output priority -100; policy accept;
    ${dnat}
  }
  chain forward-first {
    type filter hook forward priority -300; policy accept;
    accept
  }
  chain forward-after {
    type filter hook forward priority 0; policy accept;
    accept
  }
}
`,
    });
  }

  /**
   * Before any ruleset: every host reaches every other on both families (retrying while
   * neighbour discovery settles), so a later timeout is the ruleset's doing, not the lab's.
   */
  async #warmUp(): Promise<void> {
    const hosts = [...this.pods, this.outside, this.node];
    for (const src of hosts) {
      for (const dst of hosts) {
        if (src === dst) continue;
        const viaService = dst === this.pods[0] ? this.serviceIps : [];
        for (const ip of [...dst.ips, ...viaService]) {
          let last: { ok: boolean; why?: string } = { ok: false, why: 'not tried' };
          for (let i = 0; i < 10 && !last.ok; i++) {
            last = await src.probe(ip, 80, 'TCP');
            if (!last.ok) await new Promise((r) => setTimeout(r, 200));
          }
          if (!last.ok)
            throw new Error(`lab broken: ${src.name} cannot reach ${dst.name} at ${ip} (${last.why})`);
        }
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const p of this.#probers) p.stop();
    const errors: unknown[] = [];
    for (const ns of this.#netns.reverse())
      await ns[Symbol.asyncDispose]().catch((e: unknown) => errors.push(e));
    if (errors.length) throw errors[0];
  }
}
