import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlugin } from '@minicni/spec';
import { callInProcess, type InProcessOutcome, type PluginCall, type TestNetns } from '@minicni/testkit';
import { bridgePlugin, SUPPORTED_VERSIONS } from '../src/plugin.js';

export interface Call {
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  env?: Record<string, string>;
}

export type Outcome = InProcessOutcome;

/**
 * Runs the plugin in this process, acting on `node` as its node netns (never on the test
 * runner's own netns), with the CNI env and config a runtime would give it.
 */
export class PluginHarness implements Disposable {
  readonly stampDir = mkdtempSync(join(tmpdir(), 'minicni-stamps-'));
  readonly dataDir = mkdtempSync(join(tmpdir(), 'minicni-data-'));
  constructor(readonly node: TestNetns) {}

  call(command: string, call: Call, config: unknown): Promise<Outcome> {
    const { env, ...rest } = call;
    const handlers = bridgePlugin({ netns: this.node.path, stampDir: this.stampDir });
    const how = { command: command as PluginCall['command'], path: '/usr/lib/cni', ...rest, extraEnv: env };
    return callInProcess(runPlugin, handlers, SUPPORTED_VERSIONS, how, config);
  }

  [Symbol.dispose](): void {
    rmSync(this.stampDir, { recursive: true, force: true });
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
