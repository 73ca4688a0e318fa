import { runPlugin, type PluginHandlers, type RunPluginOptions } from '@minicni/spec';

export interface Captured {
  status: number;
  exitCalls: number[];
  stdout: string;
  stderr: string;
  log: { path: string; text: string }[];
  /** stdout parsed (undefined when empty). */
  json: Record<string, unknown> | undefined;
}

/** Runs runPlugin in-process with captured I/O. */
export async function callPlugin(
  handlers: PluginHandlers,
  env: Record<string, string | undefined>,
  stdin: string | Uint8Array,
  opts: Partial<RunPluginOptions> = {},
): Promise<Captured> {
  const c: Captured = { status: -1, exitCalls: [], stdout: '', stderr: '', log: [], json: undefined };
  c.status = await runPlugin(handlers, {
    supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    ...opts,
    io: {
      env,
      stdin,
      stdout: (t) => (c.stdout += t),
      stderr: (t) => (c.stderr += t),
      exit: (code) => c.exitCalls.push(code),
      appendFile: (path, text) => c.log.push({ path, text }),
      ...opts.io,
    },
  });
  c.json = c.stdout.trim() ? (JSON.parse(c.stdout) as Record<string, unknown>) : undefined;
  return c;
}

export const addEnv = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'ctr1',
  CNI_NETNS: '/run/netns/pod1',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
};

export function conf(version: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ cniVersion: version, name: 'net1', type: 'test', ...extra });
}
