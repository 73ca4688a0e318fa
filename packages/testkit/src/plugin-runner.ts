import type { ExecResult } from './exec.js';
import type { TestNetns } from './netns.js';

export interface PluginCall {
  command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  path?: string;
  extraEnv?: Record<string, string>;
}

export interface PluginOutcome extends ExecResult {
  /** stdout parsed as JSON, or undefined when it is empty or not JSON. */
  json: unknown;
}

/** Builds the CNI environment the way a runtime would, omitting what the verb does not get. */
export function cniEnv(call: PluginCall): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: call.command,
  };
  if (call.containerId !== undefined) env.CNI_CONTAINERID = call.containerId;
  if (call.netns !== undefined) env.CNI_NETNS = call.netns;
  if (call.ifname !== undefined) env.CNI_IFNAME = call.ifname;
  if (call.args !== undefined) env.CNI_ARGS = call.args;
  if (call.path !== undefined) env.CNI_PATH = call.path;
  return { ...env, ...call.extraEnv };
}

/** Runs a CNI plugin executable inside a node netns with CNI env and the config on stdin. */
export async function runPluginInNode(
  node: TestNetns,
  plugin: string,
  call: PluginCall,
  config: unknown,
): Promise<PluginOutcome> {
  const r = await node.exec(plugin, [], {
    env: cniEnv(call),
    stdin: typeof config === 'string' ? config : JSON.stringify(config),
  });
  let json: unknown;
  try {
    json = r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { ...r, json };
}
