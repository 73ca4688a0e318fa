import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadAll } from 'js-yaml';
import { renderConflist } from '../src/conflist-template.js';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [k: string]: unknown;
}

const docs = loadAll(
  readFileSync(resolve(import.meta.dirname, '../../../deploy/minicni.yaml'), 'utf8'),
) as K8sObject[];
const byKind = (kind: string) => docs.find((d) => d.kind === kind)!;

describe('deploy/minicni.yaml', () => {
  it('has the RBAC, ConfigMap and DaemonSet, all on current API versions', () => {
    expect(docs.map((d) => `${d.apiVersion} ${d.kind}`)).toEqual([
      'v1 ServiceAccount',
      'rbac.authorization.k8s.io/v1 ClusterRole',
      'rbac.authorization.k8s.io/v1 ClusterRoleBinding',
      'v1 ConfigMap',
      'apps/v1 DaemonSet',
    ]);
    expect((byKind('ClusterRole') as unknown as { rules: unknown[] }).rules).toEqual([
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
    ]);
  });

  it('runs the DaemonSet on every Linux node, host network, privileged, node-critical, without deprecated fields', () => {
    interface Container {
      args: string[];
      securityContext: { privileged: boolean };
    }
    const ds = byKind('DaemonSet') as unknown as {
      spec: {
        template: {
          spec: {
            hostNetwork: boolean;
            priorityClassName: string;
            nodeSelector: object;
            tolerations: object[];
            serviceAccountName: string;
            initContainers: Container[];
            containers: Container[];
          };
        };
      };
    };
    const pod = ds.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.serviceAccountName).toBe('minicni');
    for (const c of [...pod.initContainers, ...pod.containers])
      expect(c.securityContext.privileged).toBe(true);
    const text = JSON.stringify(docs);
    expect(text).not.toMatch(
      /beta\.kubernetes\.io\/os|scheduler\.alpha\.kubernetes\.io\/critical-pod|extensions\/v1beta1/,
    );
    expect(pod.initContainers[0]!.args[0]).toBe('install');
    expect(pod.containers[0]!.args[0]).toBe('run');
  });

  it('wires the fast path: the shim installed as `minicni`, the agent serving the plugin', () => {
    const ds = byKind('DaemonSet') as unknown as {
      spec: {
        template: {
          spec: {
            initContainers: { args: string[] }[];
            containers: { args: string[]; volumeMounts: { mountPath: string; readOnly?: boolean }[] }[];
          };
        };
      };
    };
    const pod = ds.spec.template.spec;
    expect(pod.initContainers[0]!.args).toEqual(
      expect.arrayContaining([
        '--plugin=/opt/minicni/bin/minicni-shim=minicni',
        '--plugin=/opt/minicni/bin/minicni=minicni-standalone',
      ]),
    );
    const agent = pod.containers[0]!;
    expect(agent.args).toContain('--serve-plugin=/run/minicni/plugin.sock');
    // The installer knows the mode, so the pods' MTU leaves room for VXLAN when it may be used.
    expect(pod.initContainers[0]!.args).toContain('--mode=$(MINICNI_MODE)');
    const mounts = Object.fromEntries(agent.volumeMounts.map((m) => [m.mountPath, m]));
    for (const path of ['/run/minicni', '/var/run/netns', '/opt/cni/bin', '/var/lib/cni/networks'])
      expect(mounts[path], path).toBeDefined();
    expect(mounts['/var/lib/cni/networks']!.readOnly).toBeFalsy();
  });

  it("carries a template the installer renders (the seed's bare __NODE_SUBNET__)", () => {
    const cm = byKind('ConfigMap') as unknown as { data: Record<string, string> };
    const out = JSON.parse(
      renderConflist(cm.data['cni-conf.json']!, { nodeName: 'n', podCIDRs: ['10.244.1.0/24'], podMtu: 1450 }),
    );
    expect(out.plugins[0]).toMatchObject({
      type: 'minicni',
      subnet: '10.244.1.0/24',
      mtu: 1450,
      readinessFile: '/run/minicni/ready',
    });
    expect(['host-gw', 'vxlan', 'auto']).toContain(cm.data.mode);
  });
});
