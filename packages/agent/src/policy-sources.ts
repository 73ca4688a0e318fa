import {
  EVERYTHING,
  namespaceFromK8s,
  networkPolicyFromK8s,
  podFromK8s,
  type Namespace,
  type NetworkPolicy,
  type Pod,
} from '@minicni/policy';
import type { Backoff } from './backoff.js';
import { Informer, objectKeyOf, type InformerStats } from './informer.js';
import { Interner } from './interner.js';
import { KubeApiError, type KubeClient } from './kube-client.js';
import { silentLogger, type Logger } from './node-source.js';

/** What the policy controller reads from each resource: a cache that says when it changes. */
export interface PolicyCache<T> {
  readonly items: ReadonlyMap<string, T>;
  /** One full list has landed. */
  readonly synced: boolean;
  readonly stats?: InformerStats;
  /** The API resourceVersion `items` reflect, when the cache knows it. */
  readonly resourceVersion?: string;
  start(onChange: () => void): void;
  stop(): Promise<void>;
}

export interface PolicyCaches {
  pods: PolicyCache<Pod>;
  namespaces: PolicyCache<Namespace>;
  policies: PolicyCache<NetworkPolicy>;
}

/** Collection paths, cluster-wide: peers live in every namespace and on every node. */
export const POLICY_PATHS = {
  pods: '/api/v1/pods',
  namespaces: '/api/v1/namespaces',
  policies: '/apis/networking.k8s.io/v1/networkpolicies',
} as const;

export interface PolicyInformerOptions {
  resyncMs?: number;
  watchTimeoutSeconds?: number;
  /** A fresh Backoff per informer (they fail and recover independently). */
  backoff?: () => Backoff;
  logger?: Logger;
}

const sameJson = <T>(a: T, b: T) => JSON.stringify(a) === JSON.stringify(b);

/**
 * A policy that isolates every pod of `namespace` both ways and allows nothing: what a policy
 * we cannot read stands for until it is fixed. Fail closed, never open.
 */
export function isolateNamespace(namespace: string, name: string): NetworkPolicy {
  return {
    namespace,
    name,
    podSelector: EVERYTHING,
    policyTypes: ['Ingress', 'Egress'],
    ingress: [],
    egress: [],
  };
}

/**
 * Informers for pods, namespaces and NetworkPolicies, converted to @minicni/policy's model as
 * each event lands (so a snapshot is never half-converted), the raw object dropped at once, and
 * what pods share (names, label sets, ports) held once (`Interner`). An object that does not convert
 * keeps its last good version; a NetworkPolicy seen bad from the start isolates its namespace.
 */
export function policyInformers(client: KubeClient, opts: PolicyInformerOptions = {}): PolicyCaches {
  const log = opts.logger ?? silentLogger;
  // One table for the three caches: namespace names and label text recur across them.
  const interner = new Interner();
  const common = (path: string) => ({
    path,
    same: sameJson,
    ...(opts.resyncMs !== undefined ? { resyncMs: opts.resyncMs } : {}),
    ...(opts.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
    ...(opts.backoff ? { backoff: opts.backoff() } : {}),
    logger: log,
  });
  function converter<T>(kind: string, from: (raw: unknown) => T, fallback?: (raw: unknown) => T) {
    return (raw: unknown, before: T | undefined): T | undefined => {
      try {
        return from(raw);
      } catch (e) {
        const fields = { [kind]: objectKeyOf(raw), error: (e as Error).message };
        if (before !== undefined) {
          log('error', `cannot convert a ${kind}; keeping its last good version`, fields);
          return before;
        }
        const stand = fallback?.(raw);
        log(
          'error',
          `cannot convert a ${kind}; ${stand ? 'isolating its namespace' : 'leaving it out'}`,
          fields,
        );
        return stand;
      }
    };
  }
  return {
    pods: new Informer(client, {
      ...common(POLICY_PATHS.pods),
      convert: converter('pod', (raw) => interner.pod(podFromK8s(raw))),
    }),
    namespaces: new Informer(client, {
      ...common(POLICY_PATHS.namespaces),
      convert: converter('namespace', (raw) => {
        const ns = namespaceFromK8s(raw);
        return { name: interner.string(ns.name), labels: interner.labels(ns.labels) };
      }),
    }),
    policies: new Informer(client, {
      ...common(POLICY_PATHS.policies),
      convert: converter('networkpolicy', networkPolicyFromK8s, (raw) => {
        const [ns, name] = (objectKeyOf(raw) ?? '').split('/');
        return ns && name ? isolateNamespace(ns, name) : undefined;
      }),
    }),
  };
}

/**
 * `GET /api/v1/namespaces/NS/pods/NAME` for `PolicyController`'s `getPod`: the raw object, or
 * undefined when the API has no such pod (404). Other failures reject.
 */
export function kubePodGetter(client: KubeClient): (namespace: string, name: string) => Promise<unknown> {
  return async (namespace, name) => {
    try {
      return await client.getJson(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`,
      );
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  };
}
