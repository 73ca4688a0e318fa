import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlugin } from '@minicni/spec';
import type { TestNetns } from '@minicni/testkit';
import { bridgePlugin } from '../src/plugin.js';
import { SUPPORTED_VERSIONS } from '../src/plugin.js';

export interface Call {
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  env?: Record<string, string>;
}

export interface Outcome {
  code: number;
  /** stdout parsed (a result or a CNI error). */
  json: Record<string, unknown> & {
    code?: number;
    msg?: string;
    ips?: { address: string; gateway?: string }[];
  };
  stdout: string;
  stderr: string;
}

/**
 * Runs the plugin in this process, acting on `node` as its node netns (never on the test
 * runner's own netns), with the CNI env and config a runtime would give it.
 */
export class PluginHarness implements Disposable {
  readonly stampDir = mkdtempSync(join(tmpdir(), 'minicni-stamps-'));
  readonly dataDir = mkdtempSync(join(tmpdir(), 'minicni-data-'));
  constructor(readonly node: TestNetns) {}

  async call(command: string, call: Call, config: unknown): Promise<Outcome> {
    const env: Record<string, string> = { CNI_COMMAND: command, CNI_PATH: '/usr/lib/cni', ...call.env };
    if (call.containerId !== undefined) env.CNI_CONTAINERID = call.containerId;
    if (call.netns !== undefined) env.CNI_NETNS = call.netns;
    if (call.ifname !== undefined) env.CNI_IFNAME = call.ifname;
    if (call.args !== undefined) env.CNI_ARGS = call.args;
    let stdout = '';
    let stderr = '';
    const code = await runPlugin(bridgePlugin({ netns: this.node.path, stampDir: this.stampDir }), {
      supportedVersions: SUPPORTED_VERSIONS,
      io: {
        env,
        stdin: typeof config === 'string' ? config : JSON.stringify(config),
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
        exit: () => {},
      },
    });
    return { code, json: stdout.trim() ? JSON.parse(stdout) : {}, stdout, stderr };
  }

  [Symbol.dispose](): void {
    rmSync(this.stampDir, { recursive: true, force: true });
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
