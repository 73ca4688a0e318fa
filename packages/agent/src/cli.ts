import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Agent, DEFAULT_METRICS_ADDRESS } from './agent.js';
import { DEFAULT_TEMPLATE } from './conflist-template.js';
import type { Dataplane } from './dataplane.js';
import { DEFAULT_VXLAN, MODES, type Mode } from './desired-state.js';
import { AgentError, isAgentError } from './errors.js';
import { FileNodeSource, parseNodesFile } from './file-node-source.js';
import {
  DEFAULT_BIN_DIR,
  DEFAULT_CONF_DIR,
  DEFAULT_CONF_NAME,
  DEFAULT_READY_FILE,
  install,
  readTemplate,
  uninstall,
  type PluginBinary,
} from './installer.js';
import { Iproute2Dataplane } from './iproute2-dataplane.js';
import { RulesRepair } from './rules-repair.js';
import { defaultRouteMtu, podMtuFor } from './pod-mtu.js';
import { DEFAULT_IPAM_DATA_DIR } from './ipam-usage.js';
import { flagCredentials, inClusterCredentials, KubeClient } from './kube-client.js';
import { kubeconfigCredentials } from './kubeconfig.js';
import { KubeNodeSource } from './kube-node-source.js';
import type { Logger, NodeSource } from './node-source.js';
import { PolicyController } from './policy-controller.js';
import {
  bridgeNetfilterProblem,
  NftSession,
  removePolicyTable,
  spawnNft,
  type NftRunner,
} from './policy-nft.js';
import { kubePodGetter, policyInformers } from './policy-sources.js';
import { explainConnection, formatExplanation, parsePortSpec, readPolicySnapshot } from './policy-explain.js';
import { isPolicyError } from '@minicni/policy';
import { DEFAULT_POLICY_SOCKET } from '@minicni/fastpath';

export const USAGE = `usage: minicni-agent <install|uninstall|run|policy explain> [flags]

  install         write this node's CNI config and copy the plugin binaries (atomically)
  uninstall       remove the config, the binaries, the readiness file and the policy table
  run             keep routes to every other node's pod CIDRs (host-gw, vxlan or auto) and
                  enforce NetworkPolicy (table inet minicni-policy)
  policy explain  which NetworkPolicies select each side of a connection, and the verdict
                  with its reason, from the cluster as the API server has it now

node and credentials (install, run, policy explain):
  --node-name NAME         this node (default: $NODE_NAME)
  --nodes-file FILE        static node list (JSON) instead of the Kubernetes API
  --kubeconfig FILE        API server and credentials from a kubeconfig (its current-context)
  --context NAME           the kubeconfig context to use instead of its current-context
  --server URL             API server (default: in-cluster, from KUBERNETES_SERVICE_HOST/PORT)
  --token-file FILE        bearer token file (with --server)
  --ca-file FILE           CA bundle for the API server (with --server)
install:
  --pod-cidr CIDR          this node's pod CIDR, repeatable (default: the Node's spec.podCIDRs)
  --cluster-cidr CIDR      the cluster's pod network (__CLUSTER_CIDRS__, never masqueraded),
                           repeatable or comma-separated (default: this node's pod CIDRs)
  --template FILE          CNI config template (default: $CNI_NETWORK_CONFIG, else built in)
  --cni-conf-dir DIR       default ${DEFAULT_CONF_DIR}
  --conf-name NAME         default ${DEFAULT_CONF_NAME}
  --cni-bin-dir DIR        default ${DEFAULT_BIN_DIR}
  --plugin SRC[=NAME]      plugin binary to copy into the bin dir, repeatable
  --pod-mtu N              the pods' MTU (__POD_MTU__); default: the MTU of the default route's
                           device, less the VXLAN header (50) unless --mode is host-gw
  --mode MODE              as for run (default auto): decides the default pod MTU
  --policy-socket PATH     as for run: written into the config (__POLICY_SOCKET__) for the
                           plugin's ADD hand-off; "off" writes null
run:
  --mode MODE              host-gw | vxlan | auto (default auto)
  --install                run install first (same flags)
  --dataplane KIND         netlink | iproute2 (default netlink, iproute2 if the addon cannot load)
  --resync DURATION        drift repair period, e.g. 2s (default 2s)
  --metrics-address ADDR   /healthz /readyz /metrics (default ${DEFAULT_METRICS_ADDRESS}; "off" disables)
  --ready-file FILE        written once routes are programmed (default ${DEFAULT_READY_FILE}; "off")
  --rules-repair DURATION  re-ensure the node rules the plugin recorded (default 10s)
  --rules-dir DIR          where the plugin records them (default /run/minicni/rules)
  --ipam-data-dir DIR      host-local-format store to report in /metrics (default ${DEFAULT_IPAM_DATA_DIR})
  --vxlan-device NAME      default ${DEFAULT_VXLAN.name}
  --vxlan-vni N            default ${DEFAULT_VXLAN.vni}
  --vxlan-port N           default ${DEFAULT_VXLAN.port}
  --network-policy on|off  enforce NetworkPolicy from the API (default on; off with --nodes-file);
                           off deletes the policy table
  --policy-socket PATH     where plugins hand new pods over at ADD, so policy holds from their
                           first packet (default ${DEFAULT_POLICY_SOCKET}; "off": none)
uninstall:
  --plugin-name NAME       binary name to remove from the bin dir, repeatable (default: minicni)
policy explain:
  --from NS/POD|IP         the client (egress is checked on its node)
  --to NS/POD|IP           the server (ingress is checked on its node)
  --port PORT[/PROTO]      80/TCP, 53/UDP, 9000/SCTP, or a named container port of the --to pod
                           such as http/TCP (protocol TCP by default)
  --json                   print the explanation as JSON
  exit 0 when explained (allowed or denied), 1 when it cannot be (API, unknown pod), 2 on bad usage
`;

const OPTIONS = {
  'node-name': { type: 'string' },
  'nodes-file': { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  server: { type: 'string' },
  'token-file': { type: 'string' },
  'ca-file': { type: 'string' },
  'pod-cidr': { type: 'string', multiple: true },
  'cluster-cidr': { type: 'string', multiple: true },
  template: { type: 'string' },
  'cni-conf-dir': { type: 'string' },
  'conf-name': { type: 'string' },
  'cni-bin-dir': { type: 'string' },
  'pod-mtu': { type: 'string' },
  plugin: { type: 'string', multiple: true },
  'plugin-name': { type: 'string', multiple: true },
  mode: { type: 'string' },
  install: { type: 'boolean' },
  dataplane: { type: 'string' },
  resync: { type: 'string' },
  'metrics-address': { type: 'string' },
  'ready-file': { type: 'string' },
  'rules-repair': { type: 'string' },
  'rules-dir': { type: 'string' },
  'ipam-data-dir': { type: 'string' },
  'vxlan-device': { type: 'string' },
  'vxlan-vni': { type: 'string' },
  'vxlan-port': { type: 'string' },
  'network-policy': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  port: { type: 'string' },
  json: { type: 'boolean' },
  'policy-socket': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT); only `run` waits on it. */
  stopSignal: Promise<void>;
  /** Opens the netlink dataplane; injected so the CLI can be tested without the addon. */
  netlinkDataplane?: () => Promise<Dataplane>;
  /** Runs nft (policy table); injected so the CLI can be tested without touching the host. */
  nft?: NftRunner;
  /** Checks the host's br_netfilter settings (default: `bridgeNetfilterProblem`, /proc). */
  bridgeNetfilter?: () => string | undefined;
}

/** The CLI. Returns the exit code: 0 ok, 1 failure, 2 bad usage. Never throws. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const log = jsonLogger(io.stderr);
  let flags: Flags;
  let command: string | undefined;
  try {
    const parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    flags = parsed.values;
    command = parsed.positionals[0];
    // `policy explain`: a command of two words.
    const words = command === 'policy' ? 2 : 1;
    if (command === 'policy') {
      if (parsed.positionals[1] !== 'explain')
        throw new AgentError('INVALID_ARGUMENT', 'policy needs a subcommand: policy explain');
      command = 'policy explain';
    }
    if (parsed.positionals.length > words)
      throw new AgentError('INVALID_ARGUMENT', `unexpected argument "${parsed.positionals[words]}"`);
  } catch (e) {
    io.stderr(`minicni-agent: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (flags.help || !command) {
    (flags.help ? io.stdout : io.stderr)(USAGE);
    return flags.help ? 0 : 2;
  }
  try {
    switch (command) {
      case 'install':
        await runInstall(flags, io, log);
        return 0;
      case 'uninstall': {
        const removed = uninstall({
          confDir: flags['cni-conf-dir'] ?? DEFAULT_CONF_DIR,
          confName: flags['conf-name'] ?? DEFAULT_CONF_NAME,
          binDir: flags['cni-bin-dir'] ?? DEFAULT_BIN_DIR,
          binaryNames: flags['plugin-name'] ?? ['minicni'],
          readyFile: offOr(flags['ready-file'], DEFAULT_READY_FILE) ?? '',
          logger: log,
        });
        await removePolicyTable(io.nft ?? spawnNft);
        io.stdout(
          `removed ${removed.length} file(s)${removed.length ? `: ${removed.join(', ')}` : ''} and the policy table\n`,
        );
        return 0;
      }
      case 'run':
        if (flags.install) await runInstall(flags, io, log);
        await runAgent(flags, io, log);
        return 0;
      case 'policy explain':
        await runExplain(flags, io);
        return 0;
      default:
        io.stderr(`minicni-agent: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (isAgentError(e)) {
      io.stderr(`minicni-agent ${command}: ${e.message} [${e.code}]\n`);
      return e.code === 'INVALID_ARGUMENT' ? 2 : 1;
    }
    if (isPolicyError(e)) {
      io.stderr(`minicni-agent ${command}: ${e.message} [${e.code}]\n`);
      return 1;
    }
    io.stderr(`minicni-agent ${command}: unexpected failure: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

async function runInstall(flags: Flags, io: CliIo, log: Logger): Promise<void> {
  const nodeName = nodeNameOf(flags, io.env);
  // --pod-cidr, else this node's entry in --nodes-file, else (below) the Node from the API.
  const nodesFile = flags['nodes-file'];
  const podCIDRs = flags['pod-cidr'] ?? (nodesFile ? podCidrsFromNodesFile(nodesFile, nodeName) : []);
  const template = flags.template
    ? readTemplate(flags.template)
    : (io.env.CNI_NETWORK_CONFIG ?? DEFAULT_TEMPLATE);
  const podMtu = podMtuOf(flags, log);
  const r = await install({
    nodeName,
    podCIDRs,
    ...(podCIDRs.length === 0 ? { kube: kubeClient(flags, io.env) } : {}),
    template,
    podMtu,
    policySocket: policySocketOf(flags),
    ...(flags['cluster-cidr']
      ? { clusterCIDRs: flags['cluster-cidr'].flatMap((c) => c.split(',')).filter((c) => c.trim()) }
      : {}),
    confDir: flags['cni-conf-dir'] ?? DEFAULT_CONF_DIR,
    confName: flags['conf-name'] ?? DEFAULT_CONF_NAME,
    binDir: flags['cni-bin-dir'] ?? DEFAULT_BIN_DIR,
    binaries: (flags.plugin ?? []).map(parsePluginFlag),
    logger: log,
  });
  io.stdout(`installed ${r.confPath} for pod CIDRs ${r.podCIDRs.join(', ')}, pod MTU ${podMtu}\n`);
}

/** This node's pod CIDRs from the static node list, which stands in for the API server. */
function podCidrsFromNodesFile(path: string, nodeName: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new AgentError('INVALID_NODES_FILE', `cannot read ${path}: ${(e as Error).message}`);
  }
  const node = parseNodesFile(text, path).get(nodeName);
  if (!node)
    throw new AgentError('NODE_NOT_FOUND', `${path} lists no node named "${nodeName}" (check NODE_NAME)`);
  if (node.podCIDRs.length === 0)
    throw new AgentError('NO_POD_CIDR', `node "${nodeName}" in ${path} has no podCIDRs`);
  return [...node.podCIDRs];
}

function modeOf(flags: Flags): Mode {
  const mode = (flags.mode ?? 'auto') as Mode;
  if (!MODES.includes(mode))
    throw new AgentError('INVALID_ARGUMENT', `--mode must be one of ${MODES.join(', ')}`);
  return mode;
}

function podMtuOf(flags: Flags, log: Logger): number {
  // Explicit, else from the mode and the underlay (see pod-mtu.ts).
  if (flags['pod-mtu'] !== undefined) return intFlag(flags['pod-mtu'], 1500, 'pod-mtu', 576, 65535);
  const mode = modeOf(flags);
  const underlay = defaultRouteMtu();
  if (underlay === undefined) log('warn', 'no IPv4 default route: pod MTU computed from 1500');
  return podMtuFor(mode, underlay ?? 1500);
}

async function runAgent(flags: Flags, io: CliIo, log: Logger): Promise<void> {
  const nodeName = nodeNameOf(flags, io.env);
  const mode = modeOf(flags);
  const vxlan = {
    name: flags['vxlan-device'] ?? DEFAULT_VXLAN.name,
    vni: intFlag(flags['vxlan-vni'], DEFAULT_VXLAN.vni, 'vxlan-vni', 1, 0xffffff),
    port: intFlag(flags['vxlan-port'], DEFAULT_VXLAN.port, 'vxlan-port', 1, 65535),
  };
  const policyOn = networkPolicyOf(flags);
  const resyncMs = durationFlag(flags.resync, 2000, 'resync');
  const nodesFile = flags['nodes-file'];
  const client = nodesFile ? undefined : kubeClient(flags, io.env);
  let source: NodeSource;
  let sourceStats: (() => { lists: number; watches: number; gone: number; failures: number }) | undefined;
  if (client) {
    const kube = new KubeNodeSource(client, { logger: log });
    source = kube;
    sourceStats = () => kube.stats;
  } else {
    source = new FileNodeSource(nodesFile!, { logger: log });
  }
  // Deltas go to one long-lived `nft -i`: no process start per policy change.
  const session = io.nft || !policyOn ? undefined : new NftSession();
  const nft = io.nft ?? session?.run ?? spawnNft;
  const policy =
    policyOn && client
      ? new PolicyController({
          nodeName,
          caches: policyInformers(client, { logger: log }),
          getPod: kubePodGetter(client),
          nft,
          countDrops: true,
          logger: log,
        })
      : undefined;
  const dataplane = await openDataplane(flags.dataplane ?? 'netlink', io, log);
  const agent = new Agent({
    nodeName,
    mode,
    source,
    dataplane,
    vxlan,
    resyncMs,
    metricsAddress: offOr(flags['metrics-address'], DEFAULT_METRICS_ADDRESS),
    readyFile: offOr(flags['ready-file'], DEFAULT_READY_FILE),
    ipamDataDir: flags['ipam-data-dir'] ?? DEFAULT_IPAM_DATA_DIR,
    ...(sourceStats ? { sourceStats } : {}),
    ...(policy ? { policy, policySocket: policySocketOf(flags) } : {}),
    logger: log,
  });
  const repair = new RulesRepair({
    ...(flags['rules-dir'] ? { dir: flags['rules-dir'] } : {}),
    everyMs: durationFlag(flags['rules-repair'], 10_000, 'rules-repair'),
    logger: log,
  });
  await agent.start();
  if (policy) {
    const problem = (io.bridgeNetfilter ?? bridgeNetfilterProblem)();
    if (problem) log('warn', `network policy: ${problem}`);
  } else {
    await removePolicyTable(nft);
    log('info', 'network policy off: table inet minicni-policy removed');
  }
  repair.start();
  await io.stopSignal;
  repair.stop();
  await agent.stop();
  await session?.close();
}

async function runExplain(flags: Flags, io: CliIo): Promise<void> {
  const missing = (['from', 'to', 'port'] as const).filter((f) => !flags[f]);
  if (missing.length)
    throw new AgentError(
      'INVALID_ARGUMENT',
      `missing ${missing.map((f) => `--${f}`).join(', ')}: e.g. policy explain --from ns/client --to ns/server --port 80/TCP`,
    );
  // Usage errors first: a bad --port should not wait for the API server.
  parsePortSpec(flags.port!);
  if (!flags.server && !(io.env.KUBERNETES_SERVICE_HOST && io.env.KUBERNETES_SERVICE_PORT))
    throw new AgentError(
      'CREDENTIALS',
      'not running in a pod (KUBERNETES_SERVICE_HOST/PORT unset): pass --server URL and --token-file FILE',
    );
  const snapshot = await readPolicySnapshot(kubeClient(flags, io.env));
  const e = explainConnection(snapshot, { from: flags.from!, to: flags.to!, port: flags.port! });
  io.stdout(flags.json ? `${JSON.stringify(e, null, 2)}\n` : formatExplanation(e));
}

async function openDataplane(kind: string, io: CliIo, log: Logger): Promise<Dataplane> {
  if (kind === 'iproute2') return new Iproute2Dataplane();
  if (kind !== 'netlink') throw new AgentError('INVALID_ARGUMENT', '--dataplane must be netlink or iproute2');
  try {
    if (io.netlinkDataplane) return await io.netlinkDataplane();
    const [{ Netlink }, { NetlinkDataplane }] = await Promise.all([
      import('@minicni/netlink'),
      import('./netlink-dataplane.js'),
    ]);
    return new NetlinkDataplane(Netlink.open());
  } catch (e) {
    log('warn', 'netlink dataplane unavailable; using iproute2', { error: (e as Error).message });
    return new Iproute2Dataplane();
  }
}

function kubeClient(flags: Flags, env: NodeJS.ProcessEnv): KubeClient {
  if (flags.kubeconfig) {
    const clash = (['server', 'token-file', 'ca-file'] as const).find((f) => flags[f] !== undefined);
    if (clash)
      throw new AgentError(
        'INVALID_ARGUMENT',
        `--kubeconfig and --${clash} exclude each other: pass one of them`,
      );
    return new KubeClient(
      kubeconfigCredentials(flags.kubeconfig, flags.context ? { context: flags.context } : {}),
    );
  }
  if (flags.context) throw new AgentError('INVALID_ARGUMENT', '--context needs --kubeconfig');
  const creds = flags.server
    ? flagCredentials({
        server: flags.server,
        ...(flags['token-file'] ? { tokenFile: flags['token-file'] } : {}),
        ...(flags['ca-file'] ? { caFile: flags['ca-file'] } : {}),
      })
    : inClusterCredentials(env);
  return new KubeClient(creds);
}

/** `--network-policy`: on by default with the API; a static node list has no policies to watch. */
function networkPolicyOf(flags: Flags): boolean {
  const v = flags['network-policy'] ?? (flags['nodes-file'] ? 'off' : 'on');
  if (v !== 'on' && v !== 'off')
    throw new AgentError('INVALID_ARGUMENT', '--network-policy must be on or off');
  if (v === 'on' && flags['nodes-file']) {
    throw new AgentError(
      'INVALID_ARGUMENT',
      '--network-policy on needs the Kubernetes API (pods, namespaces, policies); --nodes-file has none',
    );
  }
  return v === 'on';
}

/** `--policy-socket`: the hand-off socket, null when off or when policy is off. */
function policySocketOf(flags: Flags): string | null {
  const v = flags['policy-socket'];
  if (v === 'off' || v === '') return null;
  if (v === undefined) return networkPolicyOf(flags) ? DEFAULT_POLICY_SOCKET : null;
  if (!v.startsWith('/'))
    throw new AgentError('INVALID_ARGUMENT', '--policy-socket must be an absolute path or off');
  return v;
}

function nodeNameOf(flags: Flags, env: NodeJS.ProcessEnv): string {
  const name = flags['node-name'] ?? env.NODE_NAME;
  if (!name) {
    throw new AgentError(
      'INVALID_ARGUMENT',
      'no node name: pass --node-name or set NODE_NAME (the DaemonSet sets it from spec.nodeName)',
    );
  }
  return name;
}

function parsePluginFlag(text: string): PluginBinary {
  const eq = text.lastIndexOf('=');
  const src = eq > 0 ? text.slice(0, eq) : text;
  const name = eq > 0 ? text.slice(eq + 1) : (src.split('/').pop() ?? '');
  if (!src || !name || name.includes('/')) {
    throw new AgentError('INVALID_ARGUMENT', `--plugin "${text}" must be SRC or SRC=NAME`);
  }
  return { src, name };
}

function offOr(value: string | undefined, fallback: string): string | null {
  if (value === 'off' || value === '') return null;
  return value ?? fallback;
}

function intFlag(
  value: string | undefined,
  fallback: number,
  name: string,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new AgentError('INVALID_ARGUMENT', `--${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

/** `500ms`, `2s`, `1m` or a number of milliseconds. */
export function durationFlag(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value);
  const ms = m ? Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1) : NaN;
  if (!(ms >= 100))
    throw new AgentError('INVALID_ARGUMENT', `--${name} must be a duration of at least 100ms, e.g. 2s`);
  return ms;
}

/** One JSON object per line on stderr: what log collectors on a node expect. */
export function jsonLogger(write: (text: string) => void): Logger {
  return (level, msg, fields) =>
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}
