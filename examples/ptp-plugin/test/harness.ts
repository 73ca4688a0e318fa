import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlugin } from '@minicni/spec';
import type { TestNetns } from '@minicni/testkit';
import { ptpPlugin, SUPPORTED_VERSIONS } from '../src/plugin.js';

export interface Call {
  containerId?: string;
  netns?: string;
  ifname?: string;
}

export interface Outcome {
  code: number;
  /** stdout parsed: a result or a CNI error. */
  json: Record<string, unknown> & {
    code?: number;
    msg?: string;
    ips?: { address: string; gateway?: string }[];
    routes?: { dst: string; gw?: string }[];
  };
  stdout: string;
}

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

  async call(command: string, call: Call, config: unknown): Promise<Outcome> {
    const env: Record<string, string> = { CNI_COMMAND: command, CNI_PATH: '/usr/lib/cni' };
    if (call.containerId !== undefined) env.CNI_CONTAINERID = call.containerId;
    if (call.netns !== undefined) env.CNI_NETNS = call.netns;
    if (call.ifname !== undefined) env.CNI_IFNAME = call.ifname;
    let stdout = '';
    const code = await runPlugin(ptpPlugin({ nodeNetns: this.node.path }), {
      supportedVersions: SUPPORTED_VERSIONS,
      io: {
        env,
        stdin: JSON.stringify(config),
        stdout: (t) => (stdout += t),
        stderr: () => {},
        exit: () => {},
      },
    });
    return { code, json: stdout.trim() ? JSON.parse(stdout) : {}, stdout };
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
