// The main job, locally: a throwaway "node" netns, minicni called there exactly as a runtime
// calls it (env + config on stdin), several pods, and a table of what works. Pods are added both
// ways a node runs minicni: the standalone executable, and the fast path (minicni-shim handing
// the call to `minicni serve`, which the agent runs on a real node).
// Everything lives in namespaces this script creates and removes; the machine's own network
// and firewall are never touched.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServe } from './serve.mjs';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const plugin = process.env.MINICNI_PLUGIN ?? join(pkgDir, 'dist', 'minicni');
const shim = join(dirname(plugin), 'minicni-shim');
const PODS = Number(process.env.MINICNI_DEMO_PODS ?? 4);
const tag = process.pid.toString(36);
const nodeNs = `mcnidemo-node-${tag}`;
const pods = Array.from({ length: PODS }, (_, i) => ({
  ns: `mcnidemo-pod${i}-${tag}`,
  id: `demo-${tag}-${i}`,
  via: i % 2 ? 'shim -> minicni serve' : 'standalone executable',
}));
const dataDir = mkdtempSync(join(tmpdir(), 'minicni-demo-'));
const socket = join(dataDir, 'run', 'plugin.sock');
const conf = {
  cniVersion: '1.0.0',
  name: 'minicni',
  type: 'minicni',
  bridge: 'minicni0',
  mtu: 1500,
  subnet: '10.244.0.0/24',
  dataDir,
};

function sh(file, args, opts = {}) {
  const r = spawnSync(file, args, { encoding: 'utf8', ...opts });
  if (opts.check !== false && r.status !== 0) {
    throw new Error(`${file} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  }
  return r;
}
const inNode = (file, args, opts) => sh('nsenter', [`--net=/run/netns/${nodeNs}`, '--', file, ...args], opts);
const inPod = (pod, file, args, opts) => sh('ip', ['netns', 'exec', pod.ns, file, ...args], opts);

function cni(command, pod) {
  const env = {
    PATH: process.env.PATH,
    CNI_COMMAND: command,
    CNI_CONTAINERID: pod.id,
    CNI_NETNS: `/run/netns/${pod.ns}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: dirname(plugin),
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=demo;K8S_POD_NAME=${pod.ns}`,
    // The shim must reach the server: no fallback to the standalone executable here.
    ...(pod.via.startsWith('shim') ? { MINICNI_AGENT_SOCKET: socket, MINICNI_STANDALONE: '/bin/false' } : {}),
  };
  const t0 = process.hrtime.bigint();
  const r = inNode(pod.via.startsWith('shim') ? shim : plugin, [], {
    env,
    input: JSON.stringify(conf),
    check: false,
  });
  pod.ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let out;
  try {
    out = r.stdout.trim() ? JSON.parse(r.stdout) : {};
  } catch {
    out = { raw: r.stdout };
  }
  if (r.status !== 0)
    throw new Error(`minicni ${command} for ${pod.id} failed: ${JSON.stringify(out)} ${r.stderr}`);
  return out;
}

const rows = [];
const check = (what, from, to, ok) => rows.push({ what, from, to, ok });
const ping = (pod, ip) => inPod(pod, 'ping', ['-c', '1', '-W', '2', ip], { check: false }).status === 0;

let failed = false;
let server;
try {
  for (const f of [plugin, shim])
    if (!existsSync(f)) throw new Error(`${f} not found: run \`pnpm build\` first`);
  sh('ip', ['netns', 'add', nodeNs]);
  inNode('ip', ['link', 'set', 'lo', 'up']);
  // `minicni serve` in the node netns, as the agent serves the plugin on a real node.
  server = await startServe(plugin, socket, `/run/netns/${nodeNs}`);
  // A strict node: forwarding policy DROP. The plugin must open the way for pods itself.
  inNode('iptables', ['-P', 'FORWARD', 'DROP']);
  for (const pod of pods) {
    sh('ip', ['netns', 'add', pod.ns]);
    const result = cni('ADD', pod);
    pod.ip = result.ips?.[0]?.address?.split('/')[0];
    pod.gw = result.ips?.[0]?.gateway;
    console.log(
      `ADD ${pod.id}: ${pod.ns} eth0 ${result.ips?.[0]?.address} gw ${pod.gw} ` +
        `(${pod.via}, ${pod.ms.toFixed(0)} ms)`,
    );
  }
  for (const pod of pods) check('pod -> node (bridge gateway)', pod.ip, pod.gw, ping(pod, pod.gw));
  for (const a of pods)
    for (const b of pods) if (a !== b) check('pod -> pod, same node', a.ip, b.ip, ping(a, b.ip));
  const node = inNode('ping', ['-c', '1', '-W', '2', pods[0].ip], { check: false }).status === 0;
  check('node -> pod', 'node', pods[0].ip, node);
  const fw = inNode('iptables-save', [])
    .stdout.split('\n')
    .filter((l) => l.includes('MINICNI'));
  console.log(
    `\nnode firewall: ${fw.length} minicni rules (one chain per network, none per pod); FORWARD policy DROP`,
  );
  console.log('\n| check | from | to | result |\n|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.what} | ${r.from} | ${r.to} | ${r.ok ? 'ok' : 'FAILED'} |`);
  failed = rows.some((r) => !r.ok);
  for (const pod of pods) cni('DEL', pod);
  const left = sh('find', [join(dataDir, 'minicni'), '-maxdepth', '1', '-name', '10.*'], {
    check: false,
  }).stdout.trim();
  console.log(`\nDEL x${pods.length}: addresses still reserved: ${left ? left.split('\n').length : 0}`);
  if (left) failed = true;
} catch (e) {
  failed = true;
  console.error(`demo failed: ${e.message}`);
} finally {
  await server?.stop();
  for (const pod of pods) sh('ip', ['netns', 'del', pod.ns], { check: false });
  sh('ip', ['netns', 'del', nodeNs], { check: false });
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(failed ? '\nDEMO FAILED' : '\nDemo passed: every check above works; all namespaces removed.');
process.exit(failed ? 1 : 0);
