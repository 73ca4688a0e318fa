import { describe, expect, it } from 'vitest';
import { containerdConfig } from './containerd.js';

describe('containerdConfig', () => {
  const text = containerdConfig(
    '/tmp/fx',
    { node: { path: '/run/netns/n' }, cniBinDir: 'ignored', cniConfDir: '/tmp/net.d' },
    '/tmp/fx/cni-bin',
  );
  const line = (key: string) =>
    text
      .split('\n')
      .find((l) => l.trim().startsWith(`${key} =`))
      ?.trim();

  it('is a version 2 config with everything private under the fixture dir', () => {
    expect(line('version')).toBe('version = 2');
    expect(line('root')).toBe('root = "/tmp/fx/root"');
    expect(line('state')).toBe('state = "/tmp/fx/state"');
    expect(text).toContain('[grpc]\n  address = "/tmp/fx/containerd.sock"');
    expect(text).toContain('[ttrpc]\n  address = "/tmp/fx/containerd.sock.ttrpc"');
    expect(line('path')).toBe('path = "/tmp/fx/opt"');
    expect(line('Root')).toBe('Root = "/tmp/fx/runc"');
  });

  it('configures the CRI plugin as these machines need', () => {
    expect(line('sandbox_image')).toBe('sandbox_image = "localhost/pause:test"');
    expect(line('restrict_oom_score_adj')).toBe('restrict_oom_score_adj = true');
    expect(line('stream_server_port')).toBe('stream_server_port = "0"');
    expect(line('netns_mounts_under_state_dir')).toBe('netns_mounts_under_state_dir = false');
    expect(line('runtime_type')).toBe('runtime_type = "io.containerd.runc.v2"');
    expect(line('SystemdCgroup')).toBe('SystemdCgroup = false');
    expect(line('bin_dir')).toBe('bin_dir = "/tmp/fx/cni-bin"');
    expect(line('conf_dir')).toBe('conf_dir = "/tmp/net.d"');
    expect(line('max_conf_num')).toBe('max_conf_num = 1');
  });

  it('quotes paths as TOML strings', () => {
    const odd = containerdConfig(
      '/tmp/a "b"',
      { node: { path: '/x' }, cniBinDir: 'x', cniConfDir: '/c' },
      '/b',
    );
    expect(odd).toContain('root = "/tmp/a \\"b\\"/root"');
  });
});
