/**
 * A small CRI `runtime.v1` client (gRPC over a unix socket) that drives a container runtime's
 * pod sandboxes the way kubelet does. The messages are the subset in `cri/runtime.proto`.
 *
 * API:
 * - `criClient(socketPath, {timeoutMs?}) -> CriClient` (lazy connection; `close()` when done):
 *   - `version() -> VersionResponse`, `status() -> StatusResponse` (`conditions` RuntimeReady,
 *     NetworkReady), `imageStatus(image) -> Image | undefined`
 *   - `runPodSandbox(config, runtimeHandler?) -> sandbox id`
 *   - `podSandboxStatus(id, verbose?) -> PodSandboxStatusResponse` (`status.network.ip`,
 *     `additionalIps`; `info.info` is a JSON string with the runtime spec when verbose)
 *   - `stopPodSandbox(id)`, `removePodSandbox(id)`, `listPodSandbox(filter?) -> PodSandbox[]`
 * - `podSandboxConfig(name, opts?) -> PodSandboxConfig`: what kubelet sends for a pod with that
 *   name (namespace `default`, a fresh uid, optional port mappings, labels, annotations).
 * - `sandboxIps(status) -> string[]`: primary plus additional IPs of a sandbox.
 * - `sandboxNetnsPath(statusResponse) -> string | undefined`: from a verbose status.
 * - Failures are `CriError` with `code` `'CRI_CALL_FAILED'` and the gRPC `grpcCode`.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface VersionResponse {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export interface RuntimeCondition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

export interface StatusResponse {
  status: { conditions: RuntimeCondition[] } | null;
  info: Record<string, string>;
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';

export interface PortMapping {
  protocol?: Protocol;
  containerPort: number;
  hostPort?: number;
  hostIp?: string;
}

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt?: number;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  logDirectory?: string;
  dnsConfig?: { servers?: string[]; searches?: string[]; options?: string[] };
  portMappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: {
    cgroupParent?: string;
    securityContext?: {
      namespaceOptions?: { network?: NamespaceMode; pid?: NamespaceMode; ipc?: NamespaceMode };
      privileged?: boolean;
    };
    sysctls?: Record<string, string>;
  };
}

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: PodSandboxState;
  createdAt: string;
  network: { ip: string; additionalIps: { ip: string }[] } | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}

export interface PodSandboxStatusResponse {
  status: PodSandboxStatus | null;
  info: Record<string, string>;
}

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: PodSandboxState;
  createdAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}

export interface PodSandboxFilter {
  id?: string;
  state?: { state: PodSandboxState };
  labelSelector?: Record<string, string>;
}

export interface Image {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: string;
}

export class CriError extends Error {
  readonly code = 'CRI_CALL_FAILED';
  constructor(
    readonly method: string,
    readonly grpcCode: grpc.status | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CriError';
  }
}

export interface CriClient {
  readonly socketPath: string;
  version(): Promise<VersionResponse>;
  status(verbose?: boolean): Promise<StatusResponse>;
  imageStatus(image: string): Promise<Image | undefined>;
  runPodSandbox(config: PodSandboxConfig, runtimeHandler?: string): Promise<string>;
  podSandboxStatus(id: string, verbose?: boolean): Promise<PodSandboxStatusResponse>;
  stopPodSandbox(id: string): Promise<void>;
  removePodSandbox(id: string): Promise<void>;
  listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]>;
  close(): void;
}

export interface CriClientOptions {
  /** Deadline of each call. RunPodSandbox runs the CNI ADD, so give it room. */
  timeoutMs?: number;
}

/** The kubelet-facing CRI API version this client speaks. */
export const CRI_API_VERSION = 'v1';

type Unary = (
  req: unknown,
  meta: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: unknown) => void,
) => void;
type ServiceCtor = new (
  address: string,
  creds: grpc.ChannelCredentials,
) => grpc.Client & Record<string, Unary>;

let services: { runtime: ServiceCtor; image: ServiceCtor } | undefined;

function loadServices(): { runtime: ServiceCtor; image: ServiceCtor } {
  if (services) return services;
  const def = protoLoader.loadSync(fileURLToPath(new URL('./cri/runtime.proto', import.meta.url)), {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    arrays: true,
    objects: false,
  });
  const root = grpc.loadPackageDefinition(def) as unknown as {
    runtime: { v1: { RuntimeService: ServiceCtor; ImageService: ServiceCtor } };
  };
  services = { runtime: root.runtime.v1.RuntimeService, image: root.runtime.v1.ImageService };
  return services;
}

export function criClient(socketPath: string, opts: CriClientOptions = {}): CriClient {
  const { runtime: RuntimeService, image: ImageService } = loadServices();
  const address = `unix://${socketPath}`;
  const creds = grpc.credentials.createInsecure();
  const rt = new RuntimeService(address, creds);
  const img = new ImageService(address, creds);
  const timeoutMs = opts.timeoutMs ?? 120_000;

  const call = <T>(client: grpc.Client & Record<string, Unary>, method: string, req: object): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const fn = client[method];
      if (!fn) throw new CriError(method, undefined, `CRI method ${method} is not in cri/runtime.proto`);
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) {
          reject(
            new CriError(method, err.code, `CRI ${method} failed: ${err.details || err.message}`, {
              cause: err,
            }),
          );
        } else {
          resolve(res as T);
        }
      });
    });

  return {
    socketPath,
    version: () => call<VersionResponse>(rt, 'version', { version: CRI_API_VERSION }),
    status: (verbose = false) => call<StatusResponse>(rt, 'status', { verbose }),
    imageStatus: async (image) => {
      const res = await call<{ image: Image | null }>(img, 'imageStatus', { image: { image } });
      return res.image ?? undefined;
    },
    runPodSandbox: async (config, runtimeHandler = '') => {
      const res = await call<{ podSandboxId: string }>(rt, 'runPodSandbox', { config, runtimeHandler });
      return res.podSandboxId;
    },
    podSandboxStatus: (id, verbose = false) =>
      call<PodSandboxStatusResponse>(rt, 'podSandboxStatus', { podSandboxId: id, verbose }),
    stopPodSandbox: async (id) => {
      await call(rt, 'stopPodSandbox', { podSandboxId: id });
    },
    removePodSandbox: async (id) => {
      await call(rt, 'removePodSandbox', { podSandboxId: id });
    },
    listPodSandbox: async (filter) => {
      const res = await call<{ items: PodSandbox[] }>(rt, 'listPodSandbox', filter ? { filter } : {});
      return res.items;
    },
    close: () => {
      rt.close();
      img.close();
    },
  };
}

export interface PodSandboxConfigOptions {
  namespace?: string;
  uid?: string;
  portMappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** cgroupfs path of the pod's parent cgroup (kubelet: `/kubepods/...`); empty = runtime default. */
  cgroupParent?: string;
}

/** The sandbox config kubelet sends for a plain pod (pod network, own pid/ipc namespaces). */
export function podSandboxConfig(name: string, opts: PodSandboxConfigOptions = {}): PodSandboxConfig {
  const namespace = opts.namespace ?? 'default';
  const uid = opts.uid ?? randomUUID();
  return {
    metadata: { name, uid, namespace, attempt: 0 },
    hostname: name,
    logDirectory: '',
    portMappings: opts.portMappings ?? [],
    labels: {
      'io.kubernetes.pod.name': name,
      'io.kubernetes.pod.namespace': namespace,
      'io.kubernetes.pod.uid': uid,
      ...opts.labels,
    },
    annotations: { 'kubernetes.io/config.source': 'api', ...opts.annotations },
    linux: {
      cgroupParent: opts.cgroupParent ?? '',
      securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } },
    },
  };
}

export function sandboxIps(status: PodSandboxStatus | null): string[] {
  const net = status?.network;
  if (!net?.ip) return [];
  return [net.ip, ...net.additionalIps.map((a) => a.ip)];
}

/** The sandbox's network namespace path, read from the runtime spec of a verbose status. */
export function sandboxNetnsPath(res: PodSandboxStatusResponse): string | undefined {
  const raw = res.info.info;
  if (!raw) return undefined;
  try {
    const info = JSON.parse(raw) as {
      runtimeSpec?: { linux?: { namespaces?: { type: string; path?: string }[] } };
    };
    return info.runtimeSpec?.linux?.namespaces?.find((n) => n.type === 'network')?.path;
  } catch {
    return undefined;
  }
}
