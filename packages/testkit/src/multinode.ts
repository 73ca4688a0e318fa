import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from './exec.js';
import { TestNetns, podNetns } from './netns.js';
import { runPluginInNode } from './plugin-runner.js';

/** One simulated Kubernetes node: a netns on an underlay segment with a pod CIDR. */
export interface LabNode {
  name: string;
  ns: TestNetns;
  /** The node's InternalIP on the underlay. */
  ip: string;
  podCIDR: string;
  /** With `dualStack`: the node's IPv6 InternalIP and IPv6 pod CIDR (fd00:244:<n>::/64). */
  ip6?: string;
  podCIDR6?: string;
  segment: 'a' | 'b';
}

export interface LabPod {
  name: string;
  node: LabNode;
  ns: TestNetns;
  ip: string;
}

/** How pods are made: a CNI plugin executable and the network config to give it on a node. */
export interface PodPlugin {
  /** What the report prints ("reference bridge + host-local", "minicni ..."). */
  label: string;
  path: string;
  /** CNI_PATH (directory list) so the plugin finds its IPAM plugin. */
  cniPath: string;
  config: (node: LabNode, dataDir: string) => unknown;
  /** Extra environment for the plugin process on a node (e.g. the minicni-shim socket). */
  env?: (node: LabNode) => Record<string, string>;
}

export interface LabNodeSpec {
  name: string;
  segment: 'a' | 'b';
}

/** Underlay addresses stay inside the test range too; pod CIDRs are 10.244.<n>.0/24. */
const SEGMENTS = {
  a: { prefix: '10.244.250', router: '10.244.250.254', prefix6: 'fd00:250::', router6: 'fd00:250::fe' },
  b: { prefix: '10.244.251', router: '10.244.251.254', prefix6: 'fd00:251::', router6: 'fd00:251::fe' },
} as const;

export interface MultiNodeLabOptions {
  /**
   * IPv6 too: the underlay gets fd00:250::/64 and fd00:251::/64 (router ::fe, forwarding), each
   * node an IPv6 InternalIP (`ip6`, fd00:25x::<11+i>) and an IPv6 pod CIDR (`podCIDR6`).
   */
  dualStack?: boolean;
}

/** The seed's topology: n1 and n2 share L2 segment a; n3 sits on segment b behind a router. */
export const DEFAULT_LAB_NODES: LabNodeSpec[] = [
  { name: 'n1', segment: 'a' },
  { name: 'n2', segment: 'a' },
  { name: 'n3', segment: 'b' },
];

/**
 * Three (or more) node namespaces on an underlay: an "underlay" netns holding one bridge per
 * segment, and a "router" netns forwarding between the segments. Nothing touches the
 * machine's own netns. Dispose it to remove every namespace (pods first).
 */
export class MultiNodeLab implements AsyncDisposable {
  readonly underlay: TestNetns;
  readonly router: TestNetns;
  readonly nodes: LabNode[] = [];
  readonly pods: LabPod[] = [];
  /** Scratch directory (IPAM data, node files, agent logs); removed on dispose. */
  readonly dir: string;

  private constructor(underlay: TestNetns, router: TestNetns, dir: string) {
    this.underlay = underlay;
    this.router = router;
    this.dir = dir;
  }

  static async create(
    specs: LabNodeSpec[] = DEFAULT_LAB_NODES,
    opts: MultiNodeLabOptions = {},
  ): Promise<MultiNodeLab> {
    const dir = mkdtempSync(join(tmpdir(), 'minicni-lab-'));
    const made: TestNetns[] = [];
    try {
      const underlay = await TestNetns.create('ulay');
      made.push(underlay);
      const router = await TestNetns.create('rtr');
      made.push(router);
      const lab = new MultiNodeLab(underlay, router, dir);
      for (const seg of ['a', 'b'] as const) {
        await underlay.run('ip', ['link', 'add', `br-${seg}`, 'type', 'bridge']);
        await underlay.run('ip', ['link', 'set', `br-${seg}`, 'up']);
        await lab.#plug(router, `r-${seg}`, `eth-${seg}`, seg, `${SEGMENTS[seg].router}/24`);
        if (opts.dualStack)
          await router.run('ip', [
            'addr',
            'add',
            `${SEGMENTS[seg].router6}/64`,
            'dev',
            `eth-${seg}`,
            'nodad',
          ]);
      }
      await router.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      if (opts.dualStack) await router.run('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
      for (const [i, spec] of specs.entries()) {
        const ns = await TestNetns.create('node');
        made.push(ns);
        const ip = `${SEGMENTS[spec.segment].prefix}.${11 + i}`;
        await lab.#plug(ns, spec.name, 'eth0', spec.segment, `${ip}/24`);
        await ns.run('ip', ['route', 'add', 'default', 'via', SEGMENTS[spec.segment].router]);
        // Nodes forward pod traffic (what kube-proxy / the plugin turn on on a real node).
        await ns.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
        const node: LabNode = {
          name: spec.name,
          ns,
          ip,
          podCIDR: `10.244.${i + 1}.0/24`,
          segment: spec.segment,
        };
        if (opts.dualStack) {
          node.ip6 = `${SEGMENTS[spec.segment].prefix6}${(11 + i).toString(16)}`;
          node.podCIDR6 = `fd00:244:${i + 1}::/64`;
          await ns.run('ip', ['addr', 'add', `${node.ip6}/64`, 'dev', 'eth0', 'nodad']);
          await ns.run('ip', ['-6', 'route', 'add', 'default', 'via', SEGMENTS[spec.segment].router6]);
          await ns.run('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
        }
        lab.nodes.push(node);
      }
      return lab;
    } catch (e) {
      for (const ns of made.reverse()) await ns[Symbol.asyncDispose]().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  node(name: string): LabNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no lab node ${name}`);
    return n;
  }

  /** The static node list (the agent's --nodes-file format) for these nodes. */
  nodesFile(names: string[] = this.nodes.map((n) => n.name)): string {
    const nodes = names.map((name) => {
      const n = this.node(name);
      return {
        name: n.name,
        internalIPs: n.ip6 ? [n.ip, n.ip6] : [n.ip],
        podCIDRs: n.podCIDR6 ? [n.podCIDR, n.podCIDR6] : [n.podCIDR],
      };
    });
    return `${JSON.stringify({ nodes }, null, 2)}\n`;
  }

  /**
   * Creates a pod netns on a node and runs the plugin's ADD for it; `args` is the CNI_ARGS the
   * runtime passes (e.g. `IP=10.244.1.10` for a static address).
   */
  async addPod(
    nodeName: string,
    plugin: PodPlugin,
    podName: string,
    opts: { args?: string } = {},
  ): Promise<LabPod> {
    const node = this.node(nodeName);
    const ns = await podNetns();
    const dataDir = join(this.dir, node.name, 'ipam');
    const r = await runPluginInNode(
      node.ns,
      plugin.path,
      {
        command: 'ADD',
        containerId: `${podName}-${ns.name}`,
        netns: ns.path,
        ifname: 'eth0',
        path: plugin.cniPath,
        ...(opts.args ? { args: opts.args } : {}),
        ...(plugin.env ? { extraEnv: plugin.env(node) } : {}),
      },
      plugin.config(node, dataDir),
    );
    if (r.code !== 0) {
      await ns[Symbol.asyncDispose]();
      throw new Error(`${plugin.label} ADD for ${podName} on ${node.name} failed: ${r.stdout || r.stderr}`);
    }
    const result = r.json as { ips?: { address: string }[] };
    const ip = result.ips?.[0]?.address.split('/')[0];
    if (!ip) throw new Error(`${plugin.label} returned no IP for ${podName}: ${r.stdout}`);
    const pod = { name: podName, node, ns, ip };
    this.pods.push(pod);
    return pod;
  }

  /** One ping from a pod (two probes, 1 s wait each); true when any reply came back. */
  async ping(from: LabPod, to: string): Promise<boolean> {
    const r = await from.ns.exec('ping', ['-c', '2', '-i', '0.2', '-W', '1', '-q', to]);
    return r.code === 0;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const p of this.pods.splice(0)) await p.ns[Symbol.asyncDispose]().catch(() => {});
    for (const n of this.nodes.splice(0)) await n.ns[Symbol.asyncDispose]().catch(() => {});
    await this.router[Symbol.asyncDispose]().catch(() => {});
    await this.underlay[Symbol.asyncDispose]().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A veth from the underlay bridge of `segment` into `ns`, named `inner` there, with an address. */
  async #plug(ns: TestNetns, outer: string, inner: string, segment: 'a' | 'b', cidr: string): Promise<void> {
    await this.underlay.run('ip', [
      'link',
      'add',
      outer,
      'type',
      'veth',
      'peer',
      'name',
      inner,
      'netns',
      ns.path,
    ]);
    await this.underlay.run('ip', ['link', 'set', outer, 'master', `br-${segment}`, 'up']);
    await ns.run('ip', ['addr', 'add', cidr, 'dev', inner]);
    await ns.run('ip', ['link', 'set', inner, 'up']);
  }
}

/** Pods made by the Debian reference plugins (bridge + host-local), ipMasq off. */
export function referenceBridgePlugin(dir = '/usr/lib/cni'): PodPlugin {
  return {
    label: `reference bridge + host-local (${dir})`,
    path: join(dir, 'bridge'),
    cniPath: dir,
    config: (node, dataDir) => ({
      cniVersion: '1.0.0',
      name: 'mctlab',
      type: 'bridge',
      bridge: 'cni0',
      isGateway: true,
      ipMasq: false,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: node.podCIDR }]],
        routes: [{ dst: '0.0.0.0/0' }],
        dataDir,
      },
    }),
  };
}

/** Whether a path is an executable file (a plugin choice for the demo). */
export async function isExecutable(path: string): Promise<boolean> {
  return (await exec('test', ['-x', path])).code === 0;
}
