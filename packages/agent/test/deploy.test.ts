import { describe, expect, it } from 'vitest';
import { renderConflist } from '../src/conflist-template.js';
import {
  byKind,
  configMapData,
  containerEnv,
  daemonSetPod,
  deployManifests,
  expandVars,
  loadYaml,
  manifest,
  type K8sObject,
} from './manifest.js';

const docs = manifest();

/** The kubernetes-models class for an object's apiVersion and kind (its schema validates it). */
async function modelOf(obj: K8sObject): Promise<{ validate(): void }> {
  const group = obj.apiVersion.includes('/') ? obj.apiVersion : `v1`;
  const mod = (await import(`kubernetes-models/${group}/${obj.kind}`)) as Record<
    string,
    new (data: unknown) => { validate(): void }
  >;
  const Model = mod[obj.kind];
  if (!Model) throw new Error(`kubernetes-models has no ${obj.apiVersion} ${obj.kind}`);
  return new Model(obj);
}

describe('every manifest in deploy/ against the Kubernetes API schemas', () => {
  const files = deployManifests();
  it('finds the manifests', () => {
    expect(files.map((f) => f.split('/').at(-1))).toContain('minicni.yaml');
  });
  for (const file of files) {
    it(`${file.split('/').at(-1)}: each object validates`, async () => {
      for (const obj of loadYaml(file)) {
        const model = await modelOf(obj);
        expect(() => model.validate(), `${obj.kind} ${obj.metadata.name}`).not.toThrow();
      }
    });
  }
  it('the schema check catches a bad field (so a pass means something)', async () => {
    const ds = structuredClone(byKind<K8sObject>(docs, 'DaemonSet')) as unknown as {
      spec: { template: { spec: { containers: { volumeMounts: { mountPropagation?: string }[] }[] } } };
    };
    ds.spec.template.spec.containers[0]!.volumeMounts[0]!.mountPropagation = 'Sideways';
    const model = await modelOf(ds as unknown as K8sObject);
    expect(() => model.validate()).toThrow(/mountPropagation/);
  });
});

describe('deploy/minicni.yaml', () => {
  it('has the RBAC, ConfigMap and DaemonSet, all on current API versions', () => {
    expect(docs.map((d) => `${d.apiVersion} ${d.kind}`)).toEqual([
      'v1 ServiceAccount',
      'rbac.authorization.k8s.io/v1 ClusterRole',
      'rbac.authorization.k8s.io/v1 ClusterRoleBinding',
      'v1 ConfigMap',
      'apps/v1 DaemonSet',
    ]);
  });

  it('runs the DaemonSet on every Linux node, host network, privileged, node-critical, without deprecated fields', () => {
    const pod = daemonSetPod(docs);
    expect(pod.hostNetwork).toBe(true);
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.serviceAccountName).toBe('minicni');
    for (const c of [...pod.initContainers, ...pod.containers])
      expect(c.securityContext?.privileged).toBe(true);
    const text = JSON.stringify(docs);
    expect(text).not.toMatch(
      /beta\.kubernetes\.io\/os|scheduler\.alpha\.kubernetes\.io\/critical-pod|extensions\/v1beta1/,
    );
    expect(pod.initContainers[0]!.args![0]).toBe('install');
    expect(pod.containers[0]!.args![0]).toBe('run');
  });

  it('runs one image everywhere, the one deploy/build-image.sh builds by default', () => {
    const pod = daemonSetPod(docs);
    const images = new Set([...pod.initContainers, ...pod.containers].map((c) => c.image));
    expect(images.size).toBe(1);
    // build-image.sh takes its default tag from the first `image:` line of this manifest.
    expect([...images][0]).toMatch(/^[a-z0-9.-]+\/[a-z0-9/-]+:[\w.-]+$/);
  });

  it('wires the fast path: the shim installed as `minicni`, the plugin served by a container of its own', () => {
    const pod = daemonSetPod(docs);
    expect(pod.initContainers[0]!.args).toEqual(
      expect.arrayContaining([
        '--plugin=/opt/minicni/bin/minicni-shim=minicni',
        '--plugin=/opt/minicni/bin/minicni=minicni-standalone',
      ]),
    );
    // The installer knows the mode, so the pods' MTU leaves room for VXLAN when it may be used.
    expect(pod.initContainers[0]!.args).toContain('--mode=$(MINICNI_MODE)');
    expect(expandVars('--mode=$(MINICNI_MODE)', { MINICNI_MODE: 'vxlan' })).toBe('--mode=vxlan');
    expect(expandVars('$$(MINICNI_MODE) $(UNSET)', { MINICNI_MODE: 'x' })).toBe('$(MINICNI_MODE) $(UNSET)');
    const byName = Object.fromEntries(pod.containers.map((c) => [c.name, c]));
    expect(Object.keys(byName).sort()).toEqual(['agent', 'plugin']);
    // The served plugin is the executable the host falls back to, in its own process.
    expect(byName.plugin!.command).toEqual(['/opt/minicni/bin/minicni']);
    expect(byName.plugin!.args).toEqual(['serve', '--socket', '/run/minicni/plugin.sock']);
    const mounts = (name: string) =>
      Object.fromEntries((byName[name]!.volumeMounts ?? []).map((m) => [m.mountPath, m]));
    const plugin = mounts('plugin');
    for (const path of [
      '/run/minicni',
      '/var/run/netns',
      '/opt/cni/bin',
      '/var/lib/cni/networks',
      '/run/xtables.lock',
    ])
      expect(plugin[path], path).toBeDefined();
    expect(plugin['/var/lib/cni/networks']!.readOnly).toBeFalsy();
    // Pod netns the runtime mounts after the server started must show up inside it.
    expect(plugin['/var/run/netns']!.mountPropagation).toBe('HostToContainer');
    // The agent reads the rules the plugin recorded under /run/minicni and repairs them.
    const agent = mounts('agent');
    for (const path of ['/run/minicni', '/run/xtables.lock']) expect(agent[path], path).toBeDefined();
    expect(byName.agent!.args!.join(' ')).not.toMatch(/serve/);
  });

  it("carries a template the installer renders (the seed's bare __NODE_SUBNET__)", () => {
    const data = configMapData(docs);
    const out = JSON.parse(
      renderConflist(data['cni-conf.json']!, { nodeName: 'n', podCIDRs: ['10.244.1.0/24'], podMtu: 1450 }),
    );
    expect(out.plugins[0]).toMatchObject({
      type: 'minicni',
      subnet: '10.244.1.0/24',
      mtu: 1450,
      readinessFile: '/run/minicni/ready',
    });
    expect(['host-gw', 'vxlan', 'auto']).toContain(data.mode);
  });

  it("exempts the whole pod network from masquerading: the ConfigMap's cluster-cidr reaches the conflist", () => {
    const data = configMapData(docs);
    const install = daemonSetPod(docs).initContainers[0]!;
    const env = containerEnv(install, { nodeName: 'n', configMap: data });
    const flag = install.args!.map((a) => expandVars(a, env)).find((a) => a.startsWith('--cluster-cidr='));
    expect(flag).toBe(`--cluster-cidr=${data['cluster-cidr']}`);
    const clusterCIDRs = flag!.slice('--cluster-cidr='.length).split(',');
    const out = JSON.parse(
      renderConflist(data['cni-conf.json']!, { nodeName: 'n', podCIDRs: ['10.244.1.0/24'], clusterCIDRs }),
    );
    // Without it, pod to pod across nodes left with the node's address: no NetworkPolicy peer
    // matched it, and the pods broke Kubernetes' "no NAT between pods" model.
    expect(out.plugins[0].clusterCIDRs).toEqual(['10.244.0.0/16']);
  });
});
