/**
 * Runs the containers of deploy/minicni.yaml's DaemonSet from the built image under a test's
 * containerd, the way kubelet would on one node: the image's own entrypoint, the manifest's args
 * with `$(VAR)` expanded from the env kubelet gives them, host networking, privileged, every
 * volume mounted where the manifest says, and a service account to reach the API. Host paths
 * are served from test dirs (see `nodePaths`), except the two that must be the machine's own:
 * the pod netns dir (where the CRI plugin mounts pod netns) and the xtables lock.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecResult } from '@minicni/testkit';
import { CRI_NAMESPACE, type Containerd } from '@minicni/testkit/containerd';
import {
  configMapData,
  containerEnv,
  daemonSetPod,
  expandVars,
  type Container,
  type K8sObject,
  type PodSpec,
} from './manifest.js';

/** Host paths a node really shares with the DaemonSet pod; every other hostPath is emulated. */
const MACHINE_PATHS = new Set(['/var/run/netns', '/run/xtables.lock']);
const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The image config's entrypoint, read from the OCI layout tar build-image.sh wrote. */
export function imageEntrypoint(tar: string): string[] {
  const read = (path: string) => execFileSync('tar', ['-xOf', tar, path], { maxBuffer: 64 << 20 }).toString();
  const index = JSON.parse(read('./index.json')) as { manifests: { digest: string }[] };
  const blob = (digest: string) => `./blobs/sha256/${digest.replace(/^sha256:/, '')}`;
  const manifest = JSON.parse(read(blob(index.manifests[0]!.digest))) as { config: { digest: string } };
  const config = JSON.parse(read(blob(manifest.config.digest))) as { config: { Entrypoint?: string[] } };
  return config.config.Entrypoint ?? [];
}

export interface DaemonSetNode {
  pod: PodSpec;
  /** Host path -> test dir, for the containerd fixture's `nodePaths`. */
  nodePaths: Record<string, string>;
  /** The test dir standing for a host path (throws for one the node shares with the machine). */
  hostDir(path: string): string;
  /** `ctr run` argv (after `ctr -a <socket>`) for one of the pod's containers. */
  ctrRun(container: Container, id: string): string[];
}

export function daemonSetNode(opts: {
  docs: readonly K8sObject[];
  work: string;
  nodeName: string;
  entrypoint: readonly string[];
  api: { host: string; port: number; token: string; ca: string };
}): DaemonSetNode {
  const pod = daemonSetPod(opts.docs);
  const configMap = configMapData(opts.docs);
  const nodePaths: Record<string, string> = {};
  for (const v of pod.volumes) {
    // A machine path of type FileOrCreate (the xtables lock) is made as kubelet makes it: an
    // empty file, if the machine has none yet (a fresh machine where iptables never ran).
    if (
      v.hostPath?.type === 'FileOrCreate' &&
      MACHINE_PATHS.has(v.hostPath.path) &&
      !existsSync(v.hostPath.path)
    )
      writeFileSync(v.hostPath.path, '', { flag: 'a' });
    if (!v.hostPath || MACHINE_PATHS.has(v.hostPath.path)) continue;
    if (v.hostPath.type !== 'DirectoryOrCreate')
      throw new Error(`volume ${v.name}: hostPath type ${v.hostPath.type} is not emulated here`);
    const dir = join(opts.work, 'node', v.hostPath.path);
    mkdirSync(dir, { recursive: true });
    nodePaths[v.hostPath.path] = dir;
  }
  // What kubelet projects into every pod that has a service account.
  const sa = join(opts.work, 'serviceaccount');
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, 'token'), opts.api.token);
  writeFileSync(join(sa, 'ca.crt'), opts.api.ca);
  writeFileSync(join(sa, 'namespace'), 'kube-system');

  const volumeSource = (name: string): string => {
    const v = pod.volumes.find((x) => x.name === name);
    if (!v) throw new Error(`volumeMount of unknown volume ${name}`);
    if (v.hostPath) return v.hostPath.path;
    if (v.configMap) {
      const dir = join(opts.work, 'configmaps', name);
      mkdirSync(dir, { recursive: true });
      for (const item of v.configMap.items ?? Object.keys(configMap).map((key) => ({ key, path: key }))) {
        const value = configMap[item.key];
        if (value === undefined) throw new Error(`volume ${name}: ConfigMap has no key ${item.key}`);
        writeFileSync(join(dir, item.path), value);
      }
      return dir;
    }
    throw new Error(`volume ${name}: only hostPath and configMap volumes are emulated`);
  };
  const propagation: Record<string, string> = {
    HostToContainer: 'rslave',
    Bidirectional: 'rshared',
    None: 'rprivate',
  };

  return {
    pod,
    nodePaths,
    hostDir(path) {
      const dir = nodePaths[path];
      if (!dir) throw new Error(`${path} is not an emulated host path`);
      return dir;
    },
    ctrRun(c, id) {
      const env = {
        ...containerEnv(c, { nodeName: opts.nodeName, configMap }),
        KUBERNETES_SERVICE_HOST: opts.api.host,
        KUBERNETES_SERVICE_PORT: String(opts.api.port),
      };
      const argv = [...(c.command ?? opts.entrypoint), ...(c.args ?? [])].map((a) => expandVars(a, env));
      const mounts = (c.volumeMounts ?? []).map((m) => {
        const o = ['rbind', m.readOnly ? 'ro' : 'rw', propagation[m.mountPropagation ?? 'None']];
        return `type=bind,src=${volumeSource(m.name)},dst=${m.mountPath},options=${o.join(':')}`;
      });
      mounts.push(`type=bind,src=${sa},dst=${SERVICE_ACCOUNT},options=rbind:ro`);
      return [
        '-n',
        CRI_NAMESPACE,
        'run',
        '--rm',
        ...(pod.hostNetwork ? ['--net-host'] : []),
        ...(c.securityContext?.privileged ? ['--privileged'] : []),
        ...Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
        ...mounts.flatMap((m) => ['--mount', m]),
        c.image,
        id,
        ...argv,
      ];
    },
  };
}

/** A container started with `ctr run` in the foreground: its exit, and a way to stop it. */
export interface RunningContainer {
  readonly id: string;
  readonly done: Promise<ExecResult>;
  stop(): Promise<ExecResult>;
}

export function startContainer(
  ctd: Containerd,
  node: DaemonSetNode,
  c: Container,
  id: string,
): RunningContainer {
  const done = ctd.ctr(node.ctrRun(c, id));
  return {
    id,
    done,
    async stop() {
      // What kubelet does on pod deletion: SIGTERM, then SIGKILL after the grace period.
      await ctd.ctr(['-n', CRI_NAMESPACE, 'task', 'kill', '-s', 'SIGTERM', id]);
      const grace = (node.pod.terminationGracePeriodSeconds ?? 30) * 1000;
      const timer = setTimeout(
        () => void ctd.ctr(['-n', CRI_NAMESPACE, 'task', 'kill', '-s', 'SIGKILL', id]),
        grace,
      );
      try {
        return await done;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
