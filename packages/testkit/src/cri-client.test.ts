import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  CriError,
  criClient,
  podSandboxConfig,
  sandboxIps,
  sandboxNetnsPath,
  type CriClient,
  type PodSandboxConfig,
} from './cri-client.js';

// A fake CRI runtime on a unix socket, built from the same .proto with protobuf's wire
// (snake_case) names, so the client's camelCase view and enum strings are checked end to end.
type Handler = (call: { request: Record<string, unknown> }, cb: grpc.sendUnaryData<unknown>) => void;
interface WireSandboxConfig {
  metadata: unknown;
  port_mappings: unknown;
  labels: Record<string, string>;
  linux: { cgroup_parent: string; security_context: { namespace_options: unknown } };
}

describe('criClient against a fake runtime', () => {
  let dir = '';
  let server: grpc.Server;
  let client: CriClient;
  const received: Record<string, unknown>[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'minicni-cri-unit-'));
    const def = protoLoader.loadSync(fileURLToPath(new URL('./cri/runtime.proto', import.meta.url)), {
      keepCase: true,
      enums: String,
      longs: String,
      defaults: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      runtime: {
        v1: {
          RuntimeService: { service: grpc.ServiceDefinition };
          ImageService: { service: grpc.ServiceDefinition };
        };
      };
    };
    server = new grpc.Server();
    const runtime: Record<string, Handler> = {
      Version: (call, cb) =>
        cb(null, {
          version: '0.1.0',
          runtime_name: 'fake',
          runtime_version: '9.9',
          runtime_api_version: 'v1',
        }),
      Status: (_call, cb) =>
        cb(null, {
          status: { conditions: [{ type: 'RuntimeReady', status: true, reason: '', message: '' }] },
        }),
      RunPodSandbox: (call, cb) => {
        received.push(call.request);
        cb(null, { pod_sandbox_id: 'sb1' });
      },
      PodSandboxStatus: (call, cb) => {
        if (call.request.pod_sandbox_id !== 'sb1') {
          cb({ code: grpc.status.NOT_FOUND, details: 'no such sandbox' });
          return;
        }
        cb(null, {
          status: {
            id: 'sb1',
            state: 'SANDBOX_NOTREADY',
            created_at: '1700000000000000000',
            network: { ip: '10.244.1.5', additional_ips: [{ ip: 'fd00::5' }] },
          },
          info: {
            info: JSON.stringify({
              runtimeSpec: {
                linux: { namespaces: [{ type: 'pid' }, { type: 'network', path: '/var/run/netns/cni-x' }] },
              },
            }),
          },
        });
      },
      StopPodSandbox: (_call, cb) => cb(null, {}),
      RemovePodSandbox: (_call, cb) => cb(null, {}),
      ListPodSandbox: (call, cb) => {
        received.push(call.request);
        cb(null, { items: [{ id: 'sb1', state: 'SANDBOX_READY', labels: { a: 'b' } }] });
      },
    };
    server.addService(pkg.runtime.v1.RuntimeService.service, runtime);
    const images: Record<string, Handler> = {
      ImageStatus: (call, cb) =>
        cb(
          null,
          (call.request.image as { image: string }).image === 'localhost/pause:test'
            ? { image: { id: 'sha256:abc', repo_tags: ['localhost/pause:test'], size: '123' } }
            : {},
        ),
    };
    server.addService(pkg.runtime.v1.ImageService.service, images);
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${join(dir, 'cri.sock')}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    client = criClient(join(dir, 'cri.sock'), { timeoutMs: 5000 });
  });

  afterAll(async () => {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('maps Version and Status to camelCase fields', async () => {
    expect(await client.version()).toEqual({
      version: '0.1.0',
      runtimeName: 'fake',
      runtimeVersion: '9.9',
      runtimeApiVersion: 'v1',
    });
    const status = await client.status();
    expect(status.status?.conditions[0]).toMatchObject({ type: 'RuntimeReady', status: true });
  });

  it('sends the sandbox config with the published field names and returns the id', async () => {
    const config: PodSandboxConfig = podSandboxConfig('web', {
      namespace: 'ns1',
      uid: 'u-1',
      portMappings: [{ protocol: 'TCP', containerPort: 80, hostPort: 8080 }],
      cgroupParent: '/mctcg1',
    });
    expect(await client.runPodSandbox(config)).toBe('sb1');
    const req = received[0] as { config: WireSandboxConfig; runtime_handler: string };
    expect(req.config.metadata).toEqual({ name: 'web', uid: 'u-1', namespace: 'ns1', attempt: 0 });
    expect(req.config.port_mappings).toEqual([
      { protocol: 'TCP', container_port: 80, host_port: 8080, host_ip: '' },
    ]);
    expect(req.config.labels['io.kubernetes.pod.namespace']).toBe('ns1');
    expect(req.config.linux.cgroup_parent).toBe('/mctcg1');
    expect(req.config.linux.security_context.namespace_options).toEqual({
      network: 'POD',
      pid: 'CONTAINER',
      ipc: 'POD',
      target_id: '',
    });
  });

  it('reads sandbox status, IPs and the netns path from verbose info', async () => {
    const res = await client.podSandboxStatus('sb1', true);
    expect(res.status?.state).toBe('SANDBOX_NOTREADY');
    expect(res.status?.createdAt).toBe('1700000000000000000');
    expect(sandboxIps(res.status)).toEqual(['10.244.1.5', 'fd00::5']);
    expect(sandboxNetnsPath(res)).toBe('/var/run/netns/cni-x');
    expect(sandboxNetnsPath({ status: null, info: { info: 'not json' } })).toBeUndefined();
    expect(sandboxIps(null)).toEqual([]);
  });

  it('lists sandboxes with a filter, stops and removes', async () => {
    const items = await client.listPodSandbox({ state: { state: 'SANDBOX_READY' } });
    expect(items.map((i) => [i.id, i.state, i.labels])).toEqual([['sb1', 'SANDBOX_READY', { a: 'b' }]]);
    expect(received.at(-1)).toMatchObject({ filter: { state: { state: 'SANDBOX_READY' } } });
    await client.stopPodSandbox('sb1');
    await client.removePodSandbox('sb1');
  });

  it('answers imageStatus with the image or undefined', async () => {
    expect((await client.imageStatus('localhost/pause:test'))?.repoTags).toEqual(['localhost/pause:test']);
    expect(await client.imageStatus('localhost/other:1')).toBeUndefined();
  });

  it('turns gRPC failures into CriError with the gRPC code', async () => {
    const err = await client.podSandboxStatus('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CriError);
    expect(err).toMatchObject({
      code: 'CRI_CALL_FAILED',
      grpcCode: grpc.status.NOT_FOUND,
      method: 'podSandboxStatus',
    });
    expect((err as Error).message).toContain('no such sandbox');
  });

  it('fails with UNAVAILABLE when nothing listens', async () => {
    const dead = criClient(join(dir, 'nothing.sock'), { timeoutMs: 1000 });
    try {
      await expect(dead.version()).rejects.toMatchObject({ code: 'CRI_CALL_FAILED' });
    } finally {
      dead.close();
    }
  });
});
