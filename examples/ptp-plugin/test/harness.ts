import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runPlugin } from '@minicni/spec';
import {
  callInProcess,
  nodeWithPods,
  type InProcessOutcome,
  type PluginCall,
  type TestNetns,
} from '@minicni/testkit';
import { ptpPlugin, SUPPORTED_VERSIONS } from '../src/plugin.js';

export type Outcome = InProcessOutcome;

/**
 * Runs the plugin in this process with `node` as its node netns (never the test runner's own),
 * with the env and config a runtime would give it, and a throwaway IPAM dataDir.
 */
export class PtpHarness implements Disposable {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'mct-ptp-data-'));
  constructor(readonly node: TestNetns) {}

  conf(extra: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}) {
    return {
      cniVersion: '1.1.0',
      name: 'mct-ptp',
      type: 'minicni-ptp',
      mtu: 1400,
      ipam: { type: 'minicni', subnet: '10.244.50.0/24', dataDir: this.dataDir, ...ipam },
      ...extra,
    };
  }

  call(
    command: PluginCall['command'],
    at: { containerId?: string; netns?: string; ifname?: string },
    config: unknown,
  ): Promise<Outcome> {
    const handlers = ptpPlugin({ nodeNetns: this.node.path });
    return callInProcess(
      runPlugin,
      handlers,
      SUPPORTED_VERSIONS,
      { command, path: '/usr/lib/cni', ...at },
      config,
    );
  }

  /** ADD of each container into its pod netns (eth0), each expected to succeed. */
  async addAll<T extends [containerId: string, pod: TestNetns][]>(
    config: unknown,
    pods: [...T],
  ): Promise<{ [K in keyof T]: Outcome }> {
    const out: Outcome[] = [];
    for (const [containerId, pod] of pods) {
      const r = await this.call('ADD', { containerId, netns: pod.path, ifname: 'eth0' }, config);
      expect(r.code, `ADD ${containerId}: ${r.stdout}`).toBe(0);
      out.push(r);
    }
    return out as { [K in keyof T]: Outcome };
  }

  /** GC as a runtime calls it: only the containers in `keep` (on eth0) are valid attachments. */
  gc(config: Record<string, unknown>, keep: string[]): Promise<Outcome> {
    const valid = keep.map((containerID) => ({ containerID, ifname: 'eth0' }));
    return this.call('GC', {}, { ...config, 'cni.dev/valid-attachments': valid });
  }

  /** Reserved IPs in the built-in store (host-local layout: one file per IP). */
  reserved(network = 'mct-ptp'): string[] {
    const dir = join(this.dataDir, network);
    return existsSync(dir) ? readdirSync(dir).filter((f) => /^[0-9.]+$|:/.test(f)) : [];
  }

  [Symbol.dispose](): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A throwaway node with `pods` pod netns and a harness on it; all removed on dispose. */
export async function ptpNode<N extends number>(pods: N) {
  const net = await nodeWithPods(pods);
  const h = new PtpHarness(net.node);
  return {
    node: net.node,
    pods: net.pods,
    h,
    [Symbol.asyncDispose]: async () => {
      h[Symbol.dispose]();
      await net[Symbol.asyncDispose]();
    },
  };
}
