import type { Options } from 'tsup';

/** Shared build settings: ESM only, Node 20 target, declarations, no bundling of dependencies. */
export function packageBuild(entry: Record<string, string>, extra: Options = {}): Options {
  return {
    entry,
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: true,
    treeshake: true,
    ...extra,
  };
}
