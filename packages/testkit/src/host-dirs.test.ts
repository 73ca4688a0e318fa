import { describe, expect, it } from 'vitest';
import { HostDirs, type DirOps } from './host-dirs.js';

function fakeFs(existing: string[], busy: string[] = []) {
  const present = new Set(existing);
  const removed: string[] = [];
  const ops: DirOps = {
    exists: (p) => present.has(p),
    remove: (p) => {
      if (busy.includes(p)) throw Object.assign(new Error('ENOTEMPTY'), { code: 'ENOTEMPTY' });
      present.delete(p);
      removed.push(p);
    },
  };
  return { ops, present, removed };
}

describe('HostDirs', () => {
  it('removes only what was missing at start and exists now, deepest first', () => {
    const fs = fakeFs(['/run/containerd']);
    const dirs = HostDirs.note(
      ['/run/containerd/s', '/run/containerd', '/var/lib/cni', '/var/lib/cni/results'],
      fs.ops,
    );
    fs.present.add('/run/containerd/s');
    fs.present.add('/var/lib/cni');
    fs.present.add('/var/lib/cni/results');
    expect(dirs.removeCreated()).toEqual([]);
    expect(fs.removed).toEqual(['/var/lib/cni/results', '/run/containerd/s', '/var/lib/cni']);
    expect(fs.present.has('/run/containerd')).toBe(true);
  });

  it('keeps and reports directories still in use, and ignores ones that never appeared', () => {
    const fs = fakeFs([], ['/sys/fs/cgroup/memory/k8s.io']);
    const dirs = HostDirs.note(['/sys/fs/cgroup/memory/k8s.io', '/run/runc'], fs.ops);
    fs.present.add('/sys/fs/cgroup/memory/k8s.io');
    expect(dirs.removeCreated()).toEqual(['/sys/fs/cgroup/memory/k8s.io']);
    expect(fs.present.has('/sys/fs/cgroup/memory/k8s.io')).toBe(true);
    expect(fs.removed).toEqual([]);
  });
});
