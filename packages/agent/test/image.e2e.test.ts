import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exec, nodeNetns, type TestNetns } from '@minicni/testkit';
import { CRI_NAMESPACE, containerdFixture } from '@minicni/testkit/containerd';
import { expectReadySandboxes, expectSandboxesGone } from '@minicni/testkit/cri-checks';
import { FakeKubeApi, selfSignedTls } from '@minicni/testkit/k8s-fake-api';
import { forwardIntoNetns } from '@minicni/testkit/netns-forward';
import { daemonSetNode, imageEntrypoint, startContainer, type RunningContainer } from './daemonset.js';
import { daemonSetPod, manifest } from './manifest.js';

// deploy/build-image.sh builds the image the manifest names, without Docker; a throwaway
// containerd in a node netns imports it and runs the DaemonSet's containers from it exactly as
// deploy/minicni.yaml declares them (see daemonset.ts), and kubelet's CRI calls create pods
// through the shim the init container installed.

const repo = resolve(import.meta.dirname, '../../..');
const docs = manifest();
const IMAGE = daemonSetPod(docs).containers[0]!.image;
const NODE = { name: 'n1', ip: '10.244.250.11', podCidr: '10.244.1.0/24', gateway: '10.244.1.1' };
const REFERENCE_PLUGINS = '/usr/lib/cni';
const PEER = { name: 'n2', ip: '10.244.250.12', podCidr: '10.244.2.0/24' };

let work = '';
let tar = '';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mct-image-'));
  tar = join(work, 'agent.oci.tar');
  // No --tag: the default is the image deploy/minicni.yaml runs.
  const build = await exec('bash', [join(repo, 'deploy/build-image.sh'), '--out', tar], {
    timeoutMs: 300_000,
  });
  expect(build.code, build.stderr).toBe(0);
  process.stdout.write(`\n${build.stdout}`);
  expect(build.stdout).toContain(`image: ${IMAGE}`);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

async function ping(node: TestNetns, fromNetns: string, to: string): Promise<void> {
  const r = await node.exec('nsenter', [`--net=${fromNetns}`, 'ping', '-c', '1', '-W', '2', to]);
  expect(r.code, `ping ${to} from ${fromNetns}: ${r.stdout}${r.stderr}`).toBe(0);
}

describe('the agent image', () => {
  it('carries every tool its code spawns, and runs them with its own libraries', async () => {
    await using node = await nodeNetns();
    mkdirSync(join(work, 'empty-net.d'));
    await using ctd = await containerdFixture({
      node,
      cniBinDir: REFERENCE_PLUGINS,
      cniConfDir: join(work, 'empty-net.d'),
      requireNetworkReady: false,
    });
    const imported = await ctd.ctr(['-n', CRI_NAMESPACE, 'images', 'import', tar]);
    expect(imported.code, imported.stderr).toBe(0);
    // iptables in both backends (node rules; the code picks the host's), nft (policy), and
    // iproute2 (the agent's dataplane when the netlink addon cannot load).
    const tools = ['iptables', 'ip6tables'].flatMap((t) =>
      ['nft', 'legacy'].flatMap((b) => [`${t}-${b}-save`, `${t}-${b}-restore`]),
    );
    tools.push('nft', 'ip', 'bridge');
    const script = `const { spawnSync } = require('node:child_process');
      for (const t of ${JSON.stringify(tools)}) {
        const r = spawnSync(t, t === 'ip' || t === 'bridge' ? ['-V'] : ['--version'], { encoding: 'utf8' });
        console.log(t + ' ' + (r.error ? 'MISSING ' + r.error.code : 'exit ' + r.status));
      }
      // /metrics reads the policy drop counters as JSON: nft must carry its JSON support.
      const j = spawnSync('nft', ['-j', 'list', 'tables'], { encoding: 'utf8' });
      console.log('nft -j ' + (j.status === 0 && j.stdout.startsWith('{"nftables"') ? 'exit 0' : 'FAILED ' + j.status + ' ' + j.stderr));`;
    const r = await ctd.ctr([
      '-n',
      CRI_NAMESPACE,
      'run',
      '--rm',
      '--net-host',
      // nft reads the (node netns') ruleset as the agent does, which needs CAP_NET_ADMIN.
      '--cap-add',
      'CAP_NET_ADMIN',
      IMAGE,
      'mcttools',
      ...imageEntrypoint(tar).slice(0, 1),
      '-e',
      script,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual([...tools, 'nft -j'].map((t) => `${t} exit 0`).sort());
  });

  it("runs deploy/minicni.yaml's DaemonSet: pods through the served plugin in the image, fallback when the pod stops, rules repaired from the image", async () => {
    await using node = await nodeNetns();
    // The node's underlay: its InternalIP on a device of its own (no veth: the pod checks
    // count veths), with a peer node on the same segment.
    await node.run('ip', ['link', 'add', 'eth0', 'type', 'bridge']);
    await node.run('ip', ['addr', 'add', `${NODE.ip}/24`, 'dev', 'eth0']);
    await node.run('ip', ['link', 'set', 'eth0', 'up']);

    const tls = selfSignedTls();
    await using api = await FakeKubeApi.start({ token: 'sa-token', tls });
    api.addNode({ name: NODE.name, internalIPs: [NODE.ip], podCIDRs: [NODE.podCidr] });
    api.addNode({ name: PEER.name, internalIPs: [PEER.ip], podCIDRs: [PEER.podCidr] });
    await using forward = await forwardIntoNetns(node, {
      host: '127.0.0.1',
      port: Number(new URL(api.url).port),
    });

    const ds = daemonSetNode({
      docs,
      work: join(work, 'ds'),
      nodeName: NODE.name,
      entrypoint: imageEntrypoint(tar),
      api: { host: '127.0.0.1', port: forward.port, token: 'sa-token', ca: tls.cert },
    });
    const binDir = ds.hostDir('/opt/cni/bin');
    const confDir = ds.hostDir('/etc/cni/net.d');
    const runDir = ds.hostDir('/run/minicni');
    const networks = join(ds.hostDir('/var/lib/cni/networks'), 'minicni');
    const reservations = () =>
      existsSync(networks) ? readdirSync(networks).filter((f) => /^\d/.test(f)) : [];

    await using ctd = await containerdFixture({
      node,
      cniBinDir: '/opt/cni/bin',
      cniConfDir: '/etc/cni/net.d',
      nodePaths: ds.nodePaths,
      requireNetworkReady: false,
    });
    const imported = await ctd.ctr(['-n', CRI_NAMESPACE, 'images', 'import', tar]);
    expect(imported.code, imported.stderr).toBe(0);
    // A node's /opt/cni/bin also holds the standard plugins (kubeadm's kubernetes-cni): the CRI
    // plugin brings up every sandbox's loopback with `loopback`.
    copyFileSync(join(REFERENCE_PLUGINS, 'loopback'), join(binDir, 'loopback'));

    // 1. The init container installs the shim, the standalone executable and the config.
    const [install] = ds.pod.initContainers;
    const installed = await ctd.ctr(ds.ctrRun(install!, 'mct-install'));
    expect(installed.code, `${installed.stdout}${installed.stderr}`).toBe(0);
    expect(statSync(join(binDir, 'minicni')).size).toBeLessThan(4 << 20);
    expect(statSync(join(binDir, 'minicni-standalone')).mode & 0o111).not.toBe(0);
    const conflist = JSON.parse(readFileSync(join(confDir, '10-minicni.conflist'), 'utf8'));
    expect(conflist.plugins[0]).toMatchObject({ type: 'minicni', subnet: NODE.podCidr });

    // 2. The pod's containers (the agent, and the plugin served in its own process), with
    // exactly the manifest's command and args.
    expect(ds.pod.containers.map((c) => c.name)).toEqual(['agent', 'plugin']);
    let generation = 0;
    const logs: string[] = [];
    const startPod = () => {
      generation++;
      return ds.pod.containers.map((c) => {
        const running = startContainer(ctd, ds, c, `mct-${c.name}-${generation}`);
        void running.done.then((r) => logs.push(`${running.id}:\n${r.stdout}${r.stderr}`));
        return running;
      });
    };
    const stopPod = async (running: RunningContainer[]) => {
      const out = await Promise.all(running.map((c) => c.stop()));
      return out.map((r) => r.stdout + r.stderr).join('\n');
    };
    let pod: RunningContainer[] | undefined = startPod();
    try {
      const socket = join(runDir, 'plugin.sock');
      await until(
        'the agent ready and serving the plugin',
        () => existsSync(join(runDir, 'ready')) && existsSync(socket),
      );
      // It routes to the peer node on the same segment (host-gw, from the API's Node objects).
      await until('the route to the peer node', async () =>
        (await node.run('ip', ['route', 'show', PEER.podCidr])).includes(`via ${PEER.ip}`),
      );
      await until('CRI NetworkReady', async () =>
        ((await ctd.cri.status()).status?.conditions ?? []).some(
          (c) => c.type === 'NetworkReady' && c.status,
        ),
      );

      // 3. Pods through the installed shim into the served plugin inside the image: with the
      // standalone executable out of the way, every sandbox must have been served.
      const standalone = join(binDir, 'minicni-standalone');
      renameSync(standalone, `${standalone}.away`);
      const ids = await Promise.all(
        ['pod-0', 'pod-1', 'pod-2'].map((n) => ctd.cri.runPodSandbox(ctd.sandboxConfig(n))),
      );
      const served = await expectReadySandboxes(ctd, node, ids, '10.244.1.');
      // Each ADD handed its pod to the agent (CRI's K8S_* CNI_ARGS, the config's policySocket):
      // the API stand-in never heard of these pods, yet the policy table knows them.
      const knownPods = () => node.run('nft', ['list', 'set', 'inet', 'minicni-policy', 'pods4']);
      for (const ip of served.ips) expect(await knownPods()).toContain(ip);
      // Then kubelet reports their addresses to the API (the hand-off only bridges until then).
      served.ips.forEach((ip, i) =>
        api.addPod({ namespace: 'default', name: `pod-${i}`, node: NODE.name, ips: [ip] }),
      );
      await ping(node, served.netnsPaths[0]!, served.ips[1]!);
      await ping(node, served.netnsPaths[2]!, served.ips[0]!);
      await ping(node, served.netnsPaths[1]!, NODE.ip);
      await ping(node, served.netnsPaths[1]!, NODE.gateway);
      const nftRules = await node.run('iptables-nft-save');
      expect(nftRules).toMatch(/^:MINICNI-FWD-/m);
      // The host writes nft here (Debian's default), so the image must have picked nft too.
      expect(await node.run('iptables-legacy-save')).not.toContain('MINICNI');
      renameSync(`${standalone}.away`, standalone);

      // 4. The DaemonSet pod stops: the next sandbox falls back to the standalone executable.
      const stopped = await stopPod(pod);
      pod = undefined;
      expect(stopped).toMatch(/agent stopped/);
      expect(existsSync(socket)).toBe(false);
      const fallbackId = await ctd.cri.runPodSandbox(ctd.sandboxConfig('pod-3'));
      const fallback = await expectReadySandboxes(ctd, node, [fallbackId], '10.244.1.');
      expect(served.ips).not.toContain(fallback.ips[0]);
      // No agent to hand it to: the table it left fails closed, the new pod is isolated (not
      // open) until the agent learns of it from the API.
      const isolated = await node.exec('nsenter', [
        `--net=${fallback.netnsPaths[0]!}`,
        'ping',
        '-c',
        '1',
        '-W',
        '1',
        served.ips[0]!,
      ]);
      expect(isolated.code, 'a pod nobody told the stopped agent about is cut off').not.toBe(0);
      // What kubelet does next: report the sandbox's address to the API.
      api.addPod({ namespace: 'default', name: 'pod-3', node: NODE.name, ips: fallback.ips });
      expect(reservations().sort()).toEqual([...served.ips, ...fallback.ips].sort());

      // 5. The pod restarts; a flushed rule comes back through the image's own iptables, put
      // there by the agent from the rules the plugin recorded.
      pod = startPod();
      await until('the restarted plugin serving', () => existsSync(socket));
      await until('the restarted agent to know the fallback pod from the API', async () =>
        (await knownPods()).includes(fallback.ips[0]!),
      );
      await ping(node, fallback.netnsPaths[0]!, served.ips[0]!);
      const chain = /^:(MINICNI-FWD-\S+)/m.exec(nftRules)![1]!;
      await node.run('iptables-nft', ['-F', chain]);
      expect(await node.run('iptables-nft-save')).not.toContain(`-A ${chain} -s ${NODE.podCidr}`);
      await until(
        'the agent to repair the flushed chain',
        async () =>
          (await node.run('iptables-nft-save')).includes(`-A ${chain} -s ${NODE.podCidr} -j ACCEPT`),
        30_000,
      );
      await ping(node, served.netnsPaths[0]!, fallback.ips[0]!);

      // 6. Removing every sandbox (DEL through the served plugin) leaves nothing behind.
      const all = {
        ips: [...served.ips, ...fallback.ips],
        netnsPaths: [...served.netnsPaths, ...fallback.netnsPaths],
      };
      await ctd.removePodSandboxes([...ids, fallbackId]);
      await expectSandboxesGone(ctd, node, all);
      expect(reservations()).toEqual([]);
      const last = await stopPod(pod);
      pod = undefined;
      expect(last).toMatch(/node rules repaired/);
      expect(last).not.toMatch(/node rules repair failed|NODE_RULES_FAILED|ENOENT/);
    } catch (err) {
      if (pod) await stopPod(pod);
      pod = undefined;
      await sleep(100);
      throw new Error(`${(err as Error).message}\n--- container logs ---\n${logs.join('\n')}`, {
        cause: err,
      });
    } finally {
      if (pod) await stopPod(pod);
    }
  });
});
