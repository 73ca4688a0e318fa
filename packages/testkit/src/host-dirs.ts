/**
 * Runtimes create a few shared directories on the machine even when their own state is private:
 * libcni's cache (/var/lib/cni/results), containerd shims' socket dir (/run/containerd/s),
 * runc's default root (/run/runc), the image copy cache (/var/lib/containers/cache) and cgroup
 * parents (k8s.io, libpod_parent/conmon) in every hierarchy. A fixture notes which of
 * them are missing when it starts and removes those it caused, once they are empty again.
 *
 * API:
 * - `HostDirs.note(paths, fs?) -> HostDirs`: remembers which of `paths` do not exist yet.
 * - `hostDirs.removeCreated() -> string[]`: removes those that now exist, deepest first: rmdir
 *   (never recursive) for a directory, unlink for a file (list a file only when it lives in a
 *   directory also listed, so it is known to be ours); returns the ones that could not go.
 * - `cgroupDirs(relative) -> string[]`: `relative` under every mounted cgroup hierarchy.
 */
import { existsSync, lstatSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface DirOps {
  exists(path: string): boolean;
  /** rmdir for a directory (fails unless empty), unlink for anything else. */
  remove(path: string): void;
}

const nodeDirOps: DirOps = {
  exists: existsSync,
  remove: (path) => (lstatSync(path).isDirectory() ? rmdirSync(path) : unlinkSync(path)),
};

export class HostDirs {
  private constructor(
    private readonly missing: readonly string[],
    private readonly fs: DirOps,
  ) {}

  static note(paths: readonly string[], fs: DirOps = nodeDirOps): HostDirs {
    return new HostDirs(
      paths.filter((p) => !fs.exists(p)),
      fs,
    );
  }

  removeCreated(): string[] {
    const kept: string[] = [];
    const deepestFirst = [...this.missing].sort((a, b) => b.split('/').length - a.split('/').length);
    for (const path of deepestFirst) {
      if (!this.fs.exists(path)) continue;
      try {
        this.fs.remove(path);
      } catch {
        kept.push(path);
      }
    }
    return kept;
  }
}

export const CGROUP_ROOT = '/sys/fs/cgroup';

export function cgroupDirs(relative: string, root = CGROUP_ROOT): string[] {
  let hierarchies: string[];
  try {
    hierarchies = readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(root, d.name));
  } catch {
    return [];
  }
  // A cgroup v2-only machine mounts the tree at the root itself.
  if (!hierarchies.length || existsSync(join(root, 'cgroup.controllers'))) hierarchies = [root];
  return hierarchies.map((h) => join(h, relative));
}
