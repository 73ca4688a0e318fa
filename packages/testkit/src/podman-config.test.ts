import { describe, expect, it } from 'vitest';
import { containersConf, storageConf } from './podman.js';

describe('podman configs', () => {
  const conf = containersConf('/tmp/pm', {
    cniPluginDirs: ['/opt/mc', '/usr/lib/cni'],
    networkConfigDir: '/tmp/net.d',
  });
  const line = (key: string) => conf.split('\n').find((l) => l.startsWith(`${key} =`));

  it('selects the CNI backend with the given plugin dirs and conflist dir', () => {
    expect(conf).toContain('[network]');
    expect(line('network_backend')).toBe('network_backend = "cni"');
    expect(line('cni_plugin_dirs')).toBe('cni_plugin_dirs = ["/opt/mc", "/usr/lib/cni"]');
    expect(line('network_config_dir')).toBe('network_config_dir = "/tmp/net.d"');
  });

  it('uses runc, cgroupfs, ulimits and keeps locks, events and tmp in the fixture dir', () => {
    expect(line('runtime')).toBe('runtime = "runc"');
    expect(line('cgroup_manager')).toBe('cgroup_manager = "cgroupfs"');
    expect(line('default_ulimits')).toBe('default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]');
    expect(line('lock_type')).toBe('lock_type = "file"');
    expect(line('events_logfile_path')).toBe('events_logfile_path = "/tmp/pm/events.log"');
    expect(line('tmp_dir')).toBe('tmp_dir = "/tmp/pm/tmp"');
  });

  it('puts overlay storage under the fixture dir', () => {
    expect(storageConf('/tmp/pm')).toBe(
      '[storage]\ndriver = "overlay"\ngraphroot = "/tmp/pm/root"\nrunroot = "/tmp/pm/runroot"\n',
    );
  });
});
