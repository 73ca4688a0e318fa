/**
 * deploy/minicni.yaml read the way the API server and kubelet read it, for the tests that check
 * the manifest (schema, RBAC) and the e2e that runs its containers: what ships, never a copy.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const DEPLOY_DIR = resolve(import.meta.dirname, '../../../deploy');
export const MANIFEST = join(DEPLOY_DIR, 'minicni.yaml');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [k: string]: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    configMapKeyRef?: { name: string; key: string };
  };
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  mountPropagation?: string;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: VolumeMount[];
  securityContext?: { privileged?: boolean };
}

export interface Volume {
  name: string;
  hostPath?: { path: string; type?: string };
  configMap?: { name: string; items?: { key: string; path: string }[] };
}

export interface PodSpec {
  hostNetwork?: boolean;
  priorityClassName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: object[];
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  initContainers: Container[];
  containers: Container[];
  volumes: Volume[];
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Every document of a YAML file; a parse error fails loudly with the file's name. */
export function loadYaml(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => {
    if (doc.errors.length) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as K8sObject;
  });
}

/** Every manifest in deploy/ (the image recipe and its output are not manifests). */
export function deployManifests(): string[] {
  return readdirSync(DEPLOY_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => join(DEPLOY_DIR, f));
}

export function manifest(): K8sObject[] {
  return loadYaml(MANIFEST);
}

export function byKind<T>(docs: readonly K8sObject[], kind: string): T {
  const found = docs.filter((d) => d.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} in the manifest, found ${found.length}`);
  return found[0] as unknown as T;
}

export function daemonSetPod(docs: readonly K8sObject[] = manifest()): PodSpec {
  return byKind<{ spec: { template: { spec: PodSpec } } }>(docs, 'DaemonSet').spec.template.spec;
}

export function configMapData(docs: readonly K8sObject[] = manifest()): Record<string, string> {
  return byKind<{ data: Record<string, string> }>(docs, 'ConfigMap').data;
}

export function clusterRoleRules(docs: readonly K8sObject[] = manifest()): PolicyRule[] {
  return byKind<{ rules: PolicyRule[] }>(docs, 'ClusterRole').rules;
}

/**
 * A container's environment as kubelet builds it for one node: plain values, `spec.nodeName`
 * and ConfigMap keys (the only sources the manifest uses; any other is an error here, so the
 * test breaks when the manifest starts using one).
 */
export function containerEnv(
  c: Container,
  node: { nodeName: string; configMap: Record<string, string> },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of c.env ?? []) {
    if (v.value !== undefined) env[v.name] = v.value;
    else if (v.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') env[v.name] = node.nodeName;
    else if (v.valueFrom?.configMapKeyRef) {
      const value = node.configMap[v.valueFrom.configMapKeyRef.key];
      if (value === undefined)
        throw new Error(`${c.name}: ConfigMap has no key ${v.valueFrom.configMapKeyRef.key}`);
      env[v.name] = value;
    } else throw new Error(`${c.name}: env ${v.name} has a source this test does not emulate`);
  }
  return env;
}

/** `$(VAR)` references in command and args expanded as kubelet does (`$$` escapes, unknown stay). */
export function expandVars(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) =>
    m === '$$' ? '$' : (env[name!] ?? m),
  );
}
